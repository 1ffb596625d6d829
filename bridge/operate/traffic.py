"""Each source's deliveries over the last day, by hour: accepted, repeated and refused.

Accepted deliveries are the events, repeats are event_duplicates and refusals
the per-minute counts of intake_refusals. A busy day holds a million events,
so none of them is read: each hour's first event is found on the received_at
index, and each source's events between two such ids are counted on the
(source, id) index alone. Ids grow as events arrive; an event stored a moment
after one received later than it may count in the neighbouring hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bridge.store.dialect import is_sqlite
from bridge.store.tables import event_duplicates, events, intake_refusals

HOUR = 3600.0
HOURS_CHARTED = 24


@dataclass(frozen=True)
class HourCounts:
    """One hour of a source's deliveries."""

    start: float
    accepted: int
    duplicate: int
    refused: int


@dataclass(frozen=True)
class SourceOverview:
    """One configured source's deliveries over the last hour and day."""

    name: str
    accepted_hour: int
    accepted_day: int
    duplicate_hour: int
    duplicate_day: int
    refused_hour: int
    refused_day: int
    hourly: list[HourCounts]  # the last 24 hours, ending now, oldest first


def source_overviews(connection: sa.Connection, names: list[str], now: float) -> list[SourceOverview]:
    """Return each named source's counts over the 24 hours before now."""
    start = now - HOURS_CHARTED * HOUR
    accepted = _accepted(connection, names, start)
    repeated = _per_hour(
        connection, event_duplicates.c.source, event_duplicates.c.received_at, None, names, start
    )
    refused = _per_hour(
        connection, intake_refusals.c.source, intake_refusals.c.minute, intake_refusals.c.count, names, start
    )
    return [_source(name, start, accepted[name], repeated[name], refused[name]) for name in names]


def _accepted(connection: sa.Connection, names: list[str], start: float) -> dict[str, list[int]]:
    """Count each source's events per hour since start, reading two indexes and no event."""
    firsts = _first_ids(connection, start)
    bounds = list(zip(firsts, [*firsts[1:], None], strict=True))
    return {name: _counted_between(connection, name, bounds) for name in names}


def _first_ids(connection: sa.Connection, start: float) -> list[int | None]:
    """Return the id of the first event received in each hour since start; None: none since."""
    firsts = [
        sa.select(events.c.id)
        .where(events.c.received_at >= start + hour * HOUR)
        .order_by(events.c.received_at)
        .limit(1)
        .scalar_subquery()
        for hour in range(HOURS_CHARTED)
    ]
    return list(connection.execute(sa.select(*firsts)).one())


def _counted_between(
    connection: sa.Connection, source: str, bounds: list[tuple[int | None, int | None]]
) -> list[int]:
    """Count the source's events from each hour's first id to the next hour's, one index range each."""
    counts: list[sa.ColumnElement[int]] = []
    for first, next_first in bounds:
        if first is None:
            counts.append(sa.literal(0))
            continue
        within = [events.c.source == source, events.c.id >= first]
        if next_first is not None:
            within.append(events.c.id < next_first)
        counts.append(sa.select(sa.func.count()).select_from(events).where(*within).scalar_subquery())
    return [int(number) for number in connection.execute(sa.select(*counts)).one()]


def _per_hour(
    connection: sa.Connection,
    source: sa.Column[str],
    at: sa.Column[float],
    weight: sa.Column[int] | None,
    names: list[str],
    start: float,
) -> dict[str, list[int]]:
    """Count rows (or add up a weight) per source and hour since start, on a (source, time) index."""
    hour = _hour_of(connection, at, start)
    total = sa.func.count() if weight is None else sa.func.sum(weight)
    query = sa.select(source, hour, total).where(source.in_(names), at >= start).group_by(source, hour)
    counts = {name: [0] * HOURS_CHARTED for name in names}
    for name, hour_since_start, number in connection.execute(query):
        # A time later than now (a web process's clock ahead of the caller's) counts in the last hour.
        counts[name][min(int(hour_since_start), HOURS_CHARTED - 1)] += int(number or 0)
    return counts


def _hour_of(bind: sa.Connection, at: sa.ColumnElement[float], start: float) -> sa.ColumnElement[int]:
    """Return which hour since start a time falls in (times at or after start only)."""
    hours = (at - start) / HOUR
    # SQLite casts toward zero, which is the floor of a time after start; PostgreSQL rounds.
    return sa.cast(hours if is_sqlite(bind) else sa.func.floor(hours), sa.Integer)


def _source(
    name: str, start: float, accepted: list[int], repeated: list[int], refused: list[int]
) -> SourceOverview:
    hourly = [
        HourCounts(start + hour * HOUR, accepted[hour], repeated[hour], refused[hour])
        for hour in range(HOURS_CHARTED)
    ]
    return SourceOverview(
        name=name,
        accepted_hour=accepted[-1],
        accepted_day=sum(accepted),
        duplicate_hour=repeated[-1],
        duplicate_day=sum(repeated),
        refused_hour=refused[-1],
        refused_day=sum(refused),
        hourly=hourly,
    )
