"""The inbox: accepted webhook events, unique per (source, idempotency key)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bridge.store.tables import EventStatus, events


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


def insert_event(
    engine: sa.Engine,
    source: str,
    idempotency_key: str,
    event_type: str | None,
    body: bytes,
    received_at: float,
) -> Accepted:
    """Store a delivery once; a known (source, key) returns the first one's id."""
    params = {
        "source": source,
        "idempotency_key": idempotency_key,
        "event_type": event_type,
        "body": body,
        "received_at": received_at,
        "status": EventStatus.RECEIVED.value,
    }
    with engine.begin() as connection:
        new_id = connection.execute(_insert_once(engine.dialect.name), params).scalar()
        if new_id is not None:
            return Accepted(int(new_id), is_new=True)
        existing = connection.execute(_FIND_EVENT, params).scalar_one()
        return Accepted(int(existing), is_new=False)


@functools.cache
def _insert_once(dialect_name: str) -> sa.Insert:
    """Return the insert that skips a known key, built once: it runs for every webhook."""
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    insert: sa.Insert = (
        dialect.insert(events)
        .values({name: sa.bindparam(name) for name in _INSERTED})
        .on_conflict_do_nothing(index_elements=["source", "idempotency_key"])
        .returning(events.c.id)
    )
    return insert


_INSERTED = ("source", "idempotency_key", "event_type", "body", "received_at", "status")
_FIND_EVENT = sa.select(events.c.id).where(
    events.c.source == sa.bindparam("source"),
    events.c.idempotency_key == sa.bindparam("idempotency_key"),
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


def mark_event(
    connection: sa.Connection, event_id: int, status: EventStatus, reason: str | None = None
) -> None:
    """Record where an event ended up after its transform."""
    connection.execute(sa.update(events).where(events.c.id == event_id).values(status=status, reason=reason))
