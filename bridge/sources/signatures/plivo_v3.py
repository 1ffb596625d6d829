"""Plivo's V3 signature: base64 HMAC-SHA256 over the URL, the sorted query and POST fields, and a nonce."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.public_url import check_public_url, form_pairs, query_pairs
from bridge.sources.signatures.scheme import HeaderLookup

HEADER = "X-Plivo-Signature-V3"
# The same signature made with the main account's token, for a resource a sub-account owns.
MAIN_ACCOUNT_HEADER = "X-Plivo-Signature-Ma-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"


class PlivoV3Signature:
    """Plivo's X-Plivo-Signature-V3 with X-Plivo-Signature-V3-Nonce, keyed with an Auth Token.

    Signed (as Plivo's SDK, plivo/utils/signature_v3.py, builds it for a POST):
    the public URL; then `?` and the query's fields, decoded and sorted,
    written `k=v&k=v`, when the request has a query or a form field; then `.`
    when it has both; then the form fields sorted by name, each value of a
    repeated field sorted, written `name` + `value` with no separators; then
    `.` and the nonce. The header may hold several comma-separated signatures;
    any one that matches under any configured token passes, and so does one
    in X-Plivo-Signature-Ma-V3 (configure the main account's token for it).

    How weak it is: the nonce is random, not a time, so no replay window can be
    enforced: a captured delivery verifies for ever. The idempotency key
    (CallUUID or MessageUUID and the status) stops a replay being queued
    twice. The signature covers the decoded fields, not the raw bytes, and no
    header but the nonce. Plivo's older V2 signature (the URL without its
    query, and the nonce) covers no field at all and is not accepted.
    """

    header = HEADER
    tolerance_seconds: float | None = None

    def __init__(self, public_url: str) -> None:
        self.public_url = check_public_url(public_url)

    def verify_request(
        self, body: bytes, headers: HeaderLookup, query: str, secrets: Sequence[str], now: float
    ) -> None:
        """Raise SignatureError unless a listed signature signs URL, query, form and nonce under any token."""
        listed = [(headers.get(name) or "").strip() for name in (HEADER, MAIN_ACCOUNT_HEADER)]
        if not any(listed):
            raise SignatureError("missing_signature", f"the {HEADER} header is missing")
        nonce = (headers.get(NONCE_HEADER) or "").strip()
        if not nonce:
            raise SignatureError("missing_signature", f"the {NONCE_HEADER} header is missing")
        if not nonce.isascii():
            # Plivo's nonces are digits; a header no sender writes must not reach the encoder.
            raise SignatureError("bad_signature_header", f"the {NONCE_HEADER} header is not ASCII")
        signed = self._base(body, query) + "." + nonce
        received = [s.strip().encode("ascii", "replace") for value in listed for s in value.split(",") if s]
        expected = [plivo_mac(signed, secret).encode("ascii") for secret in secrets]
        # Every pair is compared, each in constant time: no early exit tells which token is current.
        if not any([hmac.compare_digest(e, r) for e in expected for r in received]):
            raise SignatureError(
                "bad_signature",
                f"the {HEADER} header has no signature of the URL {self.public_url} (with this request's "
                "query), the form and the nonce under any configured auth token: check that "
                "scheme.public_url is the URL configured in Plivo",
            )

    def sign_request(self, body: bytes, secret: str, now: float) -> tuple[dict[str, str], str]:
        """Return the headers Plivo would send for a post to the public URL with no query."""
        nonce = f"{int(now * 1_000_000) % 10**20:020d}"
        try:
            signed = self._base(body, "") + "." + nonce
        except SignatureError as error:
            raise ValueError(error.message) from None
        return {HEADER: plivo_mac(signed, secret), NONCE_HEADER: nonce}, ""

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Verify a delivery posted to the public URL with no query."""
        self.verify_request(body, headers, "", secrets, now)

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers for a post to the public URL with no query."""
        return self.sign_request(body, secret, now)[0]

    def _base(self, body: bytes, query: str) -> str:
        try:
            fields = form_pairs(body)
        except ValueError as error:
            raise SignatureError(
                "bad_signature", f"the body {error}, so its signature cannot be checked"
            ) from None
        sorted_query = "&".join(f"{name}={value}" for name, value in _sorted_pairs(query_pairs(query)))
        base = self.public_url
        if sorted_query or fields:
            base += "?" + sorted_query
        if sorted_query and fields:
            base += "."
        return base + "".join(name + value for name, value in _sorted_pairs(fields))


def plivo_mac(signed: str, secret: str) -> str:
    """Return base64 HMAC-SHA256 of the signed text under an auth token, as Plivo's V2 and V3 use it."""
    mac = hmac.new(secret.encode("utf-8"), signed.encode("utf-8", "surrogateescape"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def _sorted_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return fields sorted by name, a repeated field's values sorted (repeats kept, as the SDK does)."""
    return sorted(pairs)
