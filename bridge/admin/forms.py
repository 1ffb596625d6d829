"""The lists' filter forms: one field per filter name, with a menu where the values are known."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from bridge.operate.filters import ActivityFilter, EventFilter
from bridge.services import Services
from bridge.store.tables import ActivityStatus, EventStatus

LABELS = {
    "event_type": "event type",
    "opportunity_id": "opportunity",
    "key": "event id (key)",
    "event_id": "event #",
    "text": "reason contains",
    "reason": "reason is",
    "last_error": "error is",
}
HINTS = {
    "since": "2h, 7d or an ISO time",
    "until": "30m or an ISO time",
    "key": "evt_…",
}


@dataclass(frozen=True)
class FilterField:
    """One field of a filter form."""

    name: str
    label: str
    hint: str = ""
    choices: tuple[str, ...] = ()


def event_fields(services: Services) -> list[FilterField]:
    """Return the events list's filter fields."""
    menus = {"source": sorted(services.settings.sources), "status": [s.value for s in EventStatus]}
    return _fields(EventFilter, menus, {})


def activity_fields(services: Services) -> list[FilterField]:
    """Return the activities list's filter fields."""
    menus = {
        "account": sorted(services.settings.accounts),
        "source": sorted(services.settings.sources),
        "status": [s.value for s in ActivityStatus],
    }
    return _fields(ActivityFilter, menus, {"text": "error contains"})


def _fields(
    kind: type[EventFilter] | type[ActivityFilter],
    menus: Mapping[str, Iterable[str]],
    labels: Mapping[str, str],
) -> list[FilterField]:
    return [
        FilterField(
            name=field.name,
            label=labels.get(field.name) or LABELS.get(field.name, field.name.replace("_", " ")),
            hint=HINTS.get(field.name, ""),
            choices=tuple(menus.get(field.name, ())),
        )
        for field in fields(kind)
    ]
