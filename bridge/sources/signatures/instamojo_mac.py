"""Instamojo's webhook MAC: hex HMAC-SHA1 with the private salt over the other values, sorted by key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from bridge.sources.signatures.form_field import FormFieldSignature


class InstamojoMac(FormFieldSignature):
    """The `mac` form field: HMAC-SHA1, hex, over every other field's value, by key name, joined by `|`.

    Keys are ordered by their lower-case names and the message is built from
    whatever keys arrive (Instamojo may add some), so every value is covered.
    What is not covered: the key names themselves (a field renamed without
    changing the order still verifies) and where one value ends and the next
    begins (values are joined by `|` without escaping, so a `|` can move between
    neighbours). No timestamp is signed: a captured delivery can be replayed for
    ever; the idempotency key stops an exact replay from being queued twice.
    Instamojo calls the MAC "optional but recommended"; the bridge requires it.

    The secret is the account's private salt (Developers page). Rotation is [unconfirmed].
    """

    provider = "Instamojo"
    field = "mac"
    secret_name = "private salt"

    def matches(self, fields: Mapping[str, str], received: str, secrets: Sequence[str]) -> bool:
        """Return whether the MAC (hex, either case) is right for these fields under any salt."""
        received_bytes = received.lower().encode("ascii", "replace")
        expected = [self.signature(fields, salt).encode("ascii") for salt in secrets]
        # Every salt is compared, each in constant time: no early exit tells which one is current.
        return any([hmac.compare_digest(candidate, received_bytes) for candidate in expected])

    def signature(self, fields: Mapping[str, str], secret: str) -> str:
        """Return the MAC of these fields under a private salt, lowercase hex."""
        message = mac_message(fields, self.field)
        return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).hexdigest()

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]:
        """Return every field: each value is in the message, and the mac is the signature."""
        return list(fields)


def mac_message(fields: Mapping[str, str], mac_field: str = "mac") -> str:
    """Return the string Instamojo signs: every value but the mac's, by lower-case key, joined by `|`."""
    ordered = sorted((name for name in fields if name != mac_field), key=str.lower)
    return "|".join(fields[name] for name in ordered)
