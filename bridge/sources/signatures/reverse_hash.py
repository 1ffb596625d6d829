"""A gateway's reverse hash: SHA-512, hex, of the salt and form fields in a fixed order, in a `hash` field.

PayU and Easebuzz answer a payment with the form fields and a `hash` field
holding the SHA-512 of `SALT|status|...|txnid|key`: the fields in a documented
order, most significant last, joined by `|`. Each gateway is a subclass that
names its order; this class verifies, signs and re-signs for both.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from bridge.sources.payload import parse_form
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup


class ReverseHash:
    """A reverse pipe hash with the salt, carried in the form body's `hash` field, one salt per secret.

    It is weaker than an HMAC, and the bridge cannot make it stronger: an
    unkeyed SHA-512 over a string that holds the salt (the salt is protected
    only by being hashed with the rest), covering the ordered fields alone,
    with no timestamp, so a captured delivery can be replayed for ever (the
    idempotency key stops an exact replay from being queued twice).

    Because the signature is inside the body, sign() cannot make headers: tests
    and the workbench call resign() (through bridge.sources.senders.signed_delivery)
    or signed_form() to put a correct hash in the body, and sign() then returns {}
    for a body that already verifies.
    """

    # Who sends it, for messages.
    provider: str
    # The fields after SALT in the hashed string, in order; "" is a slot the formula always leaves blank.
    order: tuple[str, ...]
    # Fields of which the first sent non-empty goes in front of the string (PayU's additionalCharges).
    prefix_fields: tuple[str, ...] = ()
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
        expected = [self.digest(fields, salt).encode("ascii") for salt in secrets]
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
            raise ValueError(
                f"{self.provider} signs inside the body ({error.message}): use resign() first"
            ) from None
        return {}

    def resign(self, body: bytes, secret: str) -> bytes:
        """Return the form body with its hash field set for this salt, other fields as they were."""
        return self.signed_form(parse_form(body), secret)

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]:
        """Return the fields of this form whose change breaks the hash: the hashed ones and the hash."""
        hashed = {name for name in (*self.order, *self.prefix_fields) if name}
        return [name for name in fields if name in hashed or name == self.field]

    def digest(self, fields: Mapping[str, str], salt: str) -> str:
        """Return the hash of these form fields under a salt, lowercase hex; missing fields count as empty."""
        parts = [salt, *(fields.get(name, "") if name else "" for name in self.order)]
        prefix = next((fields[name] for name in self.prefix_fields if fields.get(name)), None)
        if prefix is not None:
            parts.insert(0, prefix)
        return hashlib.sha512("|".join(parts).encode("utf-8")).hexdigest()

    def signed_form(self, fields: Mapping[str, str], salt: str) -> bytes:
        """Return the url-encoded form the gateway would post: these fields and their hash (kept in place)."""
        signed = {**fields, self.field: self.digest(fields, salt)}
        return urlencode(signed).encode("ascii")
