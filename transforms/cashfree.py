"""Cashfree Payments (PG): payment success, failure and user-dropped webhooks.

Signature: `x-webhook-signature`, base64 HMAC-SHA256 keyed with the PG client
secret (the secret of the API key pair; there is no separate webhook secret)
over the `x-webhook-timestamp` header's text immediately followed by the raw
body, with no separator; the formula of Cashfree's docs and of the
cashfree-pg SDK's `PGVerifyWebhookSignature`. The timestamp is Unix
milliseconds. Cashfree sends one signature; while an API key pair is rotated,
keep the old client secret configured as a previous secret.

Replay window: Cashfree documents none for PG webhooks (its SDK checks no
age). We refuse a timestamp more than 300 s from now, either way
(`SignedTimestamp.tolerance_seconds`, 300 s): our choice, because a
signed timestamp nobody checks stops no replay of a captured delivery, and
300 s is the window of Stripe and Standard Webhooks and the "5 minutes" that
Cashfree's subscription signature page recommends. Unconfirmed: that each
retry (`x-webhook-attempt` > 1) is signed afresh with a new timestamp; if a
retry resent the first attempt's timestamp, retries at 2, 10 and 30 minutes
would be refused as stale. Check a retried delivery in the sandbox.

Idempotency key: the `x-idempotency-key` header (webhook version 2025-01-01;
Cashfree describes it as a hash unique to each webhook payload); without it,
`<type>:<data.payment.cf_payment_id>`, the outcome of one payment attempt
(the type keeps a late success apart from an earlier user-dropped webhook of
the same attempt); without a payment id, a hash of the body.

Retries: anything but 2xx (3xx included) fails; by default 3 retries at 2, 10
and 30 minutes, or a Fixed, Exponential or Custom policy of up to 10 retries
per endpoint. Delivery is at least once and one order may see several payment
attempts; only `payment_status = SUCCESS` is terminal.

Amounts are rupees already, JSON decimals such as `170.00`: each is written
with two decimals from the number's shortest text through Decimal (never a
float's binary artefacts), and an amount with a fraction of a paisa is refused
rather than rounded. Times are ISO 8601 with an offset.

Opportunity: `data.order.order_tags.opportunity_id`, an order tag the merchant
sets when creating the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at, value_at
from bridge.sources.signatures import HmacSignature, SignedTimestamp
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, iso_datetime, mapping_or_empty, required_object, text

PAYMENT_VALUES = (
    "cf_payment_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "payment_method",
    "payment_group",
    "bank_reference",
    "payment_message",
    "error_code",
    "error_description",
    "error_reason",
    "payment_time",
    "event_at",
)

EVENT_VALUES = {
    "PAYMENT_SUCCESS_WEBHOOK": PAYMENT_VALUES,
    "PAYMENT_FAILED_WEBHOOK": PAYMENT_VALUES,
    "PAYMENT_USER_DROPPED_WEBHOOK": PAYMENT_VALUES,
}

PAISA = Decimal("0.01")
PAYMENT_PATH = "data.payment"


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return x-idempotency-key, else the event type with cf_payment_id, else a hash of the body."""
    header = (headers.get("x-idempotency-key") or "").strip()
    if header:
        return header
    payment_id = value_at(payload, f"{PAYMENT_PATH}.cf_payment_id")
    type_ = value_at(payload, "type")
    if isinstance(type_, str) and type_ and _is_id(payment_id):
        return f"{type_}:{payment_id}"
    return body_hash_key(body)


# The webhook's type, e.g. 'PAYMENT_SUCCESS_WEBHOOK'.
event_type = event_type_at("type")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Cashfree payment webhook."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"cashfree has no transform for {event_type!r}")
    data = required_object(payload, "data")
    payment = required_object(payload, PAYMENT_PATH)
    order = mapping_or_empty(data.get("order"))
    error = mapping_or_empty(data.get("error_details"))
    payment_id = payment.get("cf_payment_id")
    if not _is_id(payment_id):
        raise TransformError(f"{PAYMENT_PATH}.cf_payment_id is missing")
    return [
        {
            "cf_payment_id": str(payment_id),
            "order_id": text(order.get("order_id")),
            "amount": formatted_at(rupees, payment, "payment_amount", PAYMENT_PATH),
            "currency": text(payment.get("payment_currency")),
            "status": text(payment.get("payment_status")),
            "payment_method": _method(payment.get("payment_method")),
            "payment_group": text(payment.get("payment_group")),
            "bank_reference": text(payment.get("bank_reference")),
            "payment_message": text(payment.get("payment_message")),
            "error_code": text(error.get("error_code")),
            "error_description": text(error.get("error_description")),
            "error_reason": text(error.get("error_reason")),
            "payment_time": iso_datetime(payment, "payment_time", PAYMENT_PATH),
            "event_at": iso_datetime(payload, "event_time"),
        }
    ]


def rupees(value: Any) -> str:
    """Return a JSON number of rupees with two decimals: 170.0 -> '170.00', 1.8 -> '1.80'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"an amount in rupees must be a number, not {value!r}")
    # repr() of a float is its shortest round-tripping text, so 1.8 is 1.8, not 1.8000000000000000444.
    amount = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    try:
        whole_paise = amount.quantize(PAISA)
    except InvalidOperation:
        raise ValueError(f"{value!r} is too large an amount") from None
    if amount != whole_paise:
        raise ValueError(f"{value!r} has a fraction of a paisa")
    return f"{whole_paise:.2f}"


def _method(value: Any) -> str | None:
    """Return the payment method: the one key of payment_method, e.g. 'upi' of {'upi': {...}}."""
    names = [name for name, details in mapping_or_empty(value).items() if details is not None]
    return names[0] if names else None


def _is_id(value: Any) -> bool:
    # cf_payment_id is a number in older webhook versions and a string in newer ones.
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return str(value).strip() != ""


SOURCE = SourceKind(
    name="cashfree",
    content_type="application/json",
    # Cashfree signs `{x-webhook-timestamp}{body}`, the timestamp in Unix milliseconds with no
    # separator (the PHP snippet's `$timestamp.$payload` dot is concatenation, not a byte).
    signature=HmacSignature(
        "x-webhook-signature",
        encoding="base64",
        timestamp=SignedTimestamp("x-webhook-timestamp", separator="", units_per_second=1000),
    ),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
