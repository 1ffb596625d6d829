"""The transform stage: received events become queued activities, ignored or failed.

map_event turns one delivery into activities: the transform's values, shaped by
configuration. It reads only the delivery's data, so the dry run maps a file
exactly as the worker maps a stored event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.config.settings import (
    AccountSettings,
    EventMapping,
    FieldSource,
    OpportunityLookup,
    SourceSettings,
)
from bridge.leadsquared.activity import Activity, LeadLookup, activity_key, normalize_lookup_value
from bridge.leadsquared.phones import written_as
from bridge.pipeline.identify import event_digests
from bridge.services import Services
from bridge.sources.formats import FORMATS
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import value_at
from bridge.store.identifiers import record_digests
from bridge.store.inbox import StoredEvent, mark_event, received_events
from bridge.store.outbox import insert_activities
from bridge.store.tables import EventStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mapped:
    """The event becomes these activities."""

    activities: list[Activity]


@dataclass(frozen=True)
class Ignored:
    """Nobody mapped this event type."""

    event_type: str | None


@dataclass(frozen=True)
class Failed:
    """The event cannot be mapped; reason says what to fix."""

    reason: str


MappingOutcome = Mapped | Ignored | Failed


@dataclass(frozen=True)
class Delivery:
    """What mapping reads of one delivery: its key, the event type a header gave (if any), its body."""

    idempotency_key: str
    event_type: str | None
    body: bytes


def map_event(
    delivery: Delivery, source: SourceSettings, kind: SourceKind, account: AccountSettings
) -> MappingOutcome:
    """Map one delivery to its activities, or say why not."""
    try:
        payload = kind.parse(delivery.body)
    except ValueError as error:
        return Failed(f"the stored body {error}")
    event_type = delivery.event_type or kind.event_type(payload)
    mapping = source.events.get(event_type or "")
    if mapping is None:
        return Ignored(event_type)
    configured_lookup = mapping.opportunity_lookup
    try:
        # Where the activities go: one opportunity or look-up for the whole event, or one per
        # activity where the look-up searches a value the transform yields (each message's customer).
        per_activity = configured_lookup is not None and configured_lookup.value is not None
        shared = None if per_activity else opportunity_of(payload, mapping, {})
        values_list = kind.transform(mapping.event_type, payload)
        bridge_values = {"delivery_id": delivery.idempotency_key}
        rows = [build_row(mapping, {**bridge_values, **values}, payload) for values in values_list]
        targets = [shared or opportunity_of(payload, mapping, values) for values in values_list]
    except TransformError as error:
        return Failed(str(error))
    except Exception as error:
        # A bug in a transform must fail this one event, visibly, and never
        # stop the worker or make the provider retry.
        log.exception("transform raised", extra={"action": "transform", "source": source.name})
        return Failed(f"the {kind.name} transform raised {type(error).__name__}: {error}")
    activities = []
    for position, (row, (opportunity_id, lookup)) in enumerate(zip(rows, targets, strict=True)):
        key = activity_key(source.name, delivery.idempotency_key, position)
        if account.key_field:
            row["Fields"].append({"SchemaName": account.key_field, "Value": key})
        activities.append(Activity(key, account.name, opportunity_id, row, lookup))
    return Mapped(activities)


def opportunity_of(
    payload: Any, mapping: EventMapping, values: Values
) -> tuple[str | None, LeadLookup | None]:
    """Return the opportunity id from the payload, or the look-up that will find it."""
    if mapping.opportunity_lookup is not None:
        return None, lead_lookup_of(payload, values, mapping.opportunity_lookup)
    return opportunity_id_at(payload, mapping.opportunity_id_path or ""), None


def lead_lookup_of(payload: Any, values: Values, config: OpportunityLookup) -> LeadLookup:
    """Return the look-up for the lead whose field value the payload carries at the configured path,
    or the transform yields as the configured value."""
    if config.value is not None:
        value: Any = values.get(config.value)
        where = f"the value {config.value}"
        if value is None or str(value).strip() == "":
            raise TransformError(f"no lead to look up: the transform gave no {config.value}")
    else:
        path = config.path or ""
        value = value_at(payload, path)
        where = path
        if value is None:
            raise TransformError(f"no lead to look up: the payload has nothing at {path}")
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
        raise TransformError(
            f"no lead to look up: {where} holds {type(value).__name__}, not a {config.lead_field}"
        )
    searched = str(value)
    if config.phone_format != "as_sent":
        try:
            searched = written_as(searched, config.phone_format)
        except ValueError as error:
            raise TransformError(f"no lead to look up: {where} {error}") from None
    return LeadLookup(
        lead_field=config.lead_field,
        value=normalize_lookup_value(config.lead_field, searched),
        opportunity_type=config.opportunity_type,
        method=config.method,
        cache_seconds=config.cache_seconds,
        wait_seconds=config.wait_seconds,
    )


def opportunity_id_at(payload: Any, path: str) -> str:
    """Return the opportunity id found at a dotted path in the payload."""
    value = value_at(payload, path)
    if value is None:
        raise TransformError(f"no opportunity id: the payload has nothing at {path}")
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
        raise TransformError(f"no opportunity id: {path} holds {value!r}, not an id")
    return str(value).strip()


def build_row(mapping: EventMapping, values: Values, payload: Any) -> dict[str, Any]:
    """Return the LeadSquared request row for one activity."""
    fields = []
    for schema_name, source in mapping.fields.items():
        text = field_value(source, values, payload, schema_name)
        if text is not None:
            fields.append({"SchemaName": schema_name, "Value": text})
    row: dict[str, Any] = {
        "ActivityEvent": mapping.activity_event,
        "ActivityOwnerEmail": mapping.owner_email,
        "Fields": fields,
    }
    if mapping.note:
        row["ActivityNote"] = mapping.note.format_map(_Blank(values))
    if mapping.validate_dropdown_options is not None:
        row["ValidateDropDownOptions"] = mapping.validate_dropdown_options
    return row


def field_value(source: FieldSource, values: Values, payload: Any, schema_name: str) -> str | None:
    """Return one field's text, None when the provider did not send it."""
    raw = values.get(source.value) if source.value else value_at(payload, source.path or "")
    if raw is None:
        return None
    try:
        return FORMATS[source.format or "text"](raw)
    except ValueError as error:
        where = source.value or source.path
        raise TransformError(f"{schema_name} ({where}): {error}") from None


