"""Exotel (voice API v1): a call's StatusCallback, authenticated by a shared token.

Exotel signs nothing: no signature, HMAC or secret header is documented
(../shared/reference/webhook-sources-2.md, 3.1). So the bridge checks a secret
token in the callback URL (`/webhooks/exotel/<EXOTEL_WEBHOOK_SECRET>`, the
default: the StatusCallback is a URL passed with each call, and Exotel adds no
custom header), or in a header (`[sources.exotel.scheme] token_in =
"header"`), plus the source's `allowed_ips` (Exotel's addresses are
unconfirmed: ask Exotel). A token covers no byte of the body and no time
(bridge/sources/signatures/shared_token.py); fetch the call from Exotel's Call
Details API (`GET /Calls/{CallSid}`) before acting on it. Exotel answers a
non-2xx or no answer within 15 s with up to 2 retries.

Body: form-encoded by default; whether v1 StatusCallbacks are form-encoded or
JSON is unconfirmed (Exotel's pages render JSON examples), so
`scheme.body = "json"` reads the same fields from a JSON object.

Fields: `CallSid, DateUpdated, Status (completed|failed|busy|no-answer),
RecordingUrl`, and with StatusCallbackEvents subscribed `EventType (terminal|
answered), DateCreated, To, From, PhoneNumberSid, StartTime, EndTime`. `From`
is the number dialled first (the agent, in click-to-call) and `To` the
customer: the example looks the opportunity up by `To` (lead_field "Phone").
Times are `YYYY-MM-DD HH:MM:SS` with no offset; India time is our assumption
(unconfirmed), converted to UTC.

Event type: `Status`. Idempotency key: `CallSid:Status`, with `:EventType`
when Exotel sends one (an answered and a terminal callback of one call are
two events); else the body's hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bridge.sources.formats import utc_from_ist
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, parse_form, parse_json_object
from bridge.sources.scheme_options import TOKEN_KEYS, SchemeOptions, shared_token
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted, required_text, text

FORM = "application/x-www-form-urlencoded"
CALL_VALUES = (
    "call_sid",
    "status",
    "callback_event",
    "from_number",
    "to_number",
    "phone_number_sid",
    "recording_url",
    "created_at",
    "started_at",
    "ended_at",
    "updated_at",
)
# Exotel's terminal statuses; any other (an answered callback's, unconfirmed) is stored as ignored.
EVENT_VALUES = {status: CALL_VALUES for status in ("completed", "failed", "busy", "no-answer")}
SCHEME_KEYS = (*TOKEN_KEYS, "body")


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return CallSid:Status[:EventType] (a call reports each state once), or the body's hash."""
    parts = [(text(payload.get(name)) or "").strip() for name in ("CallSid", "Status", "EventType")]
    if not parts[0]:
        return body_hash_key(body)
    return ":".join(part for part in parts if part)


def event_type(payload: Payload) -> str | None:
    """Return the call's status, e.g. 'completed'."""
    value = (text(payload.get("Status")) or "").strip().lower()
    return value or None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Exotel StatusCallback."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"exotel has no transform for {event_type!r}")
    return [
        {
            "call_sid": required_text(payload, "CallSid"),
            "status": _field(payload, "Status"),
            "callback_event": _field(payload, "EventType"),
            "from_number": _field(payload, "From"),
            "to_number": _field(payload, "To"),
            "phone_number_sid": _field(payload, "PhoneNumberSid"),
            "recording_url": _field(payload, "RecordingUrl"),
            "created_at": _time(payload, "DateCreated"),
            "started_at": _time(payload, "StartTime"),
            "ended_at": _time(payload, "EndTime"),
            "updated_at": _time(payload, "DateUpdated"),
        }
    ]


def _field(payload: Payload, name: str) -> str | None:
    """Return a field, None when absent or blank (or JSON null, as Exotel sends an unrecorded call's URL)."""
    value = text(payload.get(name))
    return value.strip() if value and value.strip() else None


def _time(payload: Payload, name: str) -> str | None:
    """Return an Exotel time (India time, 'YYYY-MM-DD HH:MM:SS') as LeadSquared's UTC time."""
    return formatted(utc_from_ist, _field(payload, name), name)


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind with its token where the scheme table says, reading a form or a JSON body."""
    options = SchemeOptions(scheme, SCHEME_KEYS)
    signature = shared_token(options, "path")
    if options.choice("body", ("form", "json"), "form") == "json":
        return replace(
            SOURCE,
            signature=signature,
            content_type="application/json",
            parse=parse_json_object,
            sample_suffix=".json",
        )
    return replace(SOURCE, signature=signature)


SOURCE = SourceKind(
    name="exotel",
    content_type=FORM,
    # The token rides in the URL by default: a StatusCallback is a URL, with no custom header.
    signature=shared_token(SchemeOptions({}, SCHEME_KEYS), "path"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
    configure=configure,
)
