"""PayU India's reverse hash: SHA-512, hex, of the salt and some form fields, in the body's `hash` field."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from bridge.sources.payload import parse_form
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

# The fields after SALT|status in the reverse hash string, in order. The five
# empty strings are udf10..udf6, which PayU's documented formula leaves blank.
HASHED_FIELDS = (
    *("", "", "", "", ""),
    *("udf5", "udf4", "udf3", "udf2", "udf1"),
    *("email", "firstname", "productinfo", "amount", "txnid", "key"),
)
# PayU names the convenience fee both ways; when sent, it is prepended to the string.
ADDITIONAL_CHARGES = ("additionalCharges", "additional_charges")


class PayuReverseHash:
    """PayU's response hash, carried in the form body's `hash` field, one salt per configured secret.

    This is weaker than an HMAC, and the bridge cannot make it stronger:
    - it is a plain, unkeyed SHA-512 of
      `SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key`
      (with `additionalCharges|` in front when that field is sent), so the salt is
      protected only by being part of the hashed string;
    - only those fields are covered: mihpayid, mode, bank_ref_num, addedon,
      error_Message and every other field can be changed without breaking the hash;
    - no timestamp is signed, so anyone who captured one delivery can replay it
      for ever; the idempotency key stops an exact replay from being queued twice.
    PayU advises confirming a payment with its verify_payment API before acting on
    it; the bridge only records activities, and must not be the thing that ships goods.

    The secret is the merchant salt. Because the signature is inside the body,
    sign() cannot make headers: tests and the workbench call resign() (through
    bridge.sources.senders.signed_delivery) or signed_form() to put a correct hash in
    the body, and sign() then returns {} for a body that already verifies.
    """

    field = "hash"
    tolerance_seconds: float | None = None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the body's hash field matches its fields under any salt."""
        try:
            fields = parse_form(body)
        except ValueError as error:
            raise SignatureError(
                "bad_signature", f"the body {error}, so its hash cannot be checked"
            ) from None
        received = fields.get(self.field, "").strip().lower()
        if not received:
            raise SignatureError("missing_signature", f"the body has no {self.field} field")
        received_bytes = received.encode("ascii", "replace")
        expected = [reverse_hash(fields, salt).encode("ascii") for salt in secrets]
        # Every salt is compared, each in constant time: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature", f"the {self.field} field does not match the form under any configured salt"
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return no headers for a body whose hash already matches this salt; refuse any other body."""
        try:
            self.verify(body, {}, [secret], now)
        except SignatureError as error:
            raise ValueError(f"PayU signs inside the body ({error.message}): use resign() first") from None
        return {}

    def resign(self, body: bytes, secret: str) -> bytes:
        """Return the form body with its hash field set for this salt, other fields as they were."""
        return signed_form(parse_form(body), secret)


def reverse_hash(fields: Mapping[str, str], salt: str) -> str:
    """Return PayU's response hash of these form fields under a salt, lowercase hex."""
    parts = [
        salt,
        fields.get("status", ""),
        *(fields.get(name, "") if name else "" for name in HASHED_FIELDS),
    ]
    charges = next((fields[name] for name in ADDITIONAL_CHARGES if fields.get(name)), None)
    if charges is not None:
        parts.insert(0, charges)
    return hashlib.sha512("|".join(parts).encode("utf-8")).hexdigest()


def signed_form(fields: Mapping[str, str], salt: str) -> bytes:
    """Return the url-encoded form PayU would post: these fields and their hash (kept in place if present)."""
    signed = {**fields, PayuReverseHash.field: reverse_hash(fields, salt)}
    return urlencode(signed).encode("ascii")
