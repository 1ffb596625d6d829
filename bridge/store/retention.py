"""Retention's statements: find finished events whose payload or record is due, erase or delete a batch.

An event is finished when it is past its transform (not `received`) and every
activity it has is in a final status (delivered, dead, unresolved): no worker
will read its body or post its requests again. Nothing here touches an event
in flight. Each function handles one small batch in the caller's transaction,
which the caller keeps short: on SQLite every transaction holds the write
lock, so a webhook's insert waits for it. Due rows are found through indexes
that hold only what may become due (ix_events_payload_due: events still
holding a payload), oldest first, so a batch never walks erased history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.store.dialect import is_sqlite
from bridge.store.identifiers import forget_digests
from bridge.store.tables import (
    FINAL_ACTIVITY_STATUSES,
    EventStatus,
    PayloadErasure,
    activities,
    event_duplicates,
    events,
    lsq_call_activities,
    lsq_calls,
)

# What an erased activity's request becomes: the column is NOT NULL, and nothing will post it again.
ERASED_REQUEST: dict[str, Any] = {}


@dataclass(frozen=True)
class Cutoff:
    """Events of one source received before `before` are due."""

    source: str
    before: float

    def condition(self) -> sa.ColumnElement[bool]:
        """Return the WHERE clause of the events this cutoff makes due by age and source."""
        return sa.and_(events.c.source == self.source, events.c.received_at < self.before)


def stored_sources(connection: sa.Connection) -> list[str]:
    """Return every source the events table holds, configured or not, one index seek per source."""
    found: list[str] = []
    while True:
        query = sa.select(sa.func.min(events.c.source))
        if found:
            query = query.where(events.c.source > found[-1])
        source = connection.execute(query).scalar_one_or_none()
        if source is None:
            return found
        found.append(source)


def newest_id_before(connection: sa.Connection, before: float) -> int | None:
    """Return the id of the newest event received before a time: one seek down ix_events_received_at.

    Walking one source's events by id up to it finds its old ones without a
    sort and stops there; an event stored a moment out of order is found by a later batch.
    """
    query = (
        sa.select(events.c.id)
        .where(events.c.received_at < before)
        .order_by(events.c.received_at.desc())
        .limit(1)
    )
    found: int | None = connection.execute(query).scalar_one_or_none()
    return found


def finished() -> sa.ColumnElement[bool]:
    """Return the condition of an event no worker will read or post from again."""
    in_flight = (
        sa.select(activities.c.id)
        .where(activities.c.event_id == events.c.id, activities.c.status.not_in(FINAL_ACTIVITY_STATUSES))
        .exists()
    )
    return sa.and_(events.c.status != EventStatus.RECEIVED, ~in_flight)


def _locked(connection: sa.Connection, query: sa.Select[Any]) -> sa.Select[Any]:
    """Lock the rows a batch takes on PostgreSQL, skipping those another worker's purge holds."""
    return query if is_sqlite(connection) else query.with_for_update(of=events, skip_locked=True)


def payloads_due(connection: sa.Connection, cutoffs: Sequence[Cutoff], limit: int) -> list[int]:
    """Return up to limit ids of finished events still holding a payload past their source's days."""
    found: list[int] = []
    for cutoff in cutoffs:
        query = (
            sa.select(events.c.id)
            .where(cutoff.condition(), events.c.payload_erased_at.is_(None), finished())
            .order_by(events.c.received_at)
            .limit(limit - len(found))
        )
        found += connection.execute(_locked(connection, query)).scalars()
        if len(found) >= limit:
            break
    return found


def erase_payloads(
    connection: sa.Connection, event_ids: Collection[int], why: PayloadErasure, now: float
) -> int:
    """Erase these events' bodies and headers, and their final activities' requests; return events erased."""
    if not event_ids:
        return 0
    ids = sorted(event_ids)
    erased = connection.execute(
        sa.update(events)
        .where(events.c.id.in_(ids))
        .values(body=b"", headers=sa.null(), payload_erased_at=now, payload_erasure=why.value)
    ).rowcount
    erase_requests(connection, ids)
    forget_digests(connection, ids)
    return erased


def erase_requests(connection: sa.Connection, event_ids: Collection[int]) -> int:
    """Erase the requests (and look-up values) of these events' activities that are final; return how many."""
    statement = (
        sa.update(activities)
        .where(activities.c.event_id.in_(sorted(event_ids)), activities.c.status.in_(FINAL_ACTIVITY_STATUSES))
        .values(request=ERASED_REQUEST, lookup=sa.null(), lookup_key=None)
    )
    return connection.execute(statement).rowcount


