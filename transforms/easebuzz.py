"""Easebuzz: payment success and failure responses (form-encoded, not JSON), PayU's shape.

Signature: the body's `hash` field, Easebuzz's reverse hash
(bridge.sources.signatures.easebuzz_hash): plain SHA-512, lowercase hex, of
`SALT|status|udf10|...|udf1|email|firstname|productinfo|amount|txnid|key`. The
configured secret is the merchant salt. It is weaker than an HMAC: it covers
only those fields, signs no timestamp, and a captured delivery can be replayed;
confirm payments that matter with Easebuzz's transaction API. The fact sheet
found Easebuzz's browser response (`$_POST` in its PHP kit); a separate
"webhook" product with its own format is [unconfirmed].

Idempotency key: `txnid:<txnid>:<status>` (the merchant's transaction id, which
the hash covers, and the outcome); a hash of the body without it. Easebuzz's
own id (`easepayid`; the name is [unconfirmed]) is not covered by the hash:
keyed on it, a replayer could mint a new key by editing it, so it is only a
value here.

Event types are the `status` field: `success` and `failure` (other statuses,
such as a user's cancel, are [unconfirmed] and stored as ignored). Amounts are
rupees as text (`100.0`), written with two decimals. `addedon` (name and India
time [unconfirmed], as PayU's) becomes UTC. Field names outside the hash
(easepayid, mode, bank_ref_num, phone, addedon, error_Message) follow PayU's
and Easebuzz's kit and are [unconfirmed].

Opportunity: a udf field the merchant sets when creating the payment (udf1 in
bridge.example.toml); udf1..udf10 are covered by the hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.formats import rupees, utc_from_ist
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures.easebuzz_hash import EasebuzzReverseHash
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, formatted, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

PAYMENT_VALUES = (
    "easepayid",
    "txnid",
    "amount",
    "status",
    "mode",
    "bank_ref_num",
    "email",
    "phone",
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
    """Return the named values of one Easebuzz payment response."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"easebuzz has no transform for {event_type!r}")
    txnid = form_value(payload, "txnid")
    if txnid is None:
        raise TransformError("the form has no txnid")
    amount = form_value(payload, "amount")
    if amount is None:
        raise TransformError("the form has no amount")
    return [
        {
            "easepayid": form_value(payload, "easepayid"),
            "txnid": txnid,
            "amount": formatted(rupees, amount, "amount"),
            "status": form_value(payload, "status"),
            "mode": form_value(payload, "mode"),
            "bank_ref_num": form_value(payload, "bank_ref_num"),
            "email": form_value(payload, "email"),
            "phone": form_value(payload, "phone"),
            "firstname": form_value(payload, "firstname"),
            "productinfo": form_value(payload, "productinfo"),
            "error_message": form_value(payload, "error_Message"),
            "added_at": formatted(utc_from_ist, form_value(payload, "addedon"), "addedon"),
        }
    ]



SOURCE = SourceKind(
    name="easebuzz",
    content_type=CONTENT_TYPE,
    signature=EasebuzzReverseHash(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
)
