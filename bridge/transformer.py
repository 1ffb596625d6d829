"""The transform stage: received events become queued activities, ignored or failed."""

from __future__ import annotations

import logging

from bridge.activity import Activity
from bridge.mapping import Failed, Ignored, Mapped, map_event
from bridge.services import Services
from bridge.store.inbox import StoredEvent, mark_event, received_events
from bridge.store.outbox import insert_activities
from bridge.store.tables import EventStatus

log = logging.getLogger(__name__)


def transform_received(services: Services, now: float, limit: int = 200) -> int:
    """Transform up to limit received events; return how many were handled."""
    with services.engine.begin() as connection:
        stored = received_events(connection, limit)
        for event in stored:
            status, reason, activities = _outcome(services, event)
            if activities:
                insert_activities(connection, event.id, activities, now)
            mark_event(connection, event.id, status, reason)
            level = logging.WARNING if status is EventStatus.FAILED else logging.INFO
            log.log(
                level,
                reason or f"queued {len(activities)} activities",
                extra={
                    "action": "transform",
                    "source": event.source,
                    "event_id": event.id,
                    "outcome": status.value,
                },
            )
    return len(stored)


def _outcome(services: Services, event: StoredEvent) -> tuple[EventStatus, str | None, list[Activity]]:
    source = services.settings.sources.get(event.source)
    kind = services.kinds.get(event.source) if source else None
    if source is None or kind is None:
        return EventStatus.FAILED, f"source {event.source!r} is no longer configured", []
    account = services.settings.accounts[source.account]
    outcome = map_event(event, source, kind, account)
    if isinstance(outcome, Mapped):
        return EventStatus.TRANSFORMED, None, outcome.activities
    if isinstance(outcome, Ignored):
        return EventStatus.IGNORED, f"no mapping for event type {outcome.event_type!r}", []
    assert isinstance(outcome, Failed)
    return EventStatus.FAILED, outcome.reason, []
