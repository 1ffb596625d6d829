"""What needs a person: failed and ignored events by reason, stuck activities by last error.

Each group carries the filter that lists exactly its rows (its exact reason,
see filters.py), so the console links to them and a bulk action acts on no
other. The groups are read from partial indexes that hold only the problem rows with
their reasons (ix_events_attention, ix_activities_attention): 16-19 ms with
90,000 problem rows among a million events on either store, against about
200 ms reading each row for its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from bridge.operate.filters import ActivityFilter, EventFilter
from bridge.store.tables import ActivityStatus, EventStatus, activities, events

EVENT_PROBLEMS = (EventStatus.FAILED, EventStatus.IGNORED)
ACTIVITY_PROBLEMS = (ActivityStatus.DEAD, ActivityStatus.UNKNOWN, ActivityStatus.UNRESOLVED)


def _one_of(
    column: sa.Column[str], statuses: tuple[EventStatus | ActivityStatus, ...]
) -> sa.ColumnElement[bool]:
    """Return column IN (the statuses), written into the SQL as literals.

    SQLite uses a partial index only where the query names the values its
    WHERE names (bound parameters do not count): the attention indexes make
    these groups an index-only read.
    """
    return column.in_([sa.literal(status.value, sa.String, literal_execute=True) for status in statuses])


@dataclass(frozen=True)
class AttentionGroup:
    """Events or activities in one problem status for one reason, and the filter that lists exactly them."""

    subject: Literal["event", "activity"]
    status: str
    reason: str  # the reason or last error, masked; "" where none was recorded
    count: int
    latest_at: float  # when the newest of them was received (an event) or created (an activity)
    params: dict[str, str]  # an EventFilter's or ActivityFilter's to_params()


def needs_attention(engine: sa.Engine, limit: int = 50) -> list[AttentionGroup]:
    """Return the problem groups, latest first: failed or ignored events by reason, activities by error."""
    event_groups = (
        sa.select(events.c.status, events.c.reason, sa.func.count(), sa.func.max(events.c.received_at))
        .where(_one_of(events.c.status, EVENT_PROBLEMS))
        .group_by(events.c.status, events.c.reason)
    )
    activity_groups = (
        sa.select(
            activities.c.status,
            activities.c.last_error,
            sa.func.count(),
            sa.func.max(activities.c.created_at),
        )
        .where(_one_of(activities.c.status, ACTIVITY_PROBLEMS))
        .group_by(activities.c.status, activities.c.last_error)
    )
    with engine.connect() as connection:
        groups = [_group("event", *row) for row in connection.execute(_latest_first(event_groups, limit))] + [
            _group("activity", *row) for row in connection.execute(_latest_first(activity_groups, limit))
        ]
    return sorted(groups, key=lambda group: group.latest_at, reverse=True)[:limit]


def _latest_first(groups: sa.Select[Any], limit: int) -> sa.Select[Any]:
    latest = list(groups.selected_columns)[3]
    return groups.order_by(latest.desc()).limit(limit)


def _group(
    subject: Literal["event", "activity"], status: str, reason: str | None, count: int, latest_at: float
) -> AttentionGroup:
    # Stored reasons are masked and cut (tables.OperatorText), so any of them fits an exact filter;
    # with no reason recorded (no filter says so) the status alone lists the group, and a little more.
    wanted: EventFilter | ActivityFilter
    if subject == "event":
        wanted = EventFilter(status=EventStatus(status), reason=reason or None)
    else:
        wanted = ActivityFilter(status=ActivityStatus(status), last_error=reason or None)
    return AttentionGroup(subject, status, reason or "", count, latest_at, wanted.to_params())
