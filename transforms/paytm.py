"""Paytm Payment Gateway: payment status webhooks (form-encoded, not JSON).

Signature: the body's `CHECKSUMHASH` field (bridge.sources.signatures.paytm_checksum):
hex SHA-256 of the other values by sorted key name, joined by `|`, with a random
4-character salt, AES-CBC encrypted with the merchant key (fixed IV) and base64.
The configured secret is the merchant key (16 characters). The bridge decrypts
and compares the hash; it covers every value but not the key names, signs no
timestamp, and a captured delivery can be replayed. Paytm advises confirming
with its Transaction Status API before fulfilling. Retries are [unconfirmed].

Refund webhooks are left out: they are JSON `{head: {signature}, body: {...}}`,
and which exact string `head.signature` covers (the body's bytes as sent, or a
re-serialisation of the body object) is [unconfirmed]. A verifier built on a
guess would refuse every real refund or, worse, accept what Paytm never signed;
a `paytm_refund` kind needs one real signed refund to settle it first.
`ENC_DATA` (a merchant's opt-in encryption of the fields) is [unconfirmed] too:
such a post verifies over the fields sent, but its values are not read.

Idempotency key: `TXNID:<TXNID>:<STATUS>` (Paytm's transaction id and the
outcome, both under the checksum; a transaction first posted PENDING and then
TXN_SUCCESS is two events, which is our inference); a hash of the body without
a TXNID.

Event types are the `STATUS` field: `TXN_SUCCESS`, `TXN_FAILURE` and `PENDING`.
Amounts are rupees as text (`TXNAMOUNT`, `1.00`), written with two decimals.
`TXNDATE` is India time as `YYYY-MM-DD HH:MM:SS`, Paytm adding a fraction such
as `.0` (format and zone [unconfirmed]; the fraction is dropped), and becomes UTC.

Opportunity: `MERC_UNQ_REF`, the merchant's own reference set when creating the
transaction (bridge.example.toml); ORDERID is the merchant's too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bridge.sources.formats import rupees, utc_from_ist
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures.paytm_checksum import PaytmChecksum
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, formatted, text

CONTENT_TYPE = "application/x-www-form-urlencoded"
# A trailing fraction of a second, as in Paytm's "2025-11-27 14:05:31.0".
FRACTION = re.compile(r"\.[0-9]{1,6}$")

PAYMENT_VALUES = (
    "txn_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "resp_code",
    "resp_msg",
    "payment_mode",
    "bank_txn_id",
    "bank_name",
    "gateway_name",
    "cust_id",
    "merc_unq_ref",
    "txn_date",
)

EVENT_VALUES = {
    "TXN_SUCCESS": PAYMENT_VALUES,
    "TXN_FAILURE": PAYMENT_VALUES,
    "PENDING": PAYMENT_VALUES,
}
# Value names and the form fields they are read from, as sent.
FIELDS = {
    "txn_id": "TXNID",
    "order_id": "ORDERID",
    "currency": "CURRENCY",
    "status": "STATUS",
    "resp_code": "RESPCODE",
    "resp_msg": "RESPMSG",
    "payment_mode": "PAYMENTMODE",
    "bank_txn_id": "BANKTXNID",
    "bank_name": "BANKNAME",
    "gateway_name": "GATEWAYNAME",
    "cust_id": "CUSTID",
    "merc_unq_ref": "MERC_UNQ_REF",
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return TXNID:<id>:<STATUS> (both under the checksum), else a hash of the body."""
    return composite_key(payload, body, "TXNID", "STATUS", prefix="TXNID:")


def event_type(payload: Payload) -> str | None:
    """Return the transaction's STATUS as sent, e.g. 'TXN_SUCCESS'."""
    value = (text(payload.get("STATUS")) or "").strip()
    return value or None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one Paytm payment status webhook."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"paytm has no transform for {event_type!r}")
    values: dict[str, str | None] = {
        name: form_value(payload, field, null_text=True) for name, field in FIELDS.items()
    }
    if values["txn_id"] is None:
        raise TransformError("the form has no TXNID")
    amount = form_value(payload, "TXNAMOUNT", null_text=True)
    if amount is None:
        raise TransformError("the form has no TXNAMOUNT")
    values["amount"] = formatted(rupees, amount, "TXNAMOUNT")
    txn_date = form_value(payload, "TXNDATE", null_text=True)
    values["txn_date"] = formatted(_utc_from_txndate, txn_date, "TXNDATE")
    return [values]


def _utc_from_txndate(value: str) -> str:
    """Return Paytm's India-time TXNDATE, its fraction of a second dropped, as LeadSquared's UTC time."""
    return utc_from_ist(FRACTION.sub("", value.strip()))



SOURCE = SourceKind(
    name="paytm",
    content_type=CONTENT_TYPE,
    signature=PaytmChecksum(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
)
