"""Webhook signature schemes: each verifies over the raw bytes and has a sign() twin for tests."""

from __future__ import annotations

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.hmac_header import HmacSignature, SignedTimestamp
from bridge.sources.signatures.payu_hash import PayuReverseHash
from bridge.sources.signatures.timestamped_hex import TimestampedHexSignature

__all__ = ["HmacSignature", "PayuReverseHash", "SignatureError", "SignedTimestamp", "TimestampedHexSignature"]
