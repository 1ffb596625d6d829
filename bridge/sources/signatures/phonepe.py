"""PhonePe PG callbacks: v1's X-VERIFY over a base64 response, v2's static Authorization header.

v1 (the salt-key "Pay API"): the body is JSON `{"response": "<base64>"}` and
`X-VERIFY` is `hex(SHA-256(response + salt key)) + "###" + salt index`. That
is a plain hash with the key appended, not an HMAC; it covers the base64
text (so every byte of the decoded callback) but no time: a captured callback
can be replayed for ever, and the idempotency key stops an exact replay from
being queued twice. The callback formula has no API path, unlike PhonePe's
request X-VERIFY. A merchant holds several salt keys, each with an index,
and the index after `###` says which one signed: that is the rotation. Each
configured secret is `<index>:<salt key>`, or the bare salt key for index 1
(PhonePe's default); every secret of the named index is tried.

v2 (client id and secret, dashboard webhooks): `Authorization` is the hex
SHA-256 of `username:password`, both chosen by the merchant in the PhonePe
dashboard. It is a static credential, the same on every callback: it covers
no byte of the body and no time, so whoever sees one callback can post any
body with it. The configured secret is `username:password` as entered there;
check-config warns as for every token source. PhonePe's SDKs compare with
`==`; the bridge compares in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence

from bridge.sources import strict_json
from bridge.sources.signatures.errors import SignatureError
from bridge.sources.signatures.scheme import HeaderLookup

X_VERIFY = "X-VERIFY"
SALT_SEPARATOR = "###"
RESPONSE_FIELD = "response"
DEFAULT_SALT_INDEX = "1"
# "<index>:<salt key>"; PhonePe's salt keys are UUIDs, so a key never starts with digits and a colon.
INDEXED_SECRET = re.compile(r"([0-9]{1,4}):(.*)", re.DOTALL)
AUTHORIZATION = "Authorization"


def salt_key(secret: str) -> tuple[str, str]:
    """Return the salt index and the salt key a configured secret holds ('1' when it names none)."""
    indexed = INDEXED_SECRET.fullmatch(secret)
    if indexed is None:
        return DEFAULT_SALT_INDEX, secret
    return str(int(indexed.group(1))), indexed.group(2)


def x_verify(response: str, key: str, index: str) -> str:
    """Return PhonePe's callback X-VERIFY of a base64 response under one salt key and its index."""
    digest = hashlib.sha256((response + key).encode("utf-8")).hexdigest()
    return f"{digest}{SALT_SEPARATOR}{index}"


