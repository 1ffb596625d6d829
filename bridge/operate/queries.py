"""The operator's read side: events and activities listed, counted and shown in full, masked.

Lists are walked newest first by keyset (id < after, never OFFSET), so a page
costs the same at the millionth row as at the first, and rows that arrive
between two pages neither repeat nor push others off. Everything a person
reads here is masked (bridge/observe/masking.py). The overview
(overview.py, traffic.py) and the needs-attention groups (attention.py) are
imported from here too, so every reader finds the read side in one module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from bridge.observe.masking import mask_payload, mask_text
from bridge.operate.attention import AttentionGroup, needs_attention
from bridge.operate.filters import ActivityFilter, EventFilter, activity_conditions, event_conditions
from bridge.operate.overview import AccountOverview, Overview, WorkerOverview, accounts_overview, overview
from bridge.operate.timeline import CallSummary, activity_calls
from bridge.operate.traffic import HourCounts, SourceOverview
from bridge.store.tables import activities, event_duplicates, events

T = TypeVar("T")
MAX_PAGE = 500  # rows a page may ask for
DUPLICATES_SHOWN = 100  # the latest repeats of one event shown; EventSummary.duplicates counts them all


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first."""

    items: list[T]
    next_after: int | None  # pass as `after` for the next (older) page; None: this was the last


@dataclass(frozen=True)
class EventSummary:
    """One accepted webhook, as a list shows it."""

    id: int
    source: str
    event_type: str | None
    idempotency_key: str
    status: str  # EventStatus
    reason: str | None  # why it was ignored or failed, masked
    received_at: float
    activities: int  # activities it became
    duplicates: int  # repeats of it the provider sent


@dataclass(frozen=True)
class ActivitySummary:
    """One LeadSquared activity, as a list shows it."""

    id: int
    event_id: int
    activity_key: str
    account: str
    opportunity_id: str | None
    status: str  # ActivityStatus
    attempts: int
    created_at: float
    next_attempt_at: float
    delivered_at: float | None
    prospect_activity_id: str | None
    last_error: str | None  # masked


@dataclass(frozen=True)
class ActivityDetail:
    """An activity with the row it posts and its attempt timeline."""

    summary: ActivitySummary
    request: dict[str, Any]  # the LeadSquared request row, masked
    calls: list[CallSummary]  # oldest first


@dataclass(frozen=True)
class EventDetail:
    """An event in full: how it came, what it said, its repeats and what became of it."""

    summary: EventSummary
    headers: dict[str, str]  # as stored (credentials already masked), every value masked again
    payload: str  # pretty-printed JSON, or the text of a form body, masked; "" once erased
    duplicates: list[float]  # when each of the latest repeats came, oldest first
    activities: list[ActivityDetail]


_EVENT_COLUMNS = (
    events.c.id,
    events.c.source,
    events.c.event_type,
    events.c.idempotency_key,
    events.c.status,
    events.c.reason,
    events.c.received_at,
)


def list_events(
    engine: sa.Engine, wanted: EventFilter, sources: Sequence[str], after: int | None = None, limit: int = 50
) -> Page[EventSummary]:
    """Return a page of the events the filter matches, newest first, older than `after`."""
    query = sa.select(*_EVENT_COLUMNS).where(*event_conditions(wanted, sources))
    with engine.connect() as connection:
        rows, next_after = _page(connection, query, events.c.id, after, limit)
        counts = _event_counts(connection, [row.id for row in rows])
    return Page([_event_summary(row, *counts.get(row.id, (0, 0))) for row in rows], next_after)


def count_events(engine: sa.Engine, wanted: EventFilter, sources: Sequence[str]) -> int:
    """Count the events the filter matches."""
    query = sa.select(sa.func.count()).select_from(events).where(*event_conditions(wanted, sources))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def list_activities(
    engine: sa.Engine, wanted: ActivityFilter, after: int | None = None, limit: int = 50
) -> Page[ActivitySummary]:
    """Return a page of the activities the filter matches, newest first, older than `after`."""
    query = sa.select(*_ACTIVITY_COLUMNS).where(*activity_conditions(wanted))
    with engine.connect() as connection:
        rows, next_after = _page(connection, query, activities.c.id, after, limit)
    return Page([_activity_summary(row) for row in rows], next_after)


