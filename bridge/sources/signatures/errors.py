"""The one error every signature scheme raises."""

from __future__ import annotations


class SignatureError(Exception):
    """A delivery failed verification; `reason` is a short code safe to show the sender."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
