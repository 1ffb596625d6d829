"""Twilio Voice and Messaging status callbacks (form-encoded, signed over the public URL).

Signature: `X-Twilio-Signature`, base64 HMAC-SHA1 keyed with the account's
Auth Token over the URL Twilio called followed by the sorted form fields
(bridge/sources/signatures/twilio_url.py). Behind a proxy the bridge cannot
see that URL, so `[sources.twilio.scheme] public_url` (required, https) names
it; the query string comes from each request, so a `?lead=...` you add to the
callback URL is signed too (checked, not stored: no mapping can read it).
Leave connection overrides (`#rc=...`) out of public_url: a fragment never
reaches the bridge, and whether Twilio signs it is unconfirmed. No time is
signed: a captured callback verifies for ever, and the idempotency key stops
a replay being queued twice.

Idempotency key: `call:<CallSid>:<CallStatus>` or
`message:<MessageSid>:<MessageStatus>`: Twilio sends one callback per state
of a call or message under the same sid, so the status tells them apart;
the body's hash without a sid. Twilio's `SequenceNumber` is unconfirmed and
not used.

Event type (our choice): `call.<CallStatus>` (`call.completed`,
`call.no-answer`, ...) for a body with a CallSid and no MessageSid, and
`message.<MessageStatus>` (`message.delivered`, `message.received`, ...) for
one with a MessageSid (SmsStatus when MessageStatus is absent): a call and a
message can share a status name (failed, canceled), so the prefix tells them
apart. A body with neither sid has no event type and is stored as ignored.

Values: the From and To numbers as sent (E.164, `+91...`), and
`customer_phone`, our reading of which one is the customer: From for an
inbound call or a received message, To otherwise. A status callback carries
no LeadSquared id: the example looks the lead up by Phone. A field Twilio
sends more than once is read as no single value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from bridge.sources.formats import lsq_datetime
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload
from bridge.sources.scheme_options import SchemeOptions
from bridge.sources.signatures.public_url import PUBLIC_URL_KEYS, check_public_url, parse_form_repeats
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.signatures.twilio_url import TwilioSignature
from bridge.sources.values import composite_key, required_text, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

CALL_STATUSES = (
    "queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled",
)  # fmt: skip
MESSAGE_STATUSES = (
    "accepted", "scheduled", "queued", "sending", "sent", "failed", "delivered", "undelivered",
    "receiving", "received", "read", "partially_delivered", "canceled",
)  # fmt: skip
CALL_VALUES = (
    "call_sid",
    "account_sid",
    "status",
    "direction",
    "from_number",
    "to_number",
    "customer_phone",
    "duration_seconds",
    "event_at",
)
MESSAGE_VALUES = (
    "message_sid",
    "account_sid",
    "status",
    "from_number",
    "to_number",
    "customer_phone",
    "error_code",
)
EVENT_VALUES = {
    **{f"call.{status}": CALL_VALUES for status in CALL_STATUSES},
    **{f"message.{status}": MESSAGE_VALUES for status in MESSAGE_STATUSES},
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return message:<MessageSid>:<status> or call:<CallSid>:<CallStatus>, else the body's hash."""
    if text(payload.get("MessageSid")):
        return composite_key(payload, body, "MessageSid", _message_status_field(payload), prefix="message:")
    return composite_key(payload, body, "CallSid", "CallStatus", prefix="call:")


def event_type(payload: Payload) -> str | None:
    """Return message.<MessageStatus> or call.<CallStatus>; None without a sid and a status."""
    if text(payload.get("MessageSid")):
        status = text(payload.get(_message_status_field(payload)))
        return f"message.{status.strip()}" if status and status.strip() else None
    status = text(payload.get("CallStatus"))
    if text(payload.get("CallSid")) and status and status.strip():
        return f"call.{status.strip()}"
    return None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Twilio call or message status callback."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"twilio has no transform for {event_type!r}")
    from_number, to_number = text(payload.get("From")), text(payload.get("To"))
    if event_type.startswith("message."):
        status = required_text(payload, _message_status_field(payload))
        return [
            {
                "message_sid": required_text(payload, "MessageSid"),
                "account_sid": text(payload.get("AccountSid")),
                "status": status,
                "from_number": from_number,
                "to_number": to_number,
                "customer_phone": from_number if status == "received" else to_number,
                "error_code": text(payload.get("ErrorCode")),
            }
        ]
    direction = text(payload.get("Direction"))
    return [
        {
            "call_sid": required_text(payload, "CallSid"),
            "account_sid": text(payload.get("AccountSid")),
            "status": required_text(payload, "CallStatus"),
            "direction": direction,
            "from_number": from_number,
            "to_number": to_number,
            "customer_phone": from_number if direction == "inbound" else to_number,
            "duration_seconds": text(payload.get("CallDuration")),
            "event_at": _timestamp(payload),
        }
    ]


def _message_status_field(payload: Payload) -> str:
    """Return the field holding a message's status: MessageStatus, or the older SmsStatus."""
    return "MessageStatus" if text(payload.get("MessageStatus")) else "SmsStatus"


def _timestamp(payload: Payload) -> str | None:
    """Return Twilio's RFC 2822 Timestamp (unconfirmed on every callback) as LeadSquared's UTC time."""
    value = text(payload.get("Timestamp"))
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise TransformError(f"Timestamp: {value!r} is not an RFC 2822 time") from None
    # "-0000" means UTC with no local offset known; email.utils leaves such a time naive.
    return lsq_datetime((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind signing over the source's public_url, the one scheme key it takes (required)."""
    options = SchemeOptions(scheme, PUBLIC_URL_KEYS)
    return replace(SOURCE, signature=TwilioSignature(check_public_url(options.raw.get("public_url"))))


SOURCE = SourceKind(
    name="twilio",
    content_type=CONTENT_TYPE,
    # A placeholder: a twilio source must have scheme.public_url, and configure() replaces this.
    signature=TwilioSignature("https://public-url.invalid/webhooks/twilio"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form_repeats,
    sample_suffix=".form",
    configure=configure,
)