def count_activities(engine: sa.Engine, wanted: ActivityFilter) -> int:
    """Count the activities the filter matches."""
    query = sa.select(sa.func.count()).select_from(activities).where(*activity_conditions(wanted))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def event_detail(engine: sa.Engine, event_id: int) -> EventDetail | None:
    """Return the event with its headers, payload, repeats and activities; None if there is none."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(
                *_EVENT_COLUMNS,
                events.c.body,
                events.c.headers,
                events.c.payload_erased_at,
                events.c.payload_erasure,
            ).where(events.c.id == event_id)
        ).first()
        if row is None:
            return None
        repeats = _repeats(connection, event_id)
        activity_rows = connection.execute(
            sa.select(*_ACTIVITY_COLUMNS, activities.c.request)
            .where(activities.c.event_id == event_id)
            .order_by(activities.c.id)
        ).all()
        details = [_activity_detail(connection, activity) for activity in activity_rows]
        duplicates = _duplicate_count(connection, event_id)
    return EventDetail(
        summary=_event_summary(row, len(details), duplicates),
        headers={str(name): mask_text(str(value)) for name, value in (row.headers or {}).items()},
        payload=shown_payload(row.body) if row.payload_erased_at is None else erased_note(row),
        duplicates=repeats,
        activities=details,
    )


def erased_note(row: sa.Row[*tuple[Any, ...]]) -> str:
    """Say in place of an erased payload when it was erased, and why (retention, or a person's request)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.payload_erased_at))
    why = "its retention ran out" if row.payload_erasure == "retention" else "a person asked for erasure"
    return f"(erased {when}: {why})"


def shown_payload(body: bytes) -> str:
    """Return a body as a person reads it, masked: JSON pretty-printed, anything else as text; never raise."""
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(mask_payload(json.loads(text)), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        # A form post (PayU's), or a body too deeply nested to walk: shown as the text it is.
        return mask_text(text)


_ACTIVITY_COLUMNS = (
    activities.c.id,
    activities.c.event_id,
    activities.c.activity_key,
    activities.c.account,
    activities.c.opportunity_id,
    activities.c.status,
    activities.c.attempts,
    activities.c.created_at,
    activities.c.next_attempt_at,
    activities.c.delivered_at,
    activities.c.prospect_activity_id,
    activities.c.last_error,
)


def _page(
    connection: sa.Connection, query: sa.Select[Any], id_column: sa.Column[int], after: int | None, limit: int
) -> tuple[list[sa.Row[*tuple[Any, ...]]], int | None]:
    """Return up to limit rows older than `after`, newest first, and the `after` of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    if after is not None:
        query = query.where(id_column < after)
    # One row more than the page says whether another page follows.
    rows = connection.execute(query.order_by(id_column.desc()).limit(limit + 1)).all()
    return list(rows[:limit]), (rows[limit - 1].id if len(rows) > limit else None)


def _event_counts(connection: sa.Connection, event_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return each event's activities and repeats, counted for these events only."""
    if not event_ids:
        return {}
    counts: dict[int, list[int]] = {event_id: [0, 0] for event_id in event_ids}
    for position, table in enumerate((activities, event_duplicates)):
        query = (
            sa.select(table.c.event_id, sa.func.count())
            .where(table.c.event_id.in_(event_ids))
            .group_by(table.c.event_id)
        )
        for event_id, number in connection.execute(query):
            counts[event_id][position] = number
    return {event_id: (found[0], found[1]) for event_id, found in counts.items()}


def _repeats(connection: sa.Connection, event_id: int) -> list[float]:
    query = (
        sa.select(event_duplicates.c.received_at)
        .where(event_duplicates.c.event_id == event_id)
        .order_by(event_duplicates.c.received_at.desc())
        .limit(DUPLICATES_SHOWN)
    )
    return sorted(connection.execute(query).scalars())


def _duplicate_count(connection: sa.Connection, event_id: int) -> int:
    query = sa.select(sa.func.count()).where(event_duplicates.c.event_id == event_id)
    return int(connection.execute(query).scalar_one())


def _activity_detail(connection: sa.Connection, row: sa.Row[*tuple[Any, ...]]) -> ActivityDetail:
    return ActivityDetail(
        summary=_activity_summary(row),
        request=mask_payload(row.request),
        calls=activity_calls(connection, row.id, row.account),
    )


def _event_summary(row: sa.Row[*tuple[Any, ...]], activity_count: int, duplicates: int) -> EventSummary:
    return EventSummary(
        id=row.id,
        source=row.source,
        event_type=row.event_type,
        idempotency_key=row.idempotency_key,
        status=row.status,
        reason=None if row.reason is None else mask_text(row.reason),
        received_at=row.received_at,
        activities=activity_count,
        duplicates=duplicates,
    )


def _activity_summary(row: sa.Row[*tuple[Any, ...]]) -> ActivitySummary:
    return ActivitySummary(
        id=row.id,
        event_id=row.event_id,
        activity_key=row.activity_key,
        account=row.account,
        opportunity_id=row.opportunity_id,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        prospect_activity_id=row.prospect_activity_id,
        last_error=None if row.last_error is None else mask_text(row.last_error),
    )


__all__ = [
    "AccountOverview",
    "ActivityDetail",
    "ActivitySummary",
    "AttentionGroup",
    "CallSummary",
    "EventDetail",
    "EventSummary",
    "HourCounts",
    "Overview",
    "Page",
    "SourceOverview",
    "WorkerOverview",
    "accounts_overview",
    "count_activities",
    "count_events",
    "event_detail",
    "list_activities",
    "list_events",
    "needs_attention",
    "overview",
    "shown_payload",
]
