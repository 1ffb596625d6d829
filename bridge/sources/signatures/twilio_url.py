"""Twilio's X-Twilio-Signature: base64 HMAC-SHA1 over the URL it called and the sorted POST fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Literal
from urllib.parse import parse_qs

from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.public_url import (
    check_public_url,
    form_pairs,
    signed_url,
    with_and_without_port,
)
from bridge.sources.signatures.scheme import HeaderLookup

HEADER = "X-Twilio-Signature"
BODY_HASH_PARAMETER = "bodySHA256"
BodyFormat = Literal["form", "json"]


class TwilioSignature:
    """Twilio's request signature, keyed with the account's Auth Token.

    Signed: the full URL Twilio called (the configured public URL and the query
    it posted to), then, for a form body, every field sorted by name, each
    value of a repeated field sorted and once, written `name` + `value` with
    no separators. A JSON body is signed through its hex SHA-256 in the URL's
    `bodySHA256` query field instead, and no fields follow the URL.

    Our choice on ports: Twilio's own validator accepts the URL with and
    without its port (":443" for https when none is written), because
    Twilio's signing is not consistent about it; so does this scheme. Both
    spellings name the same endpoint, so nothing an attacker controls is
    gained.

    How weak it is: HMAC-SHA1 is still a sound MAC, but Twilio signs no time
    and no nonce, so a captured delivery can be replayed for ever; the
    idempotency key (CallSid or MessageSid and the status) stops a replay
    being queued twice. The signature covers the decoded fields, not the raw
    bytes: another encoding of the same fields (`%20` for `+`, another order)
    verifies too, and means the same thing. Headers are not covered. Only the
    primary Auth Token signs: during a rotation configure both, promote the
    secondary in Twilio, then drop the old one. Twilio's optional Webhooks
    Rules (a SharedKey and `X-Twilio-Webhooks-Signature-Settings`) are not
    read: configure the Auth Token.
    """

    header = HEADER
    tolerance_seconds: float | None = None

    def __init__(self, public_url: str, body: BodyFormat = "form") -> None:
        self.public_url = check_public_url(public_url)
        self.body = body

    def verify_request(
        self, body: bytes, headers: HeaderLookup, query: str, secrets: Sequence[str], now: float
    ) -> None:
        """Raise SignatureError unless the header signs this URL and body under any configured token."""
        received = (headers.get(HEADER) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {HEADER} header is missing")
        url = signed_url(self.public_url, query)
        fields = self._signed_fields(body, query)
        received_bytes = received.encode("ascii", "replace")
        expected = [
            self._digest(candidate + fields, secret).encode("ascii")
            for secret in secrets
            for candidate in with_and_without_port(url)
        ]
        # Every pair is compared, each in constant time: no early exit tells which token is current.
        if not any([hmac.compare_digest(candidate, received_bytes) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {HEADER} header does not match the URL {self.public_url} (with this request's "
                f"query) and the {self.body} body under any configured auth token: check that "
                "scheme.public_url is the URL configured in Twilio",
            )

    def sign_request(self, body: bytes, secret: str, now: float) -> tuple[dict[str, str], str]:
        """Return the headers Twilio would send and the query it would post to (bodySHA256 for JSON)."""
        query = f"{BODY_HASH_PARAMETER}={hashlib.sha256(body).hexdigest()}" if self.body == "json" else ""
        try:
            fields = self._signed_fields(body, query)
        except SignatureError as error:
            raise ValueError(error.message) from None
        return {HEADER: self._digest(signed_url(self.public_url, query) + fields, secret)}, query

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Verify a delivery posted to the public URL with no query."""
        self.verify_request(body, headers, "", secrets, now)

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the headers for a post to the public URL with no query; a JSON body needs sign_request()."""
        headers, query = self.sign_request(body, secret, now)
        if query:
            raise ValueError(f"Twilio signs a JSON body through ?{query}: post with sign_request()")
        return headers

    def _signed_fields(self, body: bytes, query: str) -> str:
        """Return what follows the URL in the signed string; check a JSON body's hash first."""
        if self.body == "json":
            self._check_body_hash(body, query)
            return ""
        try:
            pairs = form_pairs(body)
        except ValueError as error:
            raise SignatureError(
                "bad_signature", f"the body {error}, so its signature cannot be checked"
            ) from None
        values: dict[str, set[str]] = {}
        for name, value in pairs:
            values.setdefault(name, set()).add(value)
        return "".join(name + value for name in sorted(values) for value in sorted(values[name]))

    @staticmethod
    def _check_body_hash(body: bytes, query: str) -> None:
        sent = parse_qs(query, keep_blank_values=True).get(BODY_HASH_PARAMETER, [])
        if not sent:
            raise SignatureError(
                "missing_signature", f"the URL has no {BODY_HASH_PARAMETER} query field for the JSON body"
            )
        digest = hashlib.sha256(body).hexdigest().encode("ascii")
        if not hmac.compare_digest(digest, sent[0].lower().encode("ascii", "replace")):
            raise SignatureError(
                "bad_signature", f"the URL's {BODY_HASH_PARAMETER} is not the body's SHA-256"
            )

    @staticmethod
    def _digest(signed: str, secret: str) -> str:
        # A query the receiver decoded with surrogateescape encodes back to the bytes that came.
        mac = hmac.new(secret.encode("utf-8"), signed.encode("utf-8", "surrogateescape"), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode("ascii")
