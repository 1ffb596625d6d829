"""HMAC-SHA256 of the raw body in one header, hex (Razorpay, Onfido, Digio) or base64 (Setu)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Literal

from bridge.signatures.errors import SignatureError
from bridge.sources import HeaderLookup


class BodyHmacSignature:
    """HMAC-SHA256 of the raw body, hex or standard base64, in one header.

    No timestamp is signed, so these schemes cannot reject a replay: the
    idempotency key is what stops a replayed delivery from being queued twice.
    """

    tolerance_seconds: float | None = None

    def __init__(self, header: str, encoding: Literal["hex", "base64"] = "hex") -> None:
        self.header = header
        self.encoding = encoding

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the header matches the body under any secret."""
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.header} header is missing")
        # Hex may arrive in either case; base64 is case-sensitive and compared as sent.
        if self.encoding == "hex":
            received = received.lower()
        received_bytes = received.encode("ascii", "replace")
        expected = [self._digest(body, secret).encode("ascii") for secret in secrets]
        # Every secret is compared, each in constant time: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {self.header} header does not match the body under any configured secret",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a provider would send with this body."""
        return {self.header: self._digest(body, secret)}

    def _digest(self, body: bytes, secret: str) -> str:
        mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256)
        return mac.hexdigest() if self.encoding == "hex" else base64.b64encode(mac.digest()).decode("ascii")