class _Blank(dict[str, str]):
    """Template values where a value the provider did not send reads as empty."""

    def __init__(self, values: Values) -> None:
        super().__init__({k: "" if v is None else v for k, v in values.items()})

    def __missing__(self, key: str) -> str:
        return ""


def transform_received(services: Services, now: float, limit: int = 200) -> int:
    """Transform up to limit received events; return how many were handled."""
    with services.engine.begin() as connection:
        stored = received_events(connection, limit)
        for event in stored:
            status, reason, activities = event_outcome(services, event)
            if activities:
                insert_activities(connection, event.id, activities, now)
            mark_event(connection, event.id, status, reason)
            # In the same transaction: an event is never transformed without its identifiers on record.
            record_digests(connection, event.id, event_digests(services, event))
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


def event_outcome(services: Services, event: StoredEvent) -> tuple[EventStatus, str | None, list[Activity]]:
    """Map a stored event with the current configuration: its new status, the reason, its activities."""
    source = services.settings.sources.get(event.source)
    kind = services.kinds.get(event.source) if source else None
    if source is None or kind is None:
        return EventStatus.FAILED, f"source {event.source!r} is no longer configured", []
    if not event.body:
        return EventStatus.FAILED, "its payload was erased (on request) before it was transformed", []
    account = services.settings.accounts[source.account]
    outcome = map_event(Delivery(event.idempotency_key, event.event_type, event.body), source, kind, account)
    if isinstance(outcome, Mapped):
        return EventStatus.TRANSFORMED, None, outcome.activities
    if isinstance(outcome, Ignored):
        return EventStatus.IGNORED, f"no mapping for event type {outcome.event_type!r}", []
    assert isinstance(outcome, Failed)
    return EventStatus.FAILED, outcome.reason, []
