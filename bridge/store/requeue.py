"""An operator's changes to the outbox: a replayed event's rows, dead ones retried, unknown ones settled.

Effectively once rules every statement here: a row that is delivered, or may
be in LeadSquared, or is in a worker's hands, is never changed. Each change is
one UPDATE conditional on the row's status, so a worker's claim racing with it
either wins (the row is claimed and left alone) or loses (the claim finds the
changed row): on PostgreSQL the UPDATE waits for a claim's row lock and checks
the status again; on SQLite writers take turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from bridge.leadsquared.activity import Activity
from bridge.store.dialect import upsert
from bridge.store.inbox import StoredEvent
from bridge.store.outbox import queued_row
from bridge.store.tables import ActivityStatus, EventStatus, activities, events

# What a replay may overwrite with the new mapping: rows never posted, or given up on.
# Delivered, unknown, sending, reconciling, claimed and looking_up rows are never touched.
REPLACEABLE = (
    ActivityStatus.DEAD,
    ActivityStatus.UNRESOLVED,
    ActivityStatus.PENDING,
    ActivityStatus.RESOLVING,
)
# The columns a replay gives a replaceable row; its id, key, event and created_at stay.
_REPLACED = (
    "request",
    "account",
    "opportunity_id",
    "status",
    "attempts",
    "next_attempt_at",
    "lookup",
    "lookup_key",
)
SETTLED_BY_OPERATOR = "settled by an operator: it is in LeadSquared"
REPOSTED_BY_OPERATOR = "posted again by an operator after an unknown outcome"


@dataclass(frozen=True)
class Requeued:
    """What queueing a replayed event's activities did to each of them."""

    added: int = 0  # keys new to the outbox
    replaced: int = 0  # dead, unresolved or not yet posted: they take the new request, due now
    kept: int = 0  # delivered, or possibly in LeadSquared, or in a worker's hands: untouched

    @property
    def changed(self) -> int:
        """Return how many rows were queued, new or again."""
        return self.added + self.replaced


@dataclass(frozen=True)
class EventState:
    """A stored event and its status."""

    event: StoredEvent
    status: EventStatus


def load_event(engine: sa.Engine, event_id: int) -> EventState | None:
    """Return the stored event with this id and its status, or None."""
    query = _EVENT_COLUMNS.where(events.c.id == event_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _state(row)


def events_after(
    connection: sa.Connection, conditions: Sequence[sa.ColumnElement[bool]], cursor: int, limit: int
) -> list[EventState]:
    """Return up to limit transformed, ignored or failed events matching conditions, ids above cursor.

    Never a received one, whatever the conditions: the worker's transform
    inserts its activities without looking for keys already there.
    """
    query = (
        _EVENT_COLUMNS.where(*conditions, events.c.id > cursor, events.c.status != EventStatus.RECEIVED)
        .order_by(events.c.id)
        .limit(limit)
    )
    return [_state(row) for row in connection.execute(query)]


def requeue(connection: sa.Connection, event_id: int, mapped: Sequence[Activity], now: float) -> Requeued:
    """Queue a replayed event's activities: new keys added, replaceable ones refreshed, the rest kept."""
    added = replaced = kept = 0
    for activity in mapped:
        row = queued_row(event_id, activity, now)
        # RETURNING tells an insert from a key already there: a driver's rowcount may not (-1).
        insert = (
            upsert(connection, activities)
            .values(row)
            .on_conflict_do_nothing(index_elements=["activity_key"])
            .returning(activities.c.id)
        )
        if connection.execute(insert).first() is not None:
            added += 1
        elif connection.execute(_replace(row)).rowcount:
            replaced += 1
        else:
            kept += 1
    return Requeued(added, replaced, kept)


def set_event_outcome(
    connection: sa.Connection, event_id: int, status: EventStatus, reason: str | None
) -> bool:
    """Record a replayed event's new status and reason; False where it is still to be transformed."""
    statement = (
        sa.update(events)
        .where(events.c.id == event_id, events.c.status != EventStatus.RECEIVED)
        .values(status=status, reason=reason)
    )
    return bool(connection.execute(statement).rowcount)


def retry_dead(connection: sa.Connection, where: sa.ColumnElement[bool], now: float) -> int:
    """Make the dead activities matching where due now with no attempts; return how many."""
    waits_for_lookup = sa.and_(activities.c.opportunity_id.is_(None), activities.c.lookup.is_not(None))
    # An erased event's activities hold no request to post any more (bridge/store/retention.py).
    erased = (
        sa.select(events.c.id)
        .where(events.c.id == activities.c.event_id, events.c.payload_erased_at.is_not(None))
        .exists()
    )
    statement = (
        sa.update(activities)
        .where(where, activities.c.status == ActivityStatus.DEAD, ~erased)
        .values(
            status=sa.case(
                (waits_for_lookup, ActivityStatus.RESOLVING.value), else_=ActivityStatus.PENDING.value
            ),
            attempts=0,
            next_attempt_at=now,
            claimed_by=None,
            claim_expires_at=None,
        )
    )
    return connection.execute(statement).rowcount


def settle_unknown(
    connection: sa.Connection, where: sa.ColumnElement[bool], how: Literal["delivered", "repost"], now: float
) -> int:
    """Settle the unknown activities matching where: delivered, or due to be posted again now."""
    values: dict[str, Any]
    if how == "delivered":
        values = {"status": ActivityStatus.DELIVERED, "delivered_at": now, "last_error": SETTLED_BY_OPERATOR}
    else:
        values = {
            "status": ActivityStatus.PENDING,
            "next_attempt_at": now,
            "attempts": 0,
            "last_error": REPOSTED_BY_OPERATOR,
        }
    statement = (
        sa.update(activities)
        .where(where, activities.c.status == ActivityStatus.UNKNOWN)
        .values(claimed_by=None, claim_expires_at=None, **values)
    )
    return connection.execute(statement).rowcount


def activity_status(engine: sa.Engine, activity_id: int) -> ActivityStatus | None:
    """Return the activity's status, or None where there is no such activity."""
    query = sa.select(activities.c.status).where(activities.c.id == activity_id)
    with engine.connect() as connection:
        status = connection.execute(query).scalar_one_or_none()
    return None if status is None else ActivityStatus(status)


def _replace(row: dict[str, Any]) -> sa.Update:
    """Return the UPDATE that gives a replaceable row the replayed request, due now, attempts reset."""
    values = {name: row[name] for name in _REPLACED}
    return (
        sa.update(activities)
        .where(activities.c.activity_key == row["activity_key"], activities.c.status.in_(REPLACEABLE))
        .values(**values, claimed_by=None, claim_expires_at=None, last_error=None)
    )


_EVENT_COLUMNS: sa.Select[Any] = sa.select(
    events.c.id,
    events.c.source,
    events.c.idempotency_key,
    events.c.event_type,
    events.c.body,
    events.c.status,
)


def _state(row: sa.Row[Any]) -> EventState:
    event = StoredEvent(row.id, row.source, row.idempotency_key, row.event_type, row.body)
    return EventState(event, EventStatus(row.status))
