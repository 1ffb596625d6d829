"""Instamojo: a payment request's payment webhook (form-encoded, not JSON).

Signature: the body's `mac` field (bridge.sources.signatures.instamojo_mac):
hex HMAC-SHA1, keyed with the account's private salt, of every other field's
value ordered by lower-case key name and joined by `|`. The configured secret
is the private salt. It covers every value but not the key names, signs no
timestamp, and a captured delivery can be replayed; Instamojo sends on success
only unless support enables failures. Retries and salt rotation are [unconfirmed].

Idempotency key: `payment_id:<payment_id>:<status>` (Instamojo's payment id,
which the MAC covers, and its outcome, in case a payment is posted once as
Failed and again as Credit; whether that happens is [unconfirmed]); a hash of
the body without a payment_id.

Event types are the `status` field as sent: `Credit` and `Failed`. Amounts and
fees are rupees as text (`100.00`), written with two decimals.

Opportunity: Instamojo echoes no field the merchant sets freely (payment_request_id
maps back to the request you created, purpose is shown to the buyer), so the
example looks the lead up by the buyer's email (`buyer`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.formats import rupees
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures.instamojo_mac import InstamojoMac
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, formatted, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

PAYMENT_VALUES = (
    "payment_id",
    "payment_request_id",
    "amount",
    "fees",
    "currency",
    "status",
    "buyer",
    "buyer_name",
    "buyer_phone",
    "purpose",
)

EVENT_VALUES = {
    "Credit": PAYMENT_VALUES,
    "Failed": PAYMENT_VALUES,
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return payment_id:<id>:<status> (both under the MAC), else a hash of the body."""
    return composite_key(payload, body, "payment_id", "status", prefix="payment_id:")


def event_type(payload: Payload) -> str | None:
    """Return the payment's status as sent, e.g. 'Credit'."""
    value = (text(payload.get("status")) or "").strip()
    return value or None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Instamojo payment webhook."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"instamojo has no transform for {event_type!r}")
    payment_id = form_value(payload, "payment_id")
    if payment_id is None:
        raise TransformError("the form has no payment_id")
    amount = form_value(payload, "amount")
    if amount is None:
        raise TransformError("the form has no amount")
    return [
        {
            "payment_id": payment_id,
            "payment_request_id": form_value(payload, "payment_request_id"),
            "amount": formatted(rupees, amount, "amount"),
            "fees": formatted(rupees, form_value(payload, "fees"), "fees"),
            "currency": form_value(payload, "currency"),
            "status": form_value(payload, "status"),
            "buyer": form_value(payload, "buyer"),
            "buyer_name": form_value(payload, "buyer_name"),
            "buyer_phone": form_value(payload, "buyer_phone"),
            "purpose": form_value(payload, "purpose"),
        }
    ]



SOURCE = SourceKind(
    name="instamojo",
    content_type=CONTENT_TYPE,
    signature=InstamojoMac(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
)
