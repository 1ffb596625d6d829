"""The filters an operator narrows events and activities by: parsed from text, turned into SQL.

The console's query string, the API's JSON and the command line's options all
come down to the same names, parsed here, so a filter means the same in all
three and a bulk job stores one as its canonical text (to_params()).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge.store.tables import ActivityStatus, EventStatus, activities, events

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TEXT = 255  # longer than any id, type or reason search needs
# An exact reason or last error, as the store keeps it: needs-attention groups link to their rows by it.
MAX_EXACT = 2000


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the field and what it takes."""


@dataclass(frozen=True)
class EventFilter:
    """Which events: every field set must match."""

    source: str | None = None
    event_type: str | None = None
    status: EventStatus | None = None
    since: float | None = None  # received at or after, seconds since the epoch
    until: float | None = None  # received before
    opportunity_id: str | None = None  # an activity of the event is for this opportunity
    key: str | None = None  # the idempotency key: the provider's event or delivery id
    text: str | None = None  # a piece of the reason it was ignored or failed
    reason: str | None = None  # the whole reason, exactly as stored

    def to_params(self) -> dict[str, str]:
        """Return the filter as text values, the form every entry point parses."""
        return _params(self)

    def is_empty(self) -> bool:
        """Tell whether the filter matches every event."""
        return not self.to_params()


@dataclass(frozen=True)
class ActivityFilter:
    """Which activities: every field set must match."""

    account: str | None = None
    status: ActivityStatus | None = None
    source: str | None = None
    opportunity_id: str | None = None
    event_id: int | None = None
    since: float | None = None  # created at or after
    until: float | None = None
    text: str | None = None  # a piece of its last error
    last_error: str | None = None  # the whole last error, exactly as stored

    def to_params(self) -> dict[str, str]:
        """Return the filter as text values, the form every entry point parses."""
        return _params(self)

    def is_empty(self) -> bool:
        """Tell whether the filter matches every activity."""
        return not self.to_params()


def parse_event_filter(values: Mapping[str, Any], now: float) -> EventFilter:
    """Return the event filter these values give; unknown names and bad values raise FilterError."""
    _refuse_unknown(values, EventFilter)
    return EventFilter(
        source=_text(values, "source"),
        event_type=_text(values, "event_type"),
        status=_choice(values, "status", EventStatus),
        since=_time(values, "since", now),
        until=_time(values, "until", now),
        opportunity_id=_text(values, "opportunity_id"),
        key=_text(values, "key"),
        text=_text(values, "text"),
        reason=_exact(values, "reason"),
    )


def parse_activity_filter(values: Mapping[str, Any], now: float) -> ActivityFilter:
    """Return the activity filter these values give; unknown names and bad values raise FilterError."""
    _refuse_unknown(values, ActivityFilter)
    event_id = _text(values, "event_id")
    if event_id is not None and not event_id.isdigit():
        raise FilterError(f"event_id: give an event's number, not {event_id!r}")
    return ActivityFilter(
        account=_text(values, "account"),
        status=_choice(values, "status", ActivityStatus),
        source=_text(values, "source"),
        opportunity_id=_text(values, "opportunity_id"),
        event_id=int(event_id) if event_id is not None else None,
        since=_time(values, "since", now),
        until=_time(values, "until", now),
        text=_text(values, "text"),
        last_error=_exact(values, "last_error"),
    )


def event_conditions(wanted: EventFilter, sources: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE conditions on events; sources: every configured source, for a key alone."""
    conditions: list[sa.ColumnElement[bool]] = []
    if wanted.source is not None:
        conditions.append(events.c.source == wanted.source)
    elif wanted.key is not None:
        # Found through the unique (source, key) index, one probe per source: no index on the key alone.
        conditions.append(events.c.source.in_(list(sources)))
    if wanted.key is not None:
        conditions.append(events.c.idempotency_key == wanted.key)
    if wanted.event_type is not None:
        conditions.append(events.c.event_type == wanted.event_type)
    if wanted.status is not None:
        conditions.append(events.c.status == wanted.status.value)
    if wanted.since is not None:
        conditions.append(events.c.received_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(events.c.received_at < wanted.until)
    if wanted.opportunity_id is not None:
        of_opportunity = sa.select(activities.c.event_id).where(
            activities.c.opportunity_id == wanted.opportunity_id
        )
        conditions.append(events.c.id.in_(of_opportunity))
    if wanted.text is not None:
        conditions.append(events.c.reason.contains(wanted.text, autoescape=True))
    if wanted.reason is not None:
        conditions.append(events.c.reason == wanted.reason)
    return conditions


def activity_conditions(wanted: ActivityFilter) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE conditions on activities."""
    conditions: list[sa.ColumnElement[bool]] = []
    if wanted.account is not None:
        conditions.append(activities.c.account == wanted.account)
    if wanted.status is not None:
        conditions.append(activities.c.status == wanted.status.value)
    if wanted.source is not None:
        of_source = sa.select(events.c.id).where(events.c.source == wanted.source)
        conditions.append(activities.c.event_id.in_(of_source))
    if wanted.opportunity_id is not None:
        conditions.append(activities.c.opportunity_id == wanted.opportunity_id)
    if wanted.event_id is not None:
        conditions.append(activities.c.event_id == wanted.event_id)
    if wanted.since is not None:
        conditions.append(activities.c.created_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(activities.c.created_at < wanted.until)
    if wanted.text is not None:
        conditions.append(activities.c.last_error.contains(wanted.text, autoescape=True))
    if wanted.last_error is not None:
        conditions.append(activities.c.last_error == wanted.last_error)
    return conditions


def _params(wanted: EventFilter | ActivityFilter) -> dict[str, str]:
    params = {}
    for field in fields(wanted):
        value = getattr(wanted, field.name)
        if value is not None:
            params[field.name] = repr(value) if isinstance(value, float) else str(value)
    return params


def _refuse_unknown(values: Mapping[str, Any], kind: type[EventFilter] | type[ActivityFilter]) -> None:
    known = [field.name for field in fields(kind)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise FilterError(f"{unknown[0]}: not a filter; use {', '.join(known)}")


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise FilterError(f"{name}: give text, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_TEXT or "\x00" in text:
        raise FilterError(f"{name}: at most {MAX_TEXT} characters, without NUL")
    return text or None


def _exact(values: Mapping[str, Any], name: str) -> str | None:
    """Return a text as given, spaces and all: it must equal a stored one to match."""
    value = values.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FilterError(f"{name}: give text, not {type(value).__name__}")
    if len(value) > MAX_EXACT or "\x00" in value:
        raise FilterError(f"{name}: at most {MAX_EXACT} characters, without NUL")
    return value


def _choice(values: Mapping[str, Any], name: str, enum: type[EventStatus] | type[ActivityStatus]) -> Any:
    text = _text(values, name)
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        raise FilterError(f"{name}: one of {', '.join(m.value for m in enum)}, not {text!r}") from None


def _time(values: Mapping[str, Any], name: str, now: float) -> float | None:
    """Return a time given as an age (30m, 2h, 7d), an ISO 8601 date or time, or epoch seconds."""
    text = _text(values, name)
    if text is None:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        return now - float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise FilterError(f"{name}: epoch seconds must be a finite number, not {text!r}")
        return seconds
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{name}: an age such as 30m, 2h or 7d, an ISO time such as 2026-12-01T10:00Z, "
            f"or epoch seconds; not {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise FilterError(f"{name}: say the time zone, e.g. {text}Z or {text}+05:30")
    return moment.timestamp()