def pending_erasures_finished(connection: sa.Connection, limit: int) -> list[int]:
    """Return up to limit events erased on request whose activities have all finished since."""
    query = (
        sa.select(events.c.id)
        .where(events.c.payload_erasure == PayloadErasure.ERASURE_PENDING.value, finished())
        .order_by(events.c.id)
        .limit(limit)
    )
    return list(connection.execute(_locked(connection, query)).scalars())


def complete_erasures(connection: sa.Connection, event_ids: Collection[int]) -> int:
    """Erase the requests of pending erasures' finished activities and mark the erasures complete."""
    if not event_ids:
        return 0
    erase_requests(connection, event_ids)
    statement = (
        sa.update(events)
        .where(events.c.id.in_(sorted(event_ids)))
        .values(payload_erasure=PayloadErasure.ERASURE.value)
    )
    return connection.execute(statement).rowcount


def events_due(connection: sa.Connection, cutoffs: Sequence[Cutoff], limit: int) -> list[int]:
    """Return up to limit ids of finished events older than their source's retain_events_days."""
    found: list[int] = []
    for cutoff in cutoffs:
        bound = newest_id_before(connection, cutoff.before)
        if bound is None:
            continue
        query = (
            sa.select(events.c.id)
            .where(cutoff.condition(), events.c.id <= bound, finished())
            .order_by(events.c.id)
            .limit(limit - len(found))
        )
        found += connection.execute(_locked(connection, query)).scalars()
        if len(found) >= limit:
            break
    return found


def delete_events(connection: sa.Connection, event_ids: Collection[int]) -> tuple[int, int]:
    """Delete these events with their activities, their rows in calls, repeats and digests.

    Return (events, activities) deleted. The calls themselves go by age
    (delete_old_calls): one call carries activities of many events.
    """
    if not event_ids:
        return 0, 0
    ids = sorted(event_ids)
    activity_ids = sa.select(activities.c.id).where(activities.c.event_id.in_(ids))
    connection.execute(
        sa.delete(lsq_call_activities).where(lsq_call_activities.c.activity_id.in_(activity_ids))
    )
    deleted_activities = connection.execute(
        sa.delete(activities).where(activities.c.event_id.in_(ids))
    ).rowcount
    connection.execute(sa.delete(event_duplicates).where(event_duplicates.c.event_id.in_(ids)))
    forget_digests(connection, ids)
    deleted = connection.execute(sa.delete(events).where(events.c.id.in_(ids))).rowcount
    return deleted, deleted_activities


def delete_old_calls(connection: sa.Connection, before: float, limit: int) -> int:
    """Delete up to limit LeadSquared calls made before `before` that no kept activity rode in."""
    riders = sa.select(lsq_call_activities.c.call_id).where(lsq_call_activities.c.call_id == lsq_calls.c.id)
    query = (
        sa.select(lsq_calls.c.id)
        .where(lsq_calls.c.started_at < before, ~riders.exists())
        .order_by(lsq_calls.c.started_at)
        .limit(limit)
    )
    ids = list(connection.execute(query).scalars())
    if not ids:
        return 0
    return connection.execute(sa.delete(lsq_calls).where(lsq_calls.c.id.in_(ids))).rowcount


def count_payloads_due(connection: sa.Connection, cutoffs: Sequence[Cutoff]) -> Counter[str]:
    """Count, per source, the finished events whose payload is due to be erased now."""
    return _count(connection, cutoffs, events.c.payload_erased_at.is_(None))


def count_events_due(connection: sa.Connection, cutoffs: Sequence[Cutoff]) -> Counter[str]:
    """Count, per source, the finished events due to be deleted now."""
    return _count(connection, cutoffs, sa.true())


def _count(
    connection: sa.Connection, cutoffs: Sequence[Cutoff], extra: sa.ColumnElement[bool]
) -> Counter[str]:
    counted: Counter[str] = Counter()
    for cutoff in cutoffs:
        query = (
            sa.select(events.c.source, sa.func.count())
            .where(cutoff.condition(), extra, finished())
            .group_by(events.c.source)
        )
        for source, number in connection.execute(query):
            counted[source] += number
    return counted
