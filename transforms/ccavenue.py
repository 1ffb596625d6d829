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
on as CCAvenue writes it, and read as India time in `DD/MM/YYYY HH:MM:SS`
(third-party docs; unconfirmed) into `transaction_at`, LeadSquared's UTC
time for a DateTime field: a trans_date of another form fails the event
naming it (replay it once the format is known), rather than put a day-first
date where LeadSquared reads month first.

Opportunity: a merchant_param field the merchant sets on the order
(merchant_param1 in bridge.example.toml); merchant_param1..5 come back in the
response. Field names are from third-party docs of the decrypted response.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.sources.formats import rupees, utc_from_ist_day_first
from bridge.sources.kind import SourceKind, TransformError, Values
from bridge.sources.payload import Payload, parse_form
from bridge.sources.signatures.ccavenue_aes import CcavenueEncryptedResponse
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.sources.values import composite_key, form_value, formatted, text

CONTENT_TYPE = "application/x-www-form-urlencoded"

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
    "transaction_at",
)
EVENT_VALUES = {status: ORDER_VALUES for status in ("success", "failure", "aborted", "invalid")}
# The transform's value names that are CCAvenue's field names as they are.
AS_SENT = tuple(name for name in ORDER_VALUES if name not in ("amount", "transaction_at"))


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
    if form_value(payload, "order_id", null_text=True) is None:
        raise TransformError("the response has no order_id")
    values: dict[str, str | None] = {name: form_value(payload, name, null_text=True) for name in AS_SENT}
    values["amount"] = formatted(rupees, form_value(payload, "amount", null_text=True), "amount")
    values["transaction_at"] = formatted(utc_from_ist_day_first, values["trans_date"], "trans_date")
    return [values]




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
