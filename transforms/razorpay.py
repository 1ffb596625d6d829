"""Razorpay: payments, refunds, orders, payment links and subscriptions.

Signature: `X-Razorpay-Signature`, hex HMAC-SHA256 of the raw body under the
webhook secret (not the API key secret). No timestamp is signed. Razorpay
keeps retrying old events with the old secret after a rotation, so keep the
previous secret configured for a day. Idempotency: the `x-razorpay-event-id`
header, unique per event; a hash of the body when it is absent.

Delivery order is not guaranteed (`payment.captured` can come before
`payment.authorized`), so each event maps on its own, never as a state change.

Unconfirmed: whether Razorpay copies a payment link's or a subscription's
`notes` to the notes of the payments it creates. The payload shapes of
`payment_link.paid` and `subscription.charged` follow Razorpay's docs, which
do not settle it, so `bridge.example.toml` reads those two events'
opportunity id from the notes the merchant sets on the link or the
subscription itself, not from the payment's. The values here do not depend
on it: only the opportunity id is read from notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.formats import rupees_from_paise
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.signatures import HmacSignature
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, required_object, required_text, text, unix_datetime

PAYMENT_VALUES = (
    "payment_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "method",
    "email",
    "contact",
    "error_code",
    "error_description",
    "error_reason",
    "paid_at",
    "event_at",
)
REFUND_VALUES = (
    "refund_id",
    "payment_id",
    "amount",
    "currency",
    "status",
    "speed",
    "refunded_at",
    "event_at",
)
ORDER_VALUES = (*PAYMENT_VALUES, "order_amount", "order_receipt", "order_status")
PAYMENT_LINK_VALUES = (
    *ORDER_VALUES,
    "payment_link_id",
    "payment_link_amount",
    "payment_link_amount_paid",
    "payment_link_reference_id",
    "payment_link_short_url",
    "payment_link_status",
)
SUBSCRIPTION_VALUES = (
    *PAYMENT_VALUES,
    "subscription_id",
    "plan_id",
    "subscription_status",
    "paid_count",
    "period_start",
    "period_end",
    "next_charge_at",
)

EVENT_VALUES = {
    "payment.authorized": PAYMENT_VALUES,
    "payment.captured": PAYMENT_VALUES,
    "payment.failed": PAYMENT_VALUES,
    "refund.created": REFUND_VALUES,
    "refund.processed": REFUND_VALUES,
    "order.paid": ORDER_VALUES,
    "payment_link.paid": PAYMENT_LINK_VALUES,
    "subscription.charged": SUBSCRIPTION_VALUES,
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return Razorpay's event id, or a hash of the body when the header is absent."""
    event_id = (headers.get("x-razorpay-event-id") or "").strip()
    return event_id or body_hash_key(body)


# The event's type, e.g. 'payment.captured'.
event_type = event_type_at("event")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Razorpay event."""
    common = {"event_at": unix_datetime(payload, "created_at", "event")}
    if event_type in ("payment.authorized", "payment.captured", "payment.failed"):
        return [{**common, **payment_values(_entity(payload, "payment"))}]
    if event_type in ("refund.created", "refund.processed"):
        return [{**common, **refund_values(_entity(payload, "refund"))}]
    if event_type == "order.paid":
        payment = payment_values(_entity(payload, "payment"))
        return [{**common, **payment, **order_values(_entity(payload, "order"))}]
    if event_type == "payment_link.paid":
        payment = payment_values(_entity(payload, "payment"))
        order = order_values(_entity(payload, "order"))
        return [{**common, **payment, **order, **payment_link_values(_entity(payload, "payment_link"))}]
    if event_type == "subscription.charged":
        payment = payment_values(_entity(payload, "payment"))
        return [{**common, **payment, **subscription_values(_entity(payload, "subscription"))}]
    raise TransformError(f"razorpay has no transform for {event_type!r}")


def payment_values(payment: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a payment entity."""
    return {
        "payment_id": required_text(payment, "id", _entity_path("payment")),
        "order_id": text(payment.get("order_id")),
        "amount": _rupees(payment, "amount", "payment"),
        "currency": text(payment.get("currency")),
        "status": text(payment.get("status")),
        "method": text(payment.get("method")),
        "email": text(payment.get("email")),
        "contact": text(payment.get("contact")),
        "error_code": text(payment.get("error_code")),
        "error_description": text(payment.get("error_description")),
        "error_reason": text(payment.get("error_reason")),
        "paid_at": unix_datetime(payment, "created_at", "payment"),
    }


def refund_values(refund: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a refund entity."""
    return {
        "refund_id": required_text(refund, "id", _entity_path("refund")),
        "payment_id": text(refund.get("payment_id")),
        "amount": _rupees(refund, "amount", "refund"),
        "currency": text(refund.get("currency")),
        "status": text(refund.get("status")),
        "speed": text(refund.get("speed_processed")),
        "refunded_at": unix_datetime(refund, "created_at", "refund"),
    }


def order_values(order: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of an order entity: what was paid against it, its receipt and status."""
    return {
        "order_amount": _rupees(order, "amount_paid", "order"),
        "order_receipt": text(order.get("receipt")),
        "order_status": text(order.get("status")),
    }


def payment_link_values(link: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a payment link entity."""
    return {
        "payment_link_id": required_text(link, "id", _entity_path("payment_link")),
        "payment_link_amount": _rupees(link, "amount", "payment_link"),
        "payment_link_amount_paid": _rupees(link, "amount_paid", "payment_link"),
        "payment_link_reference_id": text(link.get("reference_id")),
        "payment_link_short_url": text(link.get("short_url")),
        "payment_link_status": text(link.get("status")),
    }


def subscription_values(subscription: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a subscription entity: its plan, how often it was paid, its billing period."""
    return {
        "subscription_id": required_text(subscription, "id", _entity_path("subscription")),
        "plan_id": text(subscription.get("plan_id")),
        "subscription_status": text(subscription.get("status")),
        "paid_count": text(subscription.get("paid_count")),
        "period_start": unix_datetime(subscription, "current_start", "subscription"),
        "period_end": unix_datetime(subscription, "current_end", "subscription"),
        "next_charge_at": unix_datetime(subscription, "charge_at", "subscription"),
    }


def _entity(payload: Payload, name: str) -> Mapping[str, Any]:
    return required_object(payload, _entity_path(name))


def _entity_path(name: str) -> str:
    # Ids and amounts are named by the entity's full path; times by the entity
    # alone (subscription.current_end), as the messages always have been.
    return f"payload.{name}.entity"


def _rupees(entity: Mapping[str, Any], key: str, name: str) -> str | None:
    return formatted_at(rupees_from_paise, entity, key, _entity_path(name))


SOURCE = SourceKind(
    name="razorpay",
    content_type="application/json",
    signature=HmacSignature("X-Razorpay-Signature"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
