"""HMAC-SHA256, hex, over "{t}.{raw body}", in a `t=<unix>,v1=<hex>` header."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

SCHEME = "v1"
# Whole seconds only: "+5", "-5", " 5" and "1_000" are not timestamps a provider sends.
TIMESTAMP = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class SignedGroup:
    """One `t=...,v1=...[,v1=...]` group: a timestamp and the signatures made with it."""

    timestamp: int
    signatures: tuple[str, ...]


class TimestampedHexSignature:
    """A signed timestamp and one or more hex HMACs in one header (Stripe, Persona, Calendly).

    The signed string is `f"{t}.{body}"`, keyed with the secret's UTF-8 bytes
    as given (Stripe's `whsec_...` is not base64-decoded). The header is
    accepted when any `v1` of any group matches under any configured secret
    and that group's `t` is within `tolerance_seconds` of now, either way:
    Stripe sends several `v1` while a secret is being rolled, and Persona two
    space-separated groups (`group_separator=" "`) while one is rotated.
    `v0` and unknown keys are ignored. A signature is checked before its age,
    so only a holder of the secret learns that a timestamp is stale.
    """

    def __init__(
        self, header: str, tolerance_seconds: float = 300, group_separator: str | None = None
    ) -> None:
        self.header = header
        self.tolerance_seconds: float | None = tolerance_seconds
        self.group_separator = group_separator

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless a fresh group of the header matches the body under any secret."""
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.header} header is missing")
        groups = self.parse(received)
        stale = False
        for group in groups:
            if not self._matches(body, group, secrets):
                continue
            if self._fresh(group.timestamp, now):
                return
            stale = True
        if stale:
            raise SignatureError(
                "stale_timestamp",
                f"the {self.header} timestamp is more than {self.tolerance_seconds:g} s from now",
            )
        raise SignatureError(
            "bad_signature",
            f"the {self.header} header does not match the body under any configured secret",
        )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a provider would send with this body at time now (one group)."""
        timestamp = int(now)
        return {self.header: f"t={timestamp},{SCHEME}={self._digest(body, timestamp, secret)}"}

    def parse(self, value: str) -> list[SignedGroup]:
        """Return the header's groups, or raise SignatureError naming it malformed."""
        texts = value.split(self.group_separator) if self.group_separator else [value]
        groups = [self._group(text) for text in texts if text.strip()]
        if not groups:
            raise self._malformed("holds no t=...,v1=... group")
        return groups

    def _group(self, text: str) -> SignedGroup:
        timestamps: list[str] = []
        signatures: list[str] = []
        for item in text.split(","):
            if not item.strip():
                continue  # a stray comma, as Stripe's own parser allows
            key, equals, value = item.strip().partition("=")
            if not equals:
                raise self._malformed("has an item that is not key=value")
            if key == "t":
                timestamps.append(value)
            elif key == SCHEME:
                signatures.append(value)
        if len(timestamps) != 1 or not TIMESTAMP.fullmatch(timestamps[0]):
            raise self._malformed("needs exactly one t=<unix seconds> in each group")
        if not signatures:
            raise self._malformed(f"has no {SCHEME}= signature")
        return SignedGroup(int(timestamps[0]), tuple(signatures))

    def _matches(self, body: bytes, group: SignedGroup, secrets: Sequence[str]) -> bool:
        received = [s.lower().encode("ascii", "replace") for s in group.signatures]
        for secret in secrets:
            expected = self._digest(body, group.timestamp, secret).encode("ascii")
            # No early exit inside one secret: every v1 is compared, in constant time each.
            if any([hmac.compare_digest(expected, signature) for signature in received]):
                return True
        return False

    def _fresh(self, timestamp: int, now: float) -> bool:
        return self.tolerance_seconds is None or abs(now - timestamp) <= self.tolerance_seconds

    def _malformed(self, problem: str) -> SignatureError:
        return SignatureError("bad_signature_header", f"the {self.header} header {problem}")

    @staticmethod
    def _digest(body: bytes, timestamp: int, secret: str) -> str:
        signed = str(timestamp).encode("ascii") + b"." + body
        return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
