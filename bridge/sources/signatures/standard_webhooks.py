"""Standard Webhooks (and Svix): `v1,<base64>` HMACs over "{id}.{timestamp}.{body}"."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

SECRET_PREFIX = "whsec_"
VERSION = "v1"
# Whole seconds only, as the spec's integer timestamp; "+5" and "1_000" are not one.
TIMESTAMP = re.compile(r"[0-9]{1,15}")
# Svix sends the same scheme under svix-* names; white-labelled Svix and the spec use webhook-*.
HEADER_PREFIXES = ("webhook", "svix")
TOLERANCE_SECONDS = 300
# The spec's secrets are 24 to 64 random bytes; a shorter key (an empty one from a
# truncated paste) would let anyone sign.
MIN_KEY_BYTES = 24


class StandardWebhooksSignature:
    """The symmetric scheme of standardwebhooks.com, v1.0.0.

    Headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
    `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>`
    entries so that a sender can sign with two secrets while one is rotated;
    `v1a` (asymmetric) and unknown versions are skipped. The signed string is
    `{id}.{timestamp}.{body}`. A secret is `whsec_` and base64 of the key,
    and the key is its decoded bytes (unlike Stripe's `whsec_`, which is used
    as text). The timestamp must be within 5 minutes of now, either way.
    """

    tolerance_seconds: float | None = TOLERANCE_SECONDS

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless a v1 signature matches id, timestamp and body under any secret."""
        prefix = header_prefix(headers)
        message_id, stamp, listed = (
            (headers.get(f"{prefix}-{name}") or "").strip() for name in ("id", "timestamp", "signature")
        )
        for name, value in (("id", message_id), ("timestamp", stamp), ("signature", listed)):
            if not value:
                raise SignatureError("missing_signature", f"the {prefix}-{name} header is missing")
        if not TIMESTAMP.fullmatch(stamp):
            raise SignatureError("bad_signature_header", f"the {prefix}-timestamp header is not Unix seconds")
        received = [
            signature.encode("ascii", "replace")
            for version, _, signature in (entry.partition(",") for entry in listed.split())
            if version == VERSION
        ]
        # A server that hands over undecodable header bytes as surrogates: such an id signs as
        # nothing a sender could have signed, so it fails the compare instead of raising.
        signed = f"{message_id}.{stamp}.".encode("utf-8", "surrogatepass") + body
        # Secrets were checked at start-up (secret_problem); one that cannot be a key never matches.
        keys = [secret_key(secret) for secret in secrets if self.secret_problem(secret) is None]
        expected = [self._digest(signed, key).encode("ascii") for key in keys]
        # Every pair is compared, each in constant time: no early exit tells which secret is current.
        if not any([hmac.compare_digest(e, r) for e in expected for r in received]):
            raise SignatureError(
                "bad_signature",
                f"the {prefix}-signature header has no v1 signature of this id, timestamp and body "
                "under any configured secret",
            )
        if abs(now - int(stamp)) > TOLERANCE_SECONDS:
            stale = f"the {prefix}-timestamp header is more than {TOLERANCE_SECONDS} s from now"
            raise SignatureError("stale_timestamp", stale)

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a sender would send with this body at time now."""
        stamp = str(int(now))
        message_id = "msg_" + hashlib.sha256(body).hexdigest()[:24]
        signed = f"{message_id}.{stamp}.".encode() + body
        return {
            "webhook-id": message_id,
            "webhook-timestamp": stamp,
            "webhook-signature": f"{VERSION},{self._digest(signed, secret_key(secret))}",
        }

    def secret_problem(self, secret: str) -> str | None:
        """Say what is wrong with a secret this scheme cannot use, without showing it."""
        try:
            key = secret_key(secret)
        except ValueError:
            return "is not whsec_ followed by base64; copy the secret exactly as the sender shows it"
        if len(key) < MIN_KEY_BYTES:
            return (
                f"decodes to {len(key)} bytes, fewer than the {MIN_KEY_BYTES} the spec requires; "
                "copy the whole secret as the sender shows it"
            )
        return None

    @staticmethod
    def _digest(signed: bytes, key: bytes) -> str:
        return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a `whsec_<base64>` secret (the prefix is optional, padding too)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("the secret is not whsec_ followed by base64") from None


def header_prefix(headers: HeaderLookup) -> str:
    """Return which header names a delivery uses, webhook-* or svix-*: the signed ones."""
    return next((p for p in HEADER_PREFIXES if headers.get(f"{p}-signature")), HEADER_PREFIXES[0])


def message_id(headers: HeaderLookup) -> str | None:
    """Return the signed message id of a delivery, from the same header set as its signature."""
    return (headers.get(f"{header_prefix(headers)}-id") or "").strip() or None
