"""The inbox: accepted webhook events, unique per (source, idempotency key)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from bridge.store.dialect import is_sqlite, upsert
from bridge.store.tables import EventStatus, event_duplicates, events

# Idle workers LISTEN on this channel (bridge/store/wake.py) for new events.
EVENTS_CHANNEL = "bridge_events"
# A web process notifies at most once in this long. PostgreSQL serialises the
# commits of notifying transactions on one lock: with four writers notifying on
# every insert, ingest fell from about 420 to 230 inserts/s on this machine.
# A worker woken by a notification looks again this long after it
# (bridge/store/wake.py), so the events stored meanwhile need no notification.
NOTIFY_COALESCE_SECONDS = 0.01


@dataclass(frozen=True)
class Accepted:
    """The outcome of storing a delivery: its event id, and whether it was new."""

    event_id: int
    is_new: bool


@dataclass(frozen=True)
class StoredEvent:
    """An event as the transform stage reads it."""

    id: int
    source: str
    idempotency_key: str
    event_type: str | None
    body: bytes


class Inbox:
    """Stores deliveries, each once: the one write on the webhook's hot path.

    The statements are SQLAlchemy Core, compiled once for the engine's dialect
    and run on a pooled driver connection: going through a Core Connection for
    every webhook cost more CPU than the rest of the receiver put together.

    With notify (PostgreSQL, [delivery] wake = "notify"), the insert itself
    calls pg_notify on EVENTS_CHANNEL for the row it stored: one statement, so
    no round trip more, sent at the commit, and only for a new event, not for
    a duplicate; at most once per NOTIFY_COALESCE_SECONDS per process. wake =
    "poll" (a pooler that cannot LISTEN) sends nothing.

    A repeat of a known delivery is recorded in event_duplicates, in the same
    transaction, so the console can show when each redelivery came.
    """

    def __init__(
        self, engine: sa.Engine, notify: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.clock = clock
        insert = (
            upsert(engine, events)
            .values({name: sa.bindparam(name) for name in _INSERTED})
            .on_conflict_do_nothing(index_elements=["source", "idempotency_key"])
            .returning(events.c.id)
        )
        self._insert = _Compiled(insert, engine.dialect)
        self._insert_notifying: _Compiled | None = None
        if notify and not is_sqlite(engine):
            inserted = insert.cte("inserted")
            notified: sa.ColumnElement[Any] = sa.literal_column(f"pg_notify('{EVENTS_CHANNEL}', '')")
            notifying = sa.select(inserted.c.id, notified).select_from(inserted)
            self._insert_notifying = _Compiled(notifying, engine.dialect)
        self._notified_at = -NOTIFY_COALESCE_SECONDS  # on self.clock; threads race on it harmlessly
        self._find = _Compiled(_FIND_EVENT, engine.dialect)
        self._repeat = _Compiled(_RECORD_REPEAT, engine.dialect)
        self._begin = "BEGIN IMMEDIATE" if is_sqlite(engine) else None

    def insert(
        self,
        source: str,
        idempotency_key: str,
        event_type: str | None,
        body: bytes,
        received_at: float,
        headers: Mapping[str, str] | None = None,
    ) -> Accepted:
        """Store a delivery once; a known (source, key) returns the first one's id and records the repeat."""
        params = {
            "source": source,
            "idempotency_key": idempotency_key,
            "event_type": event_type,
            "body": body,
            "received_at": received_at,
            "status": EventStatus.RECEIVED.value,
            # The driver cursor applies no SQLAlchemy type: the JSON column gets its text.
            "headers": None if headers is None else json.dumps(dict(headers)),
        }
        try:
            return self._insert_once(params)
        except _Dropped:
            # The server dropped a pooled connection (a restart, a failover), so
            # it has likely dropped the others in the pool too: start a new pool.
            self.engine.dispose()
            return self._insert_once(params)

    def _statement_for(self, now: float) -> _Compiled:
        """Return the notifying insert unless this process notified a moment ago (or never does)."""
        if self._insert_notifying is not None and now - self._notified_at >= NOTIFY_COALESCE_SECONDS:
            return self._insert_notifying
        return self._insert

    def _insert_once(self, params: dict[str, Any]) -> Accepted:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if self._begin:
                cursor.execute(self._begin)
            now = self.clock()
            insert = self._statement_for(now)
            new_id = insert.first(cursor, params)
            existing: Any = None
            if new_id is None:
                existing = self._find.first(cursor, params)
                self._repeat.run(cursor, {**params, "event_id": existing})
            connection.commit() if self._begin is None else cursor.execute("COMMIT")
            if insert is self._insert_notifying and new_id is not None:
                self._notified_at = now
        except self.engine.dialect.loaded_dbapi.Error as error:
            if self.engine.dialect.is_disconnect(error, connection.dbapi_connection, None):
                connection.invalidate()
                raise _Dropped() from error
            connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool
        if new_id is not None:
            return Accepted(int(new_id), is_new=True)
        return Accepted(int(existing), is_new=False)


class _Dropped(Exception):
    """The server had closed the connection the statement ran on."""


class _Compiled:
    """A Core statement compiled once, run on a driver cursor."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.positions = compiled.positiontup if compiled.positional else None

    def first(self, cursor: Any, params: dict[str, Any]) -> Any:
        """Run with these parameters; return the first column of the first row, if any."""
        self.run(cursor, params)
        row = cursor.fetchone()
        return None if row is None else row[0]

    def run(self, cursor: Any, params: dict[str, Any]) -> None:
        """Run with these parameters, reading nothing back."""
        args = tuple(params[name] for name in self.positions) if self.positions else params
        cursor.execute(self.sql, args)


_INSERTED = ("source", "idempotency_key", "event_type", "body", "received_at", "status", "headers")
_FIND_EVENT = sa.select(events.c.id).where(
    events.c.source == sa.bindparam("source"),
    events.c.idempotency_key == sa.bindparam("idempotency_key"),
)
_RECORD_REPEAT = sa.insert(event_duplicates).values(
    event_id=sa.bindparam("event_id"), source=sa.bindparam("source"), received_at=sa.bindparam("received_at")
)


def received_events(connection: sa.Connection, limit: int) -> list[StoredEvent]:
    """Return up to limit events waiting for their transform, oldest first, locked."""
    query = (
        sa.select(events.c.id, events.c.source, events.c.idempotency_key, events.c.event_type, events.c.body)
        .where(events.c.status == EventStatus.RECEIVED)
        .order_by(events.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [StoredEvent(*row) for row in connection.execute(query)]


def events_awaiting_transform(engine: sa.Engine) -> bool:
    """Tell whether any event is still received: not yet transformed, or being transformed by a worker."""
    with engine.connect() as connection:
        query = sa.select(events.c.id).where(events.c.status == EventStatus.RECEIVED).limit(1)
        return connection.execute(query).first() is not None


def mark_event(
    connection: sa.Connection, event_id: int, status: EventStatus, reason: str | None = None
) -> None:
    """Record where an event ended up after its transform."""
    connection.execute(sa.update(events).where(events.c.id == event_id).values(status=status, reason=reason))
