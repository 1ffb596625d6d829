"""Webhook signature schemes: each verifies over the raw bytes and has a sign() twin for tests."""

from __future__ import annotations

from bridge.signatures.errors import SignatureError
from bridge.signatures.hex_body import HexHmacBodySignature
from bridge.signatures.timestamped_hex import TimestampedHexSignature

__all__ = ["HexHmacBodySignature", "SignatureError", "TimestampedHexSignature"]
