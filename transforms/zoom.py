"""Zoom (Marketplace app event subscriptions): webinar registrations and participants joining.

Signed: `x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:{ts}:{raw body}")>`
with `x-zm-request-timestamp` (Unix seconds), keyed with the app's Secret
Token. Zoom's own sample re-serialises the JSON before hashing; the bridge
hashes the raw bytes. A signature is refused 300 s either way from now (the
window public samples use: Zoom states none, unconfirmed).

Handshake: Zoom proves the URL with a signed `POST` of event
`endpoint.url_validation` (when it is added, then every 72 hours), answered
at once with `{"plainToken", "encryptedToken"}` and never stored
(bridge/sources/handshake.py, PlainTokenValidation). Zoom wants 200 or 204
within 3 s and retries a delivery 3 times (+5, +20, +60 min).

Payload: `{event, event_ts (ms), payload: {account_id, object: {...}}}`.
Event type: `event`. Idempotency key (our inference: Zoom sends no delivery
id): `event:event_ts:<object uuid or id>[:<registrant or participant id>]`,
else the body's hash. Lead mapping: the registrant's or participant's
email (the registrant's path is unconfirmed; a participant's email is
there only when Zoom knows it: signed in, or registered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.handshake import PlainTokenValidation
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.signatures import HmacSignature, SignedTimestamp
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import (
    iso_datetime,
    mapping_or_empty,
    required_object,
    required_text,
    text,
    unix_datetime,
)

SIGNATURE = HmacSignature(
    "x-zm-signature",
    prefix="v0=",
    timestamp=SignedTimestamp("x-zm-request-timestamp", separator=":", lead="v0:"),
)
MEETING_VALUES = ("event", "event_at", "object_id", "object_uuid", "topic", "host_id")
REGISTRANT_VALUES = (
    *MEETING_VALUES,
    "registrant_id",
    "email",
    "first_name",
    "last_name",
    "registrant_status",
)
PARTICIPANT_VALUES = (*MEETING_VALUES, "participant_id", "email", "user_name", "join_time")
EVENT_VALUES = {
    "webinar.registration_created": REGISTRANT_VALUES,
    "webinar.participant_joined": PARTICIPANT_VALUES,
    "meeting.participant_joined": PARTICIPANT_VALUES,
}
# Who the event is about, under payload.object, for the key and the values.
PERSON = {"registrant": "id", "participant": "participant_uuid"}

# The event's name, e.g. 'webinar.registration_created'.
event_type = event_type_at("event")


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return event:event_ts:object[:person], or the body's hash without an event or a time."""
    event, stamp = text(payload.get("event")), text(payload.get("event_ts"))
    if not event or not stamp:
        return body_hash_key(body)
    thing = mapping_or_empty(mapping_or_empty(payload.get("payload")).get("object"))
    parts = [event, stamp, text(thing.get("uuid")) or text(thing.get("id")) or ""]
    for person, id_key in PERSON.items():
        who = mapping_or_empty(thing.get(person))
        found = text(who.get(id_key)) or text(who.get("id")) or text(who.get("user_id"))
        if found:
            parts.append(found)
    return ":".join(parts)


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return one activity's values for a registration or a participant joining."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"zoom has no transform for {event_type!r}")
    thing = required_object(payload, "payload.object")
    values = meeting_values(payload, thing)
    if event_type == "webinar.registration_created":
        values |= registrant_values(required_object(thing, "registrant"))
    else:
        values |= participant_values(required_object(thing, "participant"))
    return [values]


def meeting_values(payload: Payload, thing: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values every event yields: what happened, when, and to which meeting or webinar."""
    stamp = payload.get("event_ts")
    seconds = stamp / 1000 if isinstance(stamp, int) and not isinstance(stamp, bool) else stamp
    return {
        "event": required_text(payload, "event"),
        "event_at": unix_datetime({"event_ts": seconds}, "event_ts"),
        "object_id": required_text(thing, "id", "payload.object"),
        "object_uuid": text(thing.get("uuid")),
        "topic": text(thing.get("topic")),
        "host_id": text(thing.get("host_id")),
    }


def registrant_values(registrant: Mapping[str, Any]) -> dict[str, str | None]:
    """Return who registered for the webinar."""
    path = "payload.object.registrant"
    return {
        "registrant_id": text(registrant.get("id")),
        "email": required_text(registrant, "email", path),
        "first_name": text(registrant.get("first_name")),
        "last_name": text(registrant.get("last_name")),
        "registrant_status": text(registrant.get("status")),
    }


def participant_values(participant: Mapping[str, Any]) -> dict[str, str | None]:
    """Return who joined, and when."""
    path = "payload.object.participant"
    return {
        "participant_id": text(participant.get("participant_uuid")) or text(participant.get("user_id")),
        "email": text(participant.get("email")),
        "user_name": text(participant.get("user_name")),
        "join_time": iso_datetime(participant, "join_time", path),
    }


SOURCE = SourceKind(
    name="zoom",
    content_type="application/json",
    signature=SIGNATURE,
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    handshake=PlainTokenValidation(),
)
