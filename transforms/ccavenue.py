"""CCAvenue: the order status posted after a payment (a form whose encResp is the encrypted response).

No signature: the form's `encResp` field is the whole response, AES-128-CBC
encrypted with the working key (the configured secret; see
bridge/sources/signatures/ccavenue_aes.py for the cipher, unconfirmed from a
primary source, and for how weak that is: unauthenticated, no timestamp,
replayable). A body that no configured working key decrypts to a form is
refused with 401. The bridge stores the decrypted response, never the
ciphertext or the key, so the samples in transforms/samples/ccavenue/ are
plaintext and the payload here is the decrypted `&`-joined response. CCAvenue
advises checking the decrypted order_id and amount against your order and
confirming with its orderStatusTracker API before acting on a payment.

Idempotency key: `tracking_id:order_status` (CCAvenue's reference number and
the outcome: the same order may report Aborted and later Success; inference,
retries are unconfirmed), else the body's hash. Event types are
`order_status` in lower case: `success`, `failure`, `aborted`, `invalid`.
Amounts are rupees as text, written with two decimals. `trans_date` is passed
on as CCAvenue writes it (its format is unconfirmed).

Opportunity: a merchant_param field the merchant sets on the order
(merchant_param1 in bridge.example.toml); merchant_param1..5 come back in the
response. Field names are from third-party docs of the decrypted response.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures.ccavenue_aes import CcavenueEncryptedResponse
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, text

CONTENT_TYPE = "application/x-www-form-urlencoded"
AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")

ORDER_VALUES = (
    "order_id",
    "tracking_id",
    "bank_ref_no",
    "order_status",
    "amount",
    "currency",
    "payment_mode",
    "card_name",
    "failure_message",
    "status_message",
    "billing_name",
    "billing_email",
    "billing_tel",
    "trans_date",
)
EVENT_VALUES = {status: ORDER_VALUES for status in ("success", "failure", "aborted", "invalid")}
# The transform's value names that are CCAvenue's field names as they are.
AS_SENT = tuple(name for name in ORDER_VALUES if name != "amount")


def idempotency_key(headers: HeaderLookup, body: bytes, payload: Payload) -> str:
    """Return tracking_id:order_status, else a hash of the (decrypted) body."""
    return composite_key(payload, body, "tracking_id", "order_status")


def event_type(payload: Payload) -> str | None:
    """Return the order's status in lower case, e.g. 'success'."""
    value = (text(payload.get("order_status")) or "").strip().lower()
    return value or None


def transform(event_type: str, payload: Payload) -> Sequence[Values]:
    """Return the named values of one decrypted CCAvenue order status."""
    if event_type not in EVENT_VALUES:
        raise TransformError(f"ccavenue has no transform for {event_type!r}")
    if _field(payload, "order_id") is None:
        raise TransformError("the response has no order_id")
    values: dict[str, str | None] = {name: _field(payload, name) for name in AS_SENT}
    values["amount"] = _amount(payload)
    return [values]


def rupees(value: str) -> str:
    """Return CCAvenue's rupee text with two decimals: '100' -> '100.00'; refuse anything else."""
    if not AMOUNT.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an amount in rupees with at most two decimals")
    return f"{Decimal(value.strip()):.2f}"


def _field(payload: Payload, name: str) -> str | None:
    """Return a response field, None when absent, blank or CCAvenue's 'null'."""
    value = (text(payload.get(name)) or "").strip()
    return value if value and value.lower() != "null" else None


def _amount(payload: Payload) -> str | None:
    value = _field(payload, "amount")
    if value is None:
        return None
    try:
        return rupees(value)
    except ValueError as error:
        raise TransformError(f"amount: {error}") from None


SOURCE = SourceKind(
    name="ccavenue",
    content_type=CONTENT_TYPE,
    signature=CcavenueEncryptedResponse(),
    event_values=EVENT_VALUES,
    idempotency_key=idempotency_key,
    event_type=event_type,
    transform=transform,
    parse=parse_form,
    sample_suffix=".form",
)
