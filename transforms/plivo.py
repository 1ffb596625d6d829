"""Plivo voice and SMS callbacks (form-encoded, signed with V3 over the public URL and a nonce).

Signature: `X-Plivo-Signature-V3` (several comma-separated signatures, any one
may match) with `X-Plivo-Signature-V3-Nonce`: base64 HMAC-SHA256 keyed with
the Auth Token over the URL, the sorted query and form fields, and the nonce
(bridge/sources/signatures/plivo_v3.py). `[sources.plivo.scheme] public_url`
(required, https) names the URL configured in Plivo. A nonce is not a time:
there is no replay window, and a captured callback verifies for ever; the
idempotency key stops a replay being queued twice.

Idempotency key: `call:<CallUUID>:<CallStatus>` or
`message:<MessageUUID>:<Status>` (Plivo calls back once per state under the
same UUID), the body's hash without a UUID. The field names are unconfirmed
in our fact sheet: dry-run the first real callback
(`python -m bridge transform plivo <file>`) before switching the source on.

Event type (our choice, as for Twilio): `call.<CallStatus>` for a body with a
CallUUID and no MessageUUID, `message.<Status>` for one with a MessageUUID; a
body with neither (or a message without a Status, such as an inbound SMS) has
no event type and is stored as ignored.

Values: From and To as sent (Plivo writes numbers without `+`), and
`customer_phone`: From for an inbound call, To otherwise (a message status
callback is about a message you sent). A callback carries no LeadSquared id:
the example looks the lead up by Phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload
from bridge.sources.scheme_options import SchemeOptions
from bridge.sources.signatures.plivo_v3 import PlivoV3Signature
from bridge.sources.signatures.public_url import PUBLIC_URL_KEYS, check_public_url, parse_form_repeats
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, required_text, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

# Unconfirmed lists, from Plivo's callback pages as we read them.
CALL_STATUSES = ("ringing", "in-progress", "completed", "busy", "failed", "timeout", "no-answer", "cancel")
MESSAGE_STATUSES = ("queued", "sent", "failed", "delivered", "undelivered", "rejected", "read")
CALL_VALUES = (
    "call_uuid",
    "status",
    "direction",
    "from_number",
    "to_number",
    "customer_phone",
    "duration_seconds",
    "bill_duration_seconds",
    "hangup_cause",
)
MESSAGE_VALUES = (
    "message_uuid",
    "status",
    "from_number",
    "to_number",
    "customer_phone",
    "error_code",
    "units",
)
EVENT_VALUES = {
    **{f"call.{status}": CALL_VALUES for status in CALL_STATUSES},
    **{f"message.{status}": MESSAGE_VALUES for status in MESSAGE_STATUSES},
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return message:<MessageUUID>:<Status> or call:<CallUUID>:<CallStatus>, else the body's hash."""
    if text(payload.get("MessageUUID")):
        return composite_key(payload, body, "MessageUUID", "Status", prefix="message:")
    return composite_key(payload, body, "CallUUID", "CallStatus", prefix="call:")


def event_type(payload: Payload) -> str | None:
    """Return message.<Status> or call.<CallStatus>; None without a UUID and a status."""
    uuid, status = (
        ("MessageUUID", "Status") if text(payload.get("MessageUUID")) else ("CallUUID", "CallStatus")
    )
    value = (text(payload.get(status)) or "").strip()
    if not text(payload.get(uuid)) or not value:
        return None
    return f"{'message' if uuid == 'MessageUUID' else 'call'}.{value}"


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Plivo call or message callback."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"plivo has no transform for {event_type!r}")
    from_number, to_number = text(payload.get("From")), text(payload.get("To"))
    if event_type.startswith("message."):
        return [
            {
                "message_uuid": required_text(payload, "MessageUUID"),
                "status": required_text(payload, "Status"),
                "from_number": from_number,
                "to_number": to_number,
                "customer_phone": to_number,
                "error_code": text(payload.get("ErrorCode")),
                "units": text(payload.get("Units")),
            }
        ]
    direction = text(payload.get("Direction"))
    return [
        {
            "call_uuid": required_text(payload, "CallUUID"),
            "status": required_text(payload, "CallStatus"),
            "direction": direction,
            "from_number": from_number,
            "to_number": to_number,
            "customer_phone": from_number if direction == "inbound" else to_number,
            "duration_seconds": text(payload.get("Duration")),
            "bill_duration_seconds": text(payload.get("BillDuration")),
            "hangup_cause": text(payload.get("HangupCause")),
        }
    ]


def configure(scheme: Mapping[str, Any]) -> SourceKind:
    """Return the kind signing over the source's public_url, the one scheme key it takes (required)."""
    options = SchemeOptions(scheme, PUBLIC_URL_KEYS)
    return replace(SOURCE, signature=PlivoV3Signature(check_public_url(options.raw.get("public_url"))))


SOURCE = SourceKind(
    name="plivo",
    content_type=CONTENT_TYPE,
    # A placeholder: a plivo source must have scheme.public_url, and configure() replaces this.
    signature=PlivoV3Signature("https://public-url.invalid/webhooks/plivo"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form_repeats,
    sample_suffix=".form",
    configure=configure,
)
