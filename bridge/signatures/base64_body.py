"""HMAC-SHA256 of the raw body, base64, in one header."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from bridge.signatures.errors import SignatureError
from bridge.sources import HeaderLookup


class Base64HmacBodySignature:
    """HMAC-SHA256 of the raw body, standard base64 (with padding) in one header (Setu UPI).

    Base64 is case-sensitive, so the header is compared exactly as sent. No
    timestamp is signed, so these schemes cannot reject a replay: the
    idempotency key is what stops a replayed delivery from being queued twice.
    """

    tolerance_seconds: float | None = None

    def __init__(self, header: str) -> None:
        self.header = header

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the header matches the body under any secret."""
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.header} header is missing")
        received_bytes = received.encode("ascii", "replace")
        expected = [self._digest(body, secret).encode("ascii") for secret in secrets]
        # Every secret is compared, in constant time each: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {self.header} header does not match the body under any configured secret",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a provider would send with this body."""
        return {self.header: self._digest(body, secret)}

    @staticmethod
    def _digest(body: bytes, secret: str) -> str:
        mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")
