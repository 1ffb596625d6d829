"""Setu UPI (UMAP): payment notifications.

Signature: `x-setu-signature`, HMAC-SHA256 of the raw body keyed with the
secret you set for the webhook in Setu (20-50 letters and digits), standard
base64 with padding. The base64 encoding is from the code snippets of Setu's
verify-signature page (Node `digest('base64')`, Python `b64encode`, Go
`StdEncoding`); Setu publishes no signature for a known message, so our test
vector is derived from that formula, not confirmed by Setu. No timestamp is
signed, so there is no replay window: a replay within our retention stops at
the idempotency key. Rotation is not documented; one signature is sent, so
keep an old secret configured as a previous secret while a change settles.

Idempotency key: `eventId`, a ULID unique to each notification; a hash of the
body when it is absent. Retries: Setu says it retries; the schedule is
unconfirmed. Order is not guaranteed (a success can arrive before its
initiated); `txnId` is the same on every event of one payment.

Events: `payment.initiated`, `payment.pending`, `payment.success` and
`payment.failed` share one shape, so all four transform; the example
configuration maps the terminal two. `amount` is in paise: Setu's create
payment link example has `amount: 10000` with `am=100.00` in its UPI intent
link. `eventTs` comes as ISO 8601 (`2023-09-04T12:08:20+0530`) or as Go's
default time text (`2023-09-04 12:08:20.202644 +0530 IST`); both are read.

Opportunity: our assumption is `merchantReferenceId`, the reference the
merchant gives when creating the payment link or collect request, which
Setu's documented notification echoes; the merchant sets it to the
LeadSquared opportunity id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bridge.sources.formats import lsq_datetime_from_iso, rupees_from_paise
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, event_type_at, payload_id_key
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, mapping_or_empty, text

PAYMENT_VALUES = (
    "payment_id",
    "txn_id",
    "rrn",
    "merchant_reference_id",
    "amount",
    "currency",
    "status",
    "txn_type",
    "product_instance_type",
    "customer_vpa",
    "merchant_vpa",
    "txn_note",
    "reason_code",
    "reason_description",
    "npci_error_code",
    "npci_error_description",
    "setu_description",
    "event_at",
)

EVENT_VALUES = {
    "payment.initiated": PAYMENT_VALUES,
    "payment.pending": PAYMENT_VALUES,
    "payment.success": PAYMENT_VALUES,
    "payment.failed": PAYMENT_VALUES,
}

# Go's time.Time.String(): "2023-09-04 12:08:20.202644 +0530 IST"; the zone name adds nothing to the offset.
GO_TIME = re.compile(
    r"(?P<local>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<offset>[+-]\d{2}:?\d{2})(?: [A-Za-z]+)?"
)


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the notification's eventId, or a hash of the body when it has none."""
    return payload_id_key(payload, body, "eventId")


# The notification's type, e.g. 'payment.success'.
event_type = event_type_at("eventType")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Setu UPI payment notification."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"setu has no transform for {event_type!r}")
    payment_id = text(payload.get("id"))
    if not payment_id:
        raise TransformError("id (the payment id) is missing")
    reason = mapping_or_empty(payload.get("reason"))
    return [
        {
            "payment_id": payment_id,
            "txn_id": text(payload.get("txnId")),
            "rrn": text(payload.get("rrn")),
            "merchant_reference_id": text(payload.get("merchantReferenceId")),
            "amount": formatted_at(rupees_from_paise, payload, "amount"),
            "currency": text(payload.get("currency")),
            "status": text(payload.get("status")),
            "txn_type": text(payload.get("txnType")),
            "product_instance_type": text(payload.get("productInstanceType")),
            "customer_vpa": text(payload.get("customerVpa")),
            "merchant_vpa": text(payload.get("merchantVpa")),
            "txn_note": text(payload.get("txnNote")),
            "reason_code": text(reason.get("code")),
            "reason_description": text(reason.get("desc")),
            "npci_error_code": text(reason.get("npciErrCode")),
            "npci_error_description": text(reason.get("npciErrDesc")),
            "setu_description": text(reason.get("setuDescription")),
            "event_at": formatted_at(setu_datetime, payload, "eventTs"),
        }
    ]


def setu_datetime(text: str) -> str:
    """Return a Setu time, ISO 8601 or Go's default text, as LeadSquared's UTC 'YYYY-MM-DD HH:MM:SS'."""
    if not isinstance(text, str):
        raise ValueError(f"a time must be text, not {text!r}")
    go_time = GO_TIME.fullmatch(text.strip())
    if go_time:
        return lsq_datetime_from_iso(go_time["local"] + go_time["offset"])
    return lsq_datetime_from_iso(text)


SOURCE = SourceKind(
    name="setu",
    content_type="application/json",
    signature=HmacSignature("x-setu-signature", encoding="base64"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
