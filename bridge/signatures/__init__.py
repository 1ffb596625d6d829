"""Webhook signature schemes: each verifies over the raw bytes and has a sign() twin for tests."""

from __future__ import annotations

from bridge.signatures.body_hmac import BodyHmacSignature
from bridge.signatures.errors import SignatureError
from bridge.signatures.payu_hash import PayuReverseHash
from bridge.signatures.timestamped_hex import TimestampedHexSignature

__all__ = ["BodyHmacSignature", "PayuReverseHash", "SignatureError", "TimestampedHexSignature"]
