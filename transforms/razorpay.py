"""Razorpay: payments, refunds and orders.

Signature: `X-Razorpay-Signature`, hex HMAC-SHA256 of the raw body under the
webhook secret (not the API key secret). No timestamp is signed. Razorpay
keeps retrying old events with the old secret after a rotation, so keep the
previous secret configured for a day. Idempotency: the `x-razorpay-event-id`
header, unique per event; a hash of the body when it is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.formats import lsq_datetime, rupees_from_paise
from bridge.signatures import HmacSignature
from bridge.sources import (
    HeaderLookup,
    Payload,
    SourceKind,
    TransformError,
    Values,
    body_hash_key,
)
from bridge.values import formatted, text

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

EVENT_VALUES = {
    "payment.captured": PAYMENT_VALUES,
    "payment.failed": PAYMENT_VALUES,
    "refund.processed": REFUND_VALUES,
    "order.paid": ORDER_VALUES,
}


def idempotency_key(headers: HeaderLookup, body: bytes) -> str:
    """Return Razorpay's event id, or a hash of the body when the header is absent."""
    event_id = (headers.get("x-razorpay-event-id") or "").strip()
    return event_id or body_hash_key(body)


def event_type(payload: Payload) -> str | None:
    """Return the event's type, e.g. 'payment.captured'."""
    value = payload.get("event")
    return value if isinstance(value, str) else None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Razorpay event."""
    common = {"event_at": _datetime(payload, "created_at", "event")}
    if event_type in ("payment.captured", "payment.failed"):
        return [{**common, **payment_values(_entity(payload, "payment"))}]
    if event_type == "refund.processed":
        return [{**common, **refund_values(_entity(payload, "refund"))}]
    if event_type == "order.paid":
        order = _entity(payload, "order")
        return [
            {
                **common,
                **payment_values(_entity(payload, "payment")),
                "order_amount": _rupees(order, "amount_paid", "order"),
                "order_receipt": text(order.get("receipt")),
                "order_status": text(order.get("status")),
            }
        ]
    raise TransformError(f"razorpay has no transform for {event_type!r}")


def payment_values(payment: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a payment entity."""
    return {
        "payment_id": _required_text(payment, "id", "payment"),
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
        "paid_at": _datetime(payment, "created_at", "payment"),
    }


def refund_values(refund: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the values of a refund entity."""
    return {
        "refund_id": _required_text(refund, "id", "refund"),
        "payment_id": text(refund.get("payment_id")),
        "amount": _rupees(refund, "amount", "refund"),
        "currency": text(refund.get("currency")),
        "status": text(refund.get("status")),
        "speed": text(refund.get("speed_processed")),
        "refunded_at": _datetime(refund, "created_at", "refund"),
    }


def _entity(payload: Payload, name: str) -> Mapping[str, Any]:
    entity: Any = payload
    for key in ("payload", name, "entity"):
        entity = entity.get(key) if isinstance(entity, Mapping) else None
    if not isinstance(entity, Mapping):
        raise TransformError(f"payload.{name}.entity is missing")
    return entity


def _required_text(entity: Mapping[str, Any], key: str, where: str) -> str:
    value = text(entity.get(key))
    if not value:
        raise TransformError(f"payload.{where}.entity.{key} is missing")
    return value


def _rupees(entity: Mapping[str, Any], key: str, where: str) -> str | None:
    return formatted(rupees_from_paise, entity.get(key), f"payload.{where}.entity.{key}")


def _datetime(entity: Mapping[str, Any], key: str, where: str) -> str | None:
    return formatted(lsq_datetime, entity.get(key), f"{where}.{key}")


SOURCE = SourceKind(
    name="razorpay",
    content_type="application/json",
    signature=HmacSignature("X-Razorpay-Signature"),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
