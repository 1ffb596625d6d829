"""PayU India: payment success and failure webhooks (form-encoded, not JSON).

Signature: the body's `hash` field, PayU's reverse hash (bridge.sources.signatures.payu_hash):
plain SHA-512, lowercase hex, of
`SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key`,
with `additionalCharges|` in front when that field is sent. The configured secret is
the merchant salt. It is weaker than an HMAC: it covers only those fields, signs no
timestamp, and a captured delivery can be replayed; confirm payments that matter with
PayU's verify_payment API. The verifier parses the raw bytes itself; the receiver
keeps and stores exactly those bytes.

Idempotency key: `txnid:<txnid>:<status>` (the merchant's transaction id, which
the hash covers, and the outcome); a hash of the body without it. mihpayid
(PayU's id) is not covered by the hash: keyed on it, a replayer could mint a
new key by editing it, so it is only a value here. A merchant issues a fresh
txnid for each payment attempt, so one attempt's outcome is stored once.

Event types are the `status` field: `success` and `failure`. Amounts are rupees
as text (`100.00`): written with two decimals through Decimal, and a fraction
of a paisa or anything that is not a plain number is refused. `addedon` is
`YYYY-MM-DD HH:MM:SS` in India time (UTC+05:30, no offset sent) and becomes UTC.

Opportunity: a udf field the merchant sets when creating the payment (udf1 in
bridge.example.toml); udf1..udf5 are covered by the hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.formats import rupees, utc_from_ist
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures import PayuReverseHash
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

PAYMENT_VALUES = (
    "mihpayid",
    "txnid",
    "amount",
    "status",
    "mode",
    "bank_ref_num",
    "email",
    "firstname",
    "productinfo",
    "error_message",
    "added_at",
)

EVENT_VALUES = {
    "success": PAYMENT_VALUES,
    "failure": PAYMENT_VALUES,
}


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return txnid:<id>:<status> (both covered by the hash), else a hash of the body."""
    return composite_key(payload, body, "txnid", "status", prefix="txnid:")


def event_type(payload: Payload) -> str | None:
    """Return the payment's status, e.g. 'success'."""
    value = (text(payload.get("status")) or "").strip().lower()
    return value or None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one PayU payment response."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"payu has no transform for {event_type!r}")
    return [
        {
            "mihpayid": form_value(payload, "mihpayid"),
            "txnid": _required(payload, "txnid"),
            "amount": _amount(payload),
            "status": form_value(payload, "status"),
            "mode": form_value(payload, "mode"),
            "bank_ref_num": form_value(payload, "bank_ref_num"),
            "email": form_value(payload, "email"),
            "firstname": form_value(payload, "firstname"),
            "productinfo": form_value(payload, "productinfo"),
            "error_message": form_value(payload, "error_Message") or form_value(payload, "field9"),
            "added_at": _added_at(payload),
        }
    ]



def _required(payload: Payload, name: str) -> str:
    value = form_value(payload, name)
    if value is None:
        raise TransformError(f"the form has no {name}")
    return value


def _amount(payload: Payload) -> str:
    try:
        return rupees(_required(payload, "amount"))
    except ValueError as error:
        raise TransformError(f"amount: {error}") from None


def _added_at(payload: Payload) -> str | None:
    value = form_value(payload, "addedon")
    if value is None:
        return None
    try:
        return utc_from_ist(value)
    except ValueError as error:
        raise TransformError(f"addedon: {error}") from None


SOURCE = SourceKind(
    name="payu",
    content_type=CONTENT_TYPE,
    signature=PayuReverseHash(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
)
