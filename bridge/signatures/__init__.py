"""Webhook signature schemes: each verifies over the raw bytes and has a sign() twin for tests."""

from __future__ import annotations

from bridge.signatures.errors import SignatureError
from bridge.signatures.hmac_header import HmacSignature, SignedTimestamp
from bridge.signatures.payu_hash import PayuReverseHash
from bridge.signatures.timestamped_hex import TimestampedHexSignature

__all__ = ["HmacSignature", "PayuReverseHash", "SignatureError", "SignedTimestamp", "TimestampedHexSignature"]
