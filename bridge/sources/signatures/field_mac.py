"""A MAC of one JSON field, carried in another field of the same body (Leegality's `mac`)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence

from bridge.sources.payload import parse_json_object
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup


class FieldMac:
    """HMAC (hex) of one top-level JSON field's text, in another top-level field: a partial MAC.

    It is much weaker than an HMAC of the body, and the bridge cannot make it
    stronger: only `covered` is covered. Every other field (the status, the
    invitee, the event) can be changed without breaking it, no time is signed,
    and a captured delivery can be replayed for ever; the idempotency key stops
    an exact replay from being queued twice. Treat a delivery as "the sender
    knows the salt and this id", and re-fetch the record from the provider
    before acting on it. Hex may arrive in either case.

    Because the MAC is inside the body, sign() cannot make headers: tests and
    the workbench call resign() (through bridge.sources.senders.signed_delivery),
    and sign() returns {} for a body that already verifies.
    """

    tolerance_seconds: float | None = None

    def __init__(self, covered: str, field: str, algorithm: str = "sha1") -> None:
        self.covered = covered
        self.field = field
        self.algorithm = algorithm

    def covered_fields(self, fields: Mapping[str, str]) -> list[str]:
        """Return the one field a changed byte is caught in (the contract test flips a byte of each)."""
        return [self.covered]

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the body's MAC field matches its covered field under any secret."""
        try:
            payload = parse_json_object(body)
        except ValueError as error:
            raise SignatureError(
                "bad_signature", f"the body {error}, so its {self.field} cannot be checked"
            ) from None
        received = payload.get(self.field)
        if not isinstance(received, str) or not received.strip():
            raise SignatureError("missing_signature", f"the body has no {self.field} field")
        covered = payload.get(self.covered)
        if not isinstance(covered, str) or not covered:
            raise SignatureError(
                "bad_signature", f"the body has no {self.covered} text for its {self.field} to cover"
            )
        received_bytes = received.strip().lower().encode("ascii", "replace")
        expected = [self.digest(covered, secret).encode("ascii") for secret in secrets]
        # Every secret is compared, each in constant time: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {self.field} field does not match {self.covered} under any configured secret",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return no headers for a body whose MAC already matches this secret; refuse any other body."""
        try:
            self.verify(body, {}, [secret], now)
        except SignatureError as error:
            raise ValueError(
                f"this scheme signs inside the body ({error.message}): use resign() first"
            ) from None
        return {}

    def resign(self, body: bytes, secret: str) -> bytes:
        """Return the JSON body with its MAC field set for this secret, other fields as they were."""
        payload = parse_json_object(body)
        covered = payload.get(self.covered)
        if not isinstance(covered, str):
            raise ValueError(f"the body has no {self.covered} text to sign")
        payload[self.field] = self.digest(covered, secret)
        return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def digest(self, covered: str, secret: str) -> str:
        """Return the MAC of the covered field's text under a secret, lowercase hex."""
        return hmac.new(secret.encode("utf-8"), covered.encode("utf-8"), self.algorithm).hexdigest()
