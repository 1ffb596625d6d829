"""An HMAC of the raw body, or of a timestamp and the body, in one header: hex or base64.

Razorpay, Onfido, Digio, Setu, Cashfree, Meta, Zoom, GitHub-style senders and any
provider configured as the generic `hmac` kind are this scheme with
different constants.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

ALGORITHMS = ("sha1", "sha256", "sha512")
Encoding = Literal["hex", "base64"]
# Whole units only: "+5", "1_000" and "1.5e12" are not timestamps a provider sends.
TIMESTAMP = re.compile(r"[0-9]{1,16}")


@dataclass(frozen=True)
class SignedTimestamp:
    """A timestamp header the provider signs ahead of the body, and how far it may be from now."""

    header: str
    # The bytes between the timestamp and the body in the signed string ("" for Cashfree).
    separator: str = "."
    # 1 for Unix seconds, 1000 for milliseconds.
    units_per_second: int = 1
    tolerance_seconds: float = 300
    # The bytes ahead of the timestamp in the signed string ("v0:" for Zoom's "v0:{ts}:{body}").
    lead: str = ""


class HmacSignature:
    """An HMAC in one header, over the raw body or over `{timestamp}{separator}{body}`.

    The key is the secret's UTF-8 bytes as given. One signature per delivery:
    a rotation is covered by trying each configured secret, every one in
    constant time. Without a signed timestamp a replay cannot be refused by
    age, and the idempotency key is what stops it being queued twice. With one,
    the signature is checked before the age, so only a holder of the secret
    learns that a timestamp is stale.
    """

    def __init__(
        self,
        header: str,
        algorithm: str = "sha256",
        encoding: Encoding = "hex",
        prefix: str = "",
        timestamp: SignedTimestamp | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
        self.header = header
        self.algorithm = algorithm
        self.encoding = encoding
        self.prefix = prefix
        self.timestamp = timestamp
        self.tolerance_seconds: float | None = timestamp.tolerance_seconds if timestamp else None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the header matches the body (and timestamp) under any secret."""
        received = self._received(headers)
        stamp = self._stamp(headers)
        signed = self._signed(stamp, body)
        expected = [self._digest(signed, secret).encode("ascii") for secret in secrets]
        received_bytes = received.encode("ascii", "replace")
        # Every secret is compared, each in constant time: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            covered = "timestamp and body" if self.timestamp else "body"
            raise SignatureError(
                "bad_signature",
                f"the {self.header} header does not match the {covered} under any configured secret",
            )
        if self.timestamp and stamp is not None and not self._fresh(int(stamp), now):
            raise SignatureError(
                "stale_timestamp",
                f"the {self.timestamp.header} header is more than {self.timestamp.tolerance_seconds:g} s "
                "from now",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a provider would send with this body at time now."""
        headers = {}
        stamp = None
        if self.timestamp:
            stamp = str(round(now * self.timestamp.units_per_second))
            headers[self.timestamp.header] = stamp
        headers[self.header] = self.prefix + self._digest(self._signed(stamp, body), secret)
        return headers

    def _received(self, headers: HeaderLookup) -> str:
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.header} header is missing")
        if self.prefix:
            if not received.startswith(self.prefix):
                raise SignatureError(
                    "bad_signature_header", f"the {self.header} header must start with {self.prefix!r}"
                )
            received = received[len(self.prefix) :]
        # Hex may arrive in either case; base64 is case-sensitive and compared as sent.
        return received.lower() if self.encoding == "hex" else received

    def _stamp(self, headers: HeaderLookup) -> str | None:
        if self.timestamp is None:
            return None
        stamp = (headers.get(self.timestamp.header) or "").strip()
        if not stamp:
            raise SignatureError("missing_signature", f"the {self.timestamp.header} header is missing")
        if not TIMESTAMP.fullmatch(stamp):
            unit = "seconds" if self.timestamp.units_per_second == 1 else "milliseconds"
            raise SignatureError(
                "bad_signature_header", f"the {self.timestamp.header} header is not Unix {unit}"
            )
        return stamp

    def _signed(self, stamp: str | None, body: bytes) -> bytes:
        if self.timestamp is None or stamp is None:
            return body
        lead = self.timestamp.lead.encode("utf-8")
        return lead + stamp.encode("ascii") + self.timestamp.separator.encode("utf-8") + body

    def _fresh(self, stamp: int, now: float) -> bool:
        assert self.timestamp is not None
        return abs(now - stamp / self.timestamp.units_per_second) <= self.timestamp.tolerance_seconds

    def _digest(self, signed: bytes, secret: str) -> str:
        mac = hmac.new(secret.encode("utf-8"), signed, self.algorithm)
        return mac.hexdigest() if self.encoding == "hex" else base64.b64encode(mac.digest()).decode("ascii")
