"""Calendly (webhooks v2): an invitee booked or cancelled a meeting.

Signature: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, where v1 is
HMAC-SHA256 of `"{t}." + raw body` keyed with the subscription's signing key:
Stripe's scheme under another header (TimestampedHexSignature). The generic
`hmac` kind cannot say it (its timestamp is a header of its own), hence this
kind. Replay window: 180 s either way. That figure is third-party advice
(Hookdeck's Calendly guide); Calendly's own tolerance is unconfirmed. The key
is optional for personal-access-token subscriptions (create one with a
`signing_key`), write-only, and cannot be rotated in place: create a new
subscription, and keep the old key as a previous secret until it is deleted.

Payload: `{event, created_at, created_by, payload: {uri, email, name,
status, text_reminder_number, timezone, rescheduled, cancellation: {reason,
canceled_by}, scheduled_event: {uri, name, start_time, end_time}, tracking:
{utm_*}, ...}}`; beyond the fact sheet's field list (uri, email, name,
text_reminder_number, tracking, status) the names are Calendly's v2 schema,
not re-checked against a capture. A reschedule sends `invitee.canceled` (with
`rescheduled: true`) and then `invitee.created`.

Event type: `event`. Idempotency key: `payload.uri:event` (the invitee's URI
and what happened to it; Calendly sends no event id), else the body's hash.
The payload carries the invitee's email and phone, not an opportunity id: the
example looks the lead up by `payload.email`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at, value_at
from bridge.sources.signatures import TimestampedHexSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import iso_datetime, mapping_or_empty, required_object, required_text, text

HEADER = "Calendly-Webhook-Signature"
# Third-party advice (Hookdeck's Calendly guide); Calendly publishes no figure.
TOLERANCE_SECONDS = 180

INVITEE_VALUES = (
    "invitee_uri",
    "email",
    "name",
    "phone",
    "status",
    "rescheduled",
    "meeting_name",
    "meeting_uri",
    "starts_at",
    "ends_at",
    "cancel_reason",
    "canceled_by",
    "event_at",
)
EVENT_VALUES = {"invitee.created": INVITEE_VALUES, "invitee.canceled": INVITEE_VALUES}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return payload.uri:event (an invitee is created and cancelled once each), or the body's hash."""
    uri = value_at(payload, "payload.uri")
    if not isinstance(uri, str) or not uri.strip():
        return body_hash_key(body)
    return f"{uri.strip()}:{text(payload.get('event')) or ''}"


# What happened, e.g. 'invitee.created'.
event_type = event_type_at("event")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one invitee event."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"calendly has no transform for {event_type!r}")
    invitee = required_object(payload, "payload")
    meeting = mapping_or_empty(invitee.get("scheduled_event"))
    cancellation = mapping_or_empty(invitee.get("cancellation"))
    return [
        {
            "invitee_uri": required_text(invitee, "uri", "payload"),
            "email": text(invitee.get("email")),
            "name": text(invitee.get("name")),
            "phone": text(invitee.get("text_reminder_number")),
            "status": text(invitee.get("status")),
            "rescheduled": text(invitee.get("rescheduled")),
            "meeting_name": text(meeting.get("name")),
            "meeting_uri": text(meeting.get("uri")),
            "starts_at": iso_datetime(meeting, "start_time", "payload.scheduled_event"),
            "ends_at": iso_datetime(meeting, "end_time", "payload.scheduled_event"),
            "cancel_reason": text(cancellation.get("reason")),
            "canceled_by": text(cancellation.get("canceled_by")),
            "event_at": iso_datetime(payload, "created_at"),
        }
    ]


SOURCE = SourceKind(
    name="calendly",
    content_type="application/json",
    signature=TimestampedHexSignature(HEADER, tolerance_seconds=TOLERANCE_SECONDS),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
