"""Persona: inquiries completed, approved, declined or marked for review.

Signature: `Persona-Signature: t=<unix>,v1=<hex>`, hex HMAC-SHA256 of
`"{t}.{raw body}"` under the webhook's secret (`wbhsec_...`, used as given).
While a secret is rotated the header carries two space-separated groups,
one per secret; either may match. Persona states no tolerance for the
timestamp: 300 s either way is our choice, the same as Stripe's. Hash the
raw body: Persona warns that parsing can change floats. Idempotency: the
event's `data.id` (`evt_...`); a hash of the body when it is absent. Order
is not guaranteed: `event_at` (the event's `created-at`) tells which came first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, event_type_at, payload_id_key
from bridge.sources.signatures import TimestampedHexSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import iso_datetime, mapping_or_empty, required_object, required_text, text

INQUIRY_VALUES = (
    "event_id",
    "event_at",
    "inquiry_id",
    "status",
    "reference_id",
    "name",
    "email",
    "created_at",
    "completed_at",
    "decided_at",
    "marked_for_review_at",
)

EVENT_VALUES = {
    "inquiry.completed": INQUIRY_VALUES,
    "inquiry.approved": INQUIRY_VALUES,
    "inquiry.declined": INQUIRY_VALUES,
    "inquiry.marked-for-review": INQUIRY_VALUES,
}

INQUIRY_PATH = "data.attributes.payload.data"
ATTRIBUTES_PATH = INQUIRY_PATH + ".attributes"


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the event's data.id (evt_...), or a hash of the body when it has none."""
    return payload_id_key(payload, body, "data", "id")


# The event's name, e.g. 'inquiry.approved'.
event_type = event_type_at("data.attributes.name")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Persona inquiry event."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"persona has no transform for {event_type!r}")
    event = mapping_or_empty(payload.get("data"))
    event_attributes = _attributes(event)
    inquiry = _inquiry(payload)
    attributes = _attributes(inquiry)
    return [
        {
            "event_id": text(event.get("id")),
            "event_at": iso_datetime(event_attributes, "created-at", "data.attributes"),
            "inquiry_id": required_text(inquiry, "id", INQUIRY_PATH),
            "status": text(attributes.get("status")),
            "reference_id": text(attributes.get("reference-id")),
            "name": _name(attributes),
            "email": text(attributes.get("email-address")),
            "created_at": iso_datetime(attributes, "created-at", ATTRIBUTES_PATH),
            "completed_at": iso_datetime(attributes, "completed-at", ATTRIBUTES_PATH),
            "decided_at": iso_datetime(attributes, "decisioned-at", ATTRIBUTES_PATH),
            "marked_for_review_at": iso_datetime(attributes, "marked-for-review-at", ATTRIBUTES_PATH),
        }
    ]


def _inquiry(payload: Payload) -> Mapping[str, Any]:
    inquiry = required_object(payload, INQUIRY_PATH)
    if inquiry.get("type") not in (None, "inquiry"):
        raise TransformError(f"{INQUIRY_PATH} is a {inquiry.get('type')!r}, not an 'inquiry'")
    return inquiry


def _attributes(resource: Any) -> Mapping[str, Any]:
    return mapping_or_empty(mapping_or_empty(resource).get("attributes"))


def _name(attributes: Mapping[str, Any]) -> str | None:
    parts = [text(attributes.get(key)) for key in ("name-first", "name-last")]
    return " ".join(part.strip() for part in parts if part and part.strip()) or None


SOURCE = SourceKind(
    name="persona",
    content_type="application/json",
    signature=TimestampedHexSignature("Persona-Signature", tolerance_seconds=300, group_separator=" "),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    redact_aadhaar=True,
)