class PhonePeSaltedHash:
    """PhonePe v1: X-VERIFY over the body's base64 `response` field; unseal() decodes that field."""

    header = X_VERIFY
    tolerance_seconds: float | None = None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless X-VERIFY matches the response under a salt key of its index."""
        digest, index = self._received(headers)
        response = _response_field(body)
        keys = [key for key_index, key in map(salt_key, secrets) if key_index == index and key]
        if not keys:
            raise SignatureError(
                "unknown_salt_index",
                f"the {self.header} header names salt index {index}, which no configured secret has "
                f'(write a secret as "{index}:<salt key>")',
            )
        expected = [hashlib.sha256((response + key).encode("utf-8")).hexdigest().encode() for key in keys]
        received = digest.encode("ascii", "replace")
        # Every key is compared, each in constant time: no early exit tells which one is current.
        if not any([hmac.compare_digest(candidate, received) for candidate in expected]):
            raise SignatureError(
                "bad_signature",
                f"the {self.header} header does not match the response under any salt key of index {index}",
            )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the X-VERIFY PhonePe would send with this (sealed) body."""
        index, key = salt_key(secret)
        try:
            response = _response_field(body)
        except SignatureError as error:
            raise ValueError(f"PhonePe signs the response field ({error.message}): seal() first") from None
        return {self.header: x_verify(response, key, index)}

    def secret_forms(self, secret: str) -> list[str]:
        """Return the salt key alone: the configured secret is `<index>:<salt key>`."""
        return [salt_key(secret)[1]]

    def unseal(self, body: bytes, secrets: Sequence[str]) -> bytes:
        """Return the decoded callback: the base64 response field as bytes (verify() came first)."""
        response = _response_field(body)
        try:
            return base64.b64decode(response, validate=True)
        except binascii.Error:
            raise ValueError(f"has a {RESPONSE_FIELD} field that is not base64") from None

    def seal(self, plain: bytes, secret: str) -> bytes:
        """Return the body PhonePe would post for this callback: {"response": "<base64>"}."""
        return json.dumps({RESPONSE_FIELD: base64.b64encode(plain).decode("ascii")}).encode("ascii")

    def secret_problem(self, secret: str) -> str | None:
        """Say what is wrong with a secret that cannot be a salt key, without showing it."""
        if not salt_key(secret)[1].strip():
            return 'has no salt key: write it as "<salt index>:<salt key>", or the salt key alone for index 1'
        return None

    def _received(self, headers: HeaderLookup) -> tuple[str, str]:
        received = (headers.get(self.header) or "").strip()
        if not received:
            raise SignatureError("missing_signature", f"the {self.header} header is missing")
        digest, separator, index = received.partition(SALT_SEPARATOR)
        if not separator or not index.isascii() or not index.isdigit() or len(index) > 4:
            raise SignatureError(
                "bad_signature_header", f"the {self.header} header is not <hex SHA-256>###<salt index>"
            )
        return digest.strip().lower(), str(int(index))


def _response_field(body: bytes) -> str:
    """Return the body's base64 response text, or raise SignatureError saying why there is none."""
    try:
        envelope = strict_json.loads(body)
    except ValueError as error:
        raise SignatureError("missing_signature", f"the body {error}, so it holds no response") from None
    response = envelope.get(RESPONSE_FIELD) if isinstance(envelope, dict) else None
    if not isinstance(response, str) or not response:
        raise SignatureError(
            "missing_signature", f'the body must be {{"{RESPONSE_FIELD}": "<base64>"}}, as PhonePe posts it'
        )
    return response


class PhonePeAuthorization:
    """PhonePe v2: Authorization = hex SHA-256 of the configured `username:password`, a static token."""

    header = AUTHORIZATION
    in_path = False
    tolerance_seconds: float | None = None

    def verify(self, body: bytes, headers: HeaderLookup, secrets: Sequence[str], now: float) -> None:
        """Raise SignatureError unless Authorization is the hash of one configured username:password."""
        received = (headers.get(self.header) or "").strip().lower()
        if not received:
            raise SignatureError("missing_token", f"the {self.header} header is missing")
        # Hash both sides again: equal lengths, so compare_digest leaks neither content nor length.
        digest = hashlib.sha256(received.encode("utf-8", "replace")).digest()
        expected = [hashlib.sha256(credential_hash(secret).encode()).digest() for secret in secrets]
        if not any([hmac.compare_digest(digest, candidate) for candidate in expected]):
            raise SignatureError(
                "bad_token", f"the {self.header} header is not the hash of any configured username:password"
            )

    def verify_path_token(self, token: str, secrets: Sequence[str]) -> None:
        """Refuse a token in the URL: PhonePe sends its credential in the Authorization header."""
        raise SignatureError(
            "unexpected_token", f"this source takes its credential in the {self.header} header, not the URL"
        )

    def sign(self, body: bytes, secret: str, now: float) -> dict[str, str]:
        """Return the Authorization header PhonePe sends for this username:password (any body)."""
        return {self.header: credential_hash(secret)}

    def secret_forms(self, secret: str) -> list[str]:
        """Return the password alone and the Authorization value: each replays as the credential."""
        password = secret.partition(":")[2]
        return [form for form in (password, credential_hash(secret)) if form]


def credential_hash(username_password: str) -> str:
    """Return PhonePe v2's Authorization value: hex SHA-256 of `username:password`."""
    return hashlib.sha256(username_password.encode("utf-8")).hexdigest()
