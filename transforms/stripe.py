"""Stripe: payment intents, Checkout sessions and refunded charges.

Signature: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, hex
HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's signing secret, the
whole `whsec_...` string as UTF-8 (not base64-decoded). While a secret is
rolled Stripe signs with both, one `v1` each; `v0` (test mode) is ignored.
Stripe's own libraries allow 300 s; we refuse a timestamp that far off
either way, where stripe-python only refuses old ones. Idempotency: the
event's `id` (`evt_...`), the same on every retry; a hash of the body when
it is absent. Amounts are integers in the currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, event_type_at, payload_id_key
from bridge.sources.signatures import TimestampedHexSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import (
    formatted_at,
    mapping_or_empty,
    required_object,
    required_text,
    text,
    unix_datetime,
)

# Stripe's zero-decimal currencies: the amount is already in major units.
# https://docs.stripe.com/currencies#zero-decimal (ISK, HUF and TWD are
# special cases there that the API still counts in hundredths, so they stay
# two-decimal here).
ZERO_DECIMAL = frozenset(
    {
        *("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"),
        *("PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"),
    }
)
# Three-decimal currencies are counted in thousandths (Stripe requires the
# last digit to be 0, but the amount is written with all three to lose nothing).
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# Where every event carries the object it is about.
OBJECT_PATH = "data.object"

COMMON_VALUES = ("event_id", "event_at", "livemode")
PAYMENT_INTENT_VALUES = (
    *COMMON_VALUES,
    "payment_intent_id",
    "charge_id",
    "customer_id",
    "amount",
    "amount_received",
    "currency",
    "status",
    "email",
    "description",
    "failure_code",
    "failure_decline_code",
    "failure_message",
    "created_at",
)
CHECKOUT_SESSION_VALUES = (
    *COMMON_VALUES,
    "checkout_session_id",
    "payment_intent_id",
    "customer_id",
    "client_reference_id",
    "amount",
    "currency",
    "status",
    "payment_status",
    "email",
    "name",
    "created_at",
)
CHARGE_VALUES = (
    *COMMON_VALUES,
    "charge_id",
    "payment_intent_id",
    "customer_id",
    "refund_ids",
    "amount",
    "amount_refunded",
    "currency",
    "status",
    "email",
    "created_at",
)

EVENT_VALUES = {
    "payment_intent.succeeded": PAYMENT_INTENT_VALUES,
    "payment_intent.payment_failed": PAYMENT_INTENT_VALUES,
    "checkout.session.completed": CHECKOUT_SESSION_VALUES,
    "charge.refunded": CHARGE_VALUES,
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return the event's id (evt_...), or a hash of the body when it has none."""
    return payload_id_key(payload, body, "id")


# The event's type, e.g. 'payment_intent.succeeded'.
event_type = event_type_at("type")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Stripe event."""
    common = {
        "event_id": text(payload.get("id")),
        "event_at": unix_datetime(payload, "created", "event"),
        "livemode": text(payload.get("livemode")),
    }
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return [{**common, **payment_intent_values(_object(payload, "payment_intent"))}]
    if event_type == "checkout.session.completed":
        return [{**common, **checkout_session_values(_object(payload, "checkout.session"))}]
    if event_type == "charge.refunded":
        return [{**common, **charge_values(_object(payload, "charge"))}]
    raise TransformError(f"stripe has no transform for {event_type!r}")


def payment_intent_values(intent: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a PaymentIntent (its failure, for payment_failed)."""
    currency = _currency(intent)
    error = mapping_or_empty(intent.get("last_payment_error"))
    return {
        "payment_intent_id": required_text(intent, "id", OBJECT_PATH),
        "charge_id": _id(intent.get("latest_charge")),
        "customer_id": _id(intent.get("customer")),
        "amount": _amount(intent, "amount", currency),
        "amount_received": _amount(intent, "amount_received", currency),
        "currency": currency,
        "status": text(intent.get("status")),
        "email": text(intent.get("receipt_email")),
        "description": text(intent.get("description")),
        "failure_code": text(error.get("code")),
        "failure_decline_code": text(error.get("decline_code")),
        "failure_message": text(error.get("message")),
        "created_at": unix_datetime(intent, "created", OBJECT_PATH),
    }


def checkout_session_values(session: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a Checkout Session."""
    currency = _currency(session)
    details = mapping_or_empty(session.get("customer_details"))
    return {
        "checkout_session_id": required_text(session, "id", OBJECT_PATH),
        "payment_intent_id": _id(session.get("payment_intent")),
        "customer_id": _id(session.get("customer")),
        "client_reference_id": text(session.get("client_reference_id")),
        "amount": _amount(session, "amount_total", currency),
        "currency": currency,
        "status": text(session.get("status")),
        "payment_status": text(session.get("payment_status")),
        "email": text(details.get("email")) or text(session.get("customer_email")),
        "name": text(details.get("name")),
        "created_at": unix_datetime(session, "created", OBJECT_PATH),
    }


def charge_values(charge: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a refunded Charge.

    `refund_ids` lists the refunds the event carries; API versions from
    2022-11-15 leave `refunds` out of a charge unless expanded, and then it is None.
    """
    currency = _currency(charge)
    billing = mapping_or_empty(charge.get("billing_details"))
    listed = mapping_or_empty(charge.get("refunds")).get("data")
    refund_ids = [_id(refund) for refund in listed] if isinstance(listed, list) else []
    return {
        "charge_id": required_text(charge, "id", OBJECT_PATH),
        "payment_intent_id": _id(charge.get("payment_intent")),
        "customer_id": _id(charge.get("customer")),
        "refund_ids": ",".join(r for r in refund_ids if r) or None,
        "amount": _amount(charge, "amount", currency),
        "amount_refunded": _amount(charge, "amount_refunded", currency),
        "currency": currency,
        "status": text(charge.get("status")),
        "email": text(billing.get("email")) or text(charge.get("receipt_email")),
        "created_at": unix_datetime(charge, "created", OBJECT_PATH),
    }


def major_units(amount: int, currency: str | None) -> str:
    """Return a Stripe amount in minor units as major units: 149900 INR -> '1499.00', 500 JPY -> '500.00'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"an amount in minor units must be a whole number, not {amount!r}")
    code = (currency or "").upper()
    if code in ZERO_DECIMAL:
        return f"{Decimal(amount):.2f}"
    if code in THREE_DECIMAL:
        return f"{Decimal(amount) / 1000:.3f}"
    return f"{Decimal(amount) / 100:.2f}"


def _object(payload: Payload, expected: str) -> Mapping[str, Any]:
    found = required_object(payload, OBJECT_PATH)
    if found.get("object") not in (None, expected):
        raise TransformError(f"{OBJECT_PATH} is a {found.get('object')!r}, not a {expected!r}")
    return found


def _currency(entity: Mapping[str, Any]) -> str | None:
    currency = text(entity.get("currency"))
    return currency.upper() if currency else None


def _amount(entity: Mapping[str, Any], key: str, currency: str | None) -> str | None:
    return formatted_at(lambda amount: major_units(amount, currency), entity, key, OBJECT_PATH)


def _id(value: Any) -> str | None:
    """Return an id whether Stripe sent it as a string or as an expanded object."""
    if isinstance(value, Mapping):
        return text(value.get("id"))
    return text(value)


SOURCE = SourceKind(
    name="stripe",
    content_type="application/json",
    signature=TimestampedHexSignature("Stripe-Signature", tolerance_seconds=300),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
