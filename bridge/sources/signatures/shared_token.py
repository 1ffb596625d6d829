"""A shared secret token, sent as it is in a header or in the URL: for providers that sign nothing.

IDfy, HyperVerge and Signzy publish no signing scheme. A token proves only
that the sender knows it: it covers no byte of the body, signs no time, and
anyone who sees one delivery (a proxy log, a browser history) can post any
body with it. `check-config` says so for every source that uses it; pair it
with the source's `allowed_ips`, and confirm a result over the provider's
API before acting on money or identity.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

DEFAULT_HEADER = "X-Webhook-Token"
# A token is all that authenticates these sources: refuse one short enough to guess.
MIN_TOKEN_LENGTH = 16


class SharedToken:
    """The source's secret, in a header (`in_path=False`) or as /webhooks/<name>/<token>."""

    tolerance_seconds: float | None = None

    def __init__(self, in_path: bool, header: str = DEFAULT_HEADER) -> None:
        self.in_path = in_path
        self.header = header

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless the header carries one of the secrets (the path had no token)."""
        if self.in_path:
            raise SignatureError(
                "missing_token", "this source takes its token in the URL: post to /webhooks/<source>/<token>"
            )
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_token", f"the {self.header} header is missing")
        self._compare(received, secrets, f"the {self.header} header")

    def verify_path_token(self, token: str, secrets: Sequence[str]) -> None:
        """Raise SignatureError unless the URL's last segment is one of the secrets."""
        if not self.in_path:
            raise SignatureError(
                "unexpected_token", f"this source takes its token in the {self.header} header, not the URL"
            )
        self._compare(token, secrets, "the URL's token")

    def secret_problem(self, secret: str) -> str | None:
        """Refuse a token short enough to guess, without showing it."""
        if len(secret) < MIN_TOKEN_LENGTH:
            return (
                f"is shorter than {MIN_TOKEN_LENGTH} characters; a token is all that authenticates "
                "this source: use 32 or more random ones (openssl rand -hex 24)"
            )
        return None

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers a provider would send (none when the token rides in the URL)."""
        return {} if self.in_path else {self.header: secret}

    @staticmethod
    def _compare(received: str, secrets: Sequence[str], where: str) -> None:
        # Digests of equal length: compare_digest then leaks neither content nor length.
        digest = hashlib.sha256(received.encode("utf-8", "replace")).digest()
        expected = [hashlib.sha256(secret.encode("utf-8")).digest() for secret in secrets]
        if not any([hmac.compare_digest(digest, candidate) for candidate in expected]):
            raise SignatureError("bad_token", f"{where} is not any configured token")
