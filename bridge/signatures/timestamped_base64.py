"""HMAC-SHA256, base64, over a timestamp header's text followed by the raw body (Cashfree PG)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from bridge.signatures.errors import SignatureError
from bridge.sources import HeaderLookup

# Whole milliseconds only: "+5", "1_000" and "1.5e12" are not timestamps Cashfree sends.
TIMESTAMP = re.compile(r"[0-9]{1,16}")


class TimestampedBase64Signature:
    """A timestamp and a base64 HMAC in two headers, the timestamp signed with the body (Cashfree PG).

    The signed bytes are the timestamp header's text immediately followed by
    the raw body, with no separator (Cashfree's PHP snippet writes
    `$timestamp.$payload`: that dot is PHP's concatenation, not a byte). The
    key is the secret's UTF-8 bytes. Cashfree sends one signature, so a
    rotation is covered by trying each configured secret. A signature is
    checked before its age, so only a holder of the secret learns that a
    timestamp is stale.
    """

    signature_header = "x-webhook-signature"
    timestamp_header = "x-webhook-timestamp"
    # Cashfree's timestamps are Unix milliseconds (e.g. 1746427759733).
    timestamp_units_per_second = 1000
    # Cashfree documents no window for PG webhooks; 300 s either way is our
    # choice (see transforms/cashfree.py): a signed timestamp nobody checks
    # stops no replay, and five minutes absorbs ordinary clock skew.
    tolerance_seconds: float | None = 300

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the signature matches timestamp and body under any secret, in time."""
        received = (headers.get(self.signature_header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.signature_header} header is missing")
        timestamp = (headers.get(self.timestamp_header) or "").strip()
        if not timestamp:
            raise SignatureError("missing_signature", f"the {self.timestamp_header} header is missing")
        if not TIMESTAMP.fullmatch(timestamp):
            raise SignatureError(
                "bad_signature_header", f"the {self.timestamp_header} header is not Unix milliseconds"
            )
        received_bytes = received.encode("ascii", "replace")
        expected = [self._digest(timestamp, body, secret).encode("ascii") for secret in secrets]
        # Every secret is compared, in constant time each: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {self.signature_header} header does not match the timestamp and body "
                "under any configured secret",
            )
        if not self._fresh(int(timestamp), now):
            raise SignatureError(
                "stale_timestamp",
                f"the {self.timestamp_header} header is more than {self.tolerance_seconds:g} s from now",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers Cashfree would send with this body at time now."""
        timestamp = str(round(now * self.timestamp_units_per_second))
        return {
            self.timestamp_header: timestamp,
            self.signature_header: self._digest(timestamp, body, secret),
        }

    def _fresh(self, timestamp: int, now: float) -> bool:
        if self.tolerance_seconds is None:
            return True
        return abs(now - timestamp / self.timestamp_units_per_second) <= self.tolerance_seconds

    @staticmethod
    def _digest(timestamp: str, body: bytes, secret: str) -> str:
        signed = timestamp.encode("ascii") + body
        mac = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")
