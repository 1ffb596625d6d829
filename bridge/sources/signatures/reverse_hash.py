"""A gateway's reverse hash: SHA-512, hex, of the salt and form fields in a fixed order, in a `hash` field.

PayU and Easebuzz answer a payment with the form fields and a `hash` field
holding the SHA-512 of `SALT|status|...|txnid|key`: the fields in a documented
order, most significant last, joined by `|`. Each gateway is a subclass that
names its order; this class checks and makes the hash for both.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from bridge.sources.signatures.form_field import FormFieldSignature


class ReverseHash(FormFieldSignature):
    """A reverse pipe hash with the salt, carried in the form body's `hash` field, one salt per secret.

    It is weaker than an HMAC, and the bridge cannot make it stronger: an
    unkeyed SHA-512 over a string that holds the salt (the salt is protected
    only by being hashed with the rest), covering the ordered fields alone,
    with no timestamp, so a captured delivery can be replayed for ever (the
    idempotency key stops an exact replay from being queued twice).
    """

    # The fields after SALT in the hashed string, in order; "" is a slot the formula always leaves blank.
    order: tuple[str, ...]
    # Fields of which the first sent non-empty goes in front of the string (PayU's additionalCharges).
    prefix_fields: tuple[str, ...] = ()
    field = "hash"
    secret_name = "salt"

    def matches(self, fields: Mapping[str, str], received: str, secrets: Sequence[str]) -> bool:
        """Return whether the hash (hex, either case) is right for these fields under any salt."""
        received_bytes = received.lower().encode("ascii", "replace")
        expected = [self.digest(fields, salt).encode("ascii") for salt in secrets]
        # Every salt is compared, each in constant time: no early exit tells which one is current.
        return any([hmac.compare_digest(candidate, received_bytes) for candidate in expected])

    def signature(self, fields: Mapping[str, str], secret: str) -> str:
        """Return the hash field's value: the digest under this salt."""
        return self.digest(fields, secret)

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
