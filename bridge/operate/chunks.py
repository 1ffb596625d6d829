"""One chunk of a bulk job: the next rows after its cursor, read first, then changed in the job's transaction.

Reading (and, for a replay, transforming) happens before the write
transaction, so the store's write lock is held only for the changes. What was
read may be stale by then: every change is conditional on the row's status
(bridge/store/requeue.py), so a row that moved on meanwhile is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa

from bridge.operate.actions import ResolveHow, queue_remapped, remap
from bridge.operate.filters import ActivityFilter, EventFilter, activity_conditions, event_conditions
from bridge.services import Services
from bridge.store import requeue
from bridge.store.tables import EventStatus, activities, events


@dataclass(frozen=True)
class Chunk:
    """The next rows of a job: how many, the last id, and the change to make to them."""

    rows: int
    cursor: int | None  # the last id read; None when none was
    # Makes the change in the caller's transaction; returns how many rows it changed.
    apply: Callable[[sa.Connection], int]


def next_chunk(
    services: Services,
    action: str,
    wanted: EventFilter | ActivityFilter,
    cursor: int,
    size: int,
    now: float,
) -> Chunk:
    """Read the next rows of a job after cursor, up to size, and say how to change them."""
    if isinstance(wanted, EventFilter):
        return _replay_chunk(services, wanted, cursor, size, now)
    ids = _activity_ids(services.engine, wanted, cursor, size)
    where = activities.c.id.in_(ids)
    if action == "retry":
        change = partial(requeue.retry_dead, where=where, now=now)
    else:
        how: ResolveHow = "delivered" if action == "resolve_delivered" else "repost"
        change = partial(requeue.settle_unknown, where=where, how=how, now=now)
    return Chunk(len(ids), ids[-1] if ids else None, change if ids else _nothing)


def _replay_chunk(services: Services, wanted: EventFilter, cursor: int, size: int, now: float) -> Chunk:
    """Read and transform the next events; queueing what they yield is the change."""
    conditions = replay_conditions(wanted, list(services.settings.sources))
    with services.engine.connect() as connection:
        states = requeue.events_after(connection, conditions, cursor, size)
    remapped = [remap(services, state.event) for state in states]

    def queue(connection: sa.Connection) -> int:
        return sum(queue_remapped(connection, each, now).requeued.changed for each in remapped)

    return Chunk(len(states), states[-1].event.id if states else None, queue)


def replay_conditions(wanted: EventFilter, sources: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    """Return the conditions on the events a replay takes: the filter's, on events transformed already.

    Never one whose payload was erased: there is nothing left to map.
    """
    return [
        *event_conditions(wanted, sources),
        events.c.status != EventStatus.RECEIVED,
        events.c.payload_erased_at.is_(None),
    ]


def _activity_ids(engine: sa.Engine, wanted: ActivityFilter, cursor: int, size: int) -> list[int]:
    """Return the ids of the next activities the filter matches after cursor, in id order."""
    query = (
        sa.select(activities.c.id)
        .where(*activity_conditions(wanted), activities.c.id > cursor)
        .order_by(activities.c.id)
        .limit(size)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def _nothing(_connection: sa.Connection) -> int:
    return 0
