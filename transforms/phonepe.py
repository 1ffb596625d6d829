"""PhonePe PG v1 (salt key and index): the server-to-server callback of a payment.

Signature: `X-VERIFY` = hex SHA-256 of the body's base64 `response` field
followed by the salt key, then `###` and the salt index, which says which of
the merchant's salt keys signed (bridge/sources/signatures/phonepe.py). A
plain hash with the key appended, not an HMAC; no timestamp is signed, so a
captured callback can be replayed, and PhonePe says a callback is "best case":
poll its check-status API before acting on a payment. The configured secret
is `<salt index>:<salt key>` (the bare salt key means index 1); put the other
keys in previous_secret_envs.

The body is `{"response": "<base64>"}`; once verified, the bridge stores the
decoded callback (a JSON object), so the samples in transforms/samples/phonepe/
are decoded callbacks and the payload here is `{success, code, message,
data: {merchantId, merchantTransactionId, transactionId, amount, state,
responseCode, paymentInstrument}}` (from PhonePe's SDK docs).

Idempotency key: `data.transactionId:code` (PhonePe's transaction id and the
outcome; an inference: PhonePe's retries of the PG callback are unconfirmed),
else the body's hash. Event types are `code`: `PAYMENT_SUCCESS`,
`PAYMENT_ERROR`, `PAYMENT_PENDING`, `PAYMENT_DECLINED` (the customer declined
the UPI request) and `PAYMENT_CANCELLED` (the merchant cancelled), as
PhonePe's S2S callback reference lists them. Amounts are paise, written as
rupees.

Opportunity: the callback carries nothing the merchant sets but
`merchantTransactionId`, so our choice is to create the payment with that
id = the LeadSquared opportunity id (one payment per opportunity), or keep a
mapping of your own.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.formats import rupees_from_paise
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, body_hash_key, event_type_at
from bridge.sources.signatures.phonepe import PhonePeSaltedHash
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import formatted_at, mapping_or_empty, required_object, required_text, text

PAYMENT_VALUES = (
    "merchant_id",
    "merchant_transaction_id",
    "transaction_id",
    "amount",
    "state",
    "code",
    "response_code",
    "message",
    "payment_type",
    "utr",
)
# PhonePe's callback codes: PAYMENT_DECLINED (by the customer) and PAYMENT_CANCELLED (by the
# merchant) are listed beside SUCCESS and ERROR in its S2S callback reference.
CODES = ("PAYMENT_SUCCESS", "PAYMENT_ERROR", "PAYMENT_PENDING", "PAYMENT_DECLINED", "PAYMENT_CANCELLED")
EVENT_VALUES = {code: PAYMENT_VALUES for code in CODES}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return data.transactionId:code, else a hash of the decoded callback."""
    transaction_id = (text(mapping_or_empty(payload.get("data")).get("transactionId")) or "").strip()
    code = (text(payload.get("code")) or "").strip()
    return f"{transaction_id}:{code}" if transaction_id else body_hash_key(body)


# The callback's code, e.g. 'PAYMENT_SUCCESS'.
event_type = event_type_at("code")


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one decoded PhonePe v1 payment callback."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"phonepe has no transform for {event_type!r}")
    data = required_object(payload, "data")
    instrument = mapping_or_empty(data.get("paymentInstrument"))
    return [
        {
            "merchant_id": text(data.get("merchantId")),
            "merchant_transaction_id": required_text(data, "merchantTransactionId", "data"),
            "transaction_id": text(data.get("transactionId")),
            "amount": formatted_at(rupees_from_paise, data, "amount", "data"),
            "state": text(data.get("state")),
            "code": text(payload.get("code")),
            "response_code": text(data.get("responseCode")),
            "message": text(payload.get("message")),
            "payment_type": text(instrument.get("type")),
            "utr": text(instrument.get("utr")),
        }
    ]


SOURCE = SourceKind(
    name="phonepe",
    content_type="application/json",
    signature=PhonePeSaltedHash(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
)
