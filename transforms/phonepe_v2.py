"""PhonePe PG v2 (Standard and Custom Checkout): dashboard webhooks for an order.

Authentication, not a signature: `Authorization` = hex SHA-256 of the
`username:password` the merchant chose in the PhonePe dashboard
(bridge/sources/signatures/phonepe.py). It never changes and covers no byte
of the body and no time: whoever sees one callback can post any body. The
configured secret is `username:password` exactly as entered there; compared
in constant time. check-config warns as for every token source: set
allowed_ips to PhonePe's addresses (the list is unconfirmed) and confirm an
order with PhonePe's order status API before acting on it. The dashboard's
newer HMAC option is unconfirmed (header, bytes, encoding) and not supported.

Payload: `{event, type, payload: {merchantId, merchantOrderId, orderId,
state, amount, expireAt, errorCode, detailedErrorCode, metaInfo: {udf1..5},
paymentDetails: [{transactionId, paymentMode, timestamp, amount, state,
...}]}}` (from PhonePe's SDK tests). PhonePe says to read `event` (not the
older `type`) and to trust only `payload.state`.

Idempotency key: `event:payload.orderId:payload.state`, since there is no
event id and PhonePe says to expect the same webhook more than once (an
inference), else the body's hash. Event types are `event`:
`checkout.order.completed`, `checkout.order.failed`, `pg.order.completed`,
`pg.order.failed`; refund and subscription events have other payloads and no
transform here, so map them only once one exists. Amounts are paise, written
as rupees; `expireAt` and `paymentDetails[].timestamp` are epoch milliseconds.
The values of a payment attempt are from the last entry of paymentDetails.

Opportunity: our choice, create the order with metaInfo.udf1 = the
LeadSquared opportunity id (udf1..udf5 are the merchant's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sources.formats import lsq_datetime, rupees_from_paise
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.signatures.phonepe import PhonePeAuthorization
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import (
    formatted,
    formatted_at,
    mapping_or_empty,
    required_object,
    required_text,
    text,
)

ORDER_VALUES = (
    "order_id",
    "merchant_order_id",
    "merchant_id",
    "state",
    "amount",
    "error_code",
    "detailed_error_code",
    "expire_at",
    "transaction_id",
    "payment_mode",
    "paid_at",
)
ORDER_EVENTS = ("checkout.order.completed", "checkout.order.failed", "pg.order.completed", "pg.order.failed")
EVENT_VALUES = {event: ORDER_VALUES for event in ORDER_EVENTS}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return event:payload.orderId:payload.state, else a hash of the body."""
    order = mapping_or_empty(payload.get("payload"))
    order_id = (text(order.get("orderId")) or "").strip()
    if not order_id:
        return body_hash_key(body)
    parts = [text(payload.get("event")), order_id, text(order.get("state"))]
    return ":".join((part or "").strip() for part in parts)


# The webhook's event, e.g. 'checkout.order.completed'.
event_type = event_type_at("event")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one PhonePe v2 order webhook."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"phonepe_v2 has no transform for {event_type!r}")
    order = required_object(payload, "payload")
    attempt = _last_attempt(order)
    return [
        {
            "order_id": required_text(order, "orderId", "payload"),
            "merchant_order_id": text(order.get("merchantOrderId")),
            "merchant_id": text(order.get("merchantId")),
            "state": text(order.get("state")),
            "amount": formatted_at(rupees_from_paise, order, "amount", "payload"),
            "error_code": text(order.get("errorCode")),
            "detailed_error_code": text(order.get("detailedErrorCode")),
            "expire_at": _millis(order.get("expireAt"), "payload.expireAt"),
            "transaction_id": text(attempt.get("transactionId")),
            "payment_mode": text(attempt.get("paymentMode")),
            "paid_at": _millis(attempt.get("timestamp"), "payload.paymentDetails.timestamp"),
        }
    ]


def _last_attempt(order: Mapping[str, Any]) -> Mapping[str, Any]:
    details = order.get("paymentDetails")
    if not isinstance(details, list) or not details:
        return {}
    return mapping_or_empty(details[-1])


def _millis(value: Any, path: str) -> str | None:
    """Return epoch milliseconds as LeadSquared's UTC time, None when absent."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = value / 1000
    return formatted(lsq_datetime, value, path)


SOURCE = SourceKind(
    name="phonepe_v2",
    content_type="application/json",
    signature=PhonePeAuthorization(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
