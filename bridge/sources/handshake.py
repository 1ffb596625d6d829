"""Verification handshakes: what a provider asks before it sends events, and what the bridge answers.

Some providers prove the endpoint before (and while) they deliver to it:
Meta sends a `GET` with `hub.challenge` and the verify token typed into its
dashboard; Zoom sends a signed `POST` of type `endpoint.url_validation`
(every 72 hours) that wants an HMAC of a token back. Such a request is no
event: the receiver asks the kind's handshake after it verified and parsed
a POST (or at once for a GET), sends the answer as it is, and stores nothing.

A handshake is one small object, like a signature scheme: `answer()` decides
from the request and the source's secrets alone (no I/O, no clock), and its
twin `probe()` builds the request a provider would send, for tests and
`send-sample --handshake`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.sources.payload import Payload


@dataclass(frozen=True)
class SourceSecrets:
    """A source's secrets: the signing ones (current first) and its named ones (a verify token)."""

    signing: tuple[str, ...]
    named: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        # Never shown, even by a traceback's locals or a failing test's diff.
        return f"SourceSecrets(signing=<{len(self.signing)}>, named={sorted(self.named)})"


@dataclass(frozen=True)
class HandshakeRequest:
    """What the handshake sees of a request: its method, its query, and a POST's verified payload."""

    method: str  # "GET" or "POST"
    query: Mapping[str, str] = field(default_factory=dict)
    payload: Payload | None = None  # None for a GET


@dataclass(frozen=True)
class HandshakeAnswer:
    """The answer sent as it is: a status, a body and its content type."""

    status: int
    body: str
    content_type: str = "text/plain"

    @classmethod
    def json(cls, document: Mapping[str, Any]) -> HandshakeAnswer:
        """Return a 200 JSON answer."""
        return cls(200, json.dumps(document, separators=(",", ":")), "application/json")


@dataclass(frozen=True)
class HandshakeProbe:
    """A handshake request as the provider would send it, and the answer a right endpoint gives."""

    method: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None  # a POST's body, to be signed like any delivery
    expected: HandshakeAnswer | None = None


class HandshakeRefused(Exception):
    """A handshake the bridge turns down: the status, a short code, and what to fix (never a secret)."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class Handshake(Protocol):
    """A provider's verification handshake: answer it, or make one for tests and tools."""

    # The methods this handshake arrives by: ("GET",) for Meta, ("POST",) for Zoom.
    methods: tuple[str, ...]

    def answer(self, request: HandshakeRequest, secrets: SourceSecrets) -> HandshakeAnswer | None:
        """Return the answer to a handshake, None for a request that is no handshake (an event)."""
        ...

    def probe(self, secrets: SourceSecrets, challenge: str) -> HandshakeProbe:
        """Return the request the provider would send with this challenge, and its right answer."""
        ...


def secrets_equal(received: str, configured: str) -> bool:
    """Compare a received secret with the configured one in constant time, length included."""
    # Digests of equal length: compare_digest then leaks neither the content nor the length.
    return hmac.compare_digest(
        hashlib.sha256(received.encode("utf-8", "replace")).digest(),
        hashlib.sha256(configured.encode("utf-8")).digest(),
    )


class HubChallenge:
    """The WebSub-style GET Meta's Graph API webhooks send: `hub.mode`, `hub.verify_token`, `hub.challenge`.

    The verify token is a named secret of the source (typed into the App
    Dashboard by you, not issued by Meta); it travels in the URL's query, so it
    proves little beyond "someone who set the subscription up". The answer is
    the bare challenge as text. A wrong token is 403, a mode other than
    `subscribe` or a missing challenge 400: both say what to fix.
    """

    methods: tuple[str, ...] = ("GET",)

    def __init__(self, token_name: str = "verify_token") -> None:
        self.token_name = token_name

    def answer(self, request: HandshakeRequest, secrets: SourceSecrets) -> HandshakeAnswer | None:
        """Return the challenge as text when the mode is subscribe and the verify token matches."""
        if request.method != "GET":
            return None
        mode = request.query.get("hub.mode")
        if mode != "subscribe":
            shown = "missing" if mode is None else f"{mode[:40]!r}"
            raise HandshakeRefused(400, "bad_hub_mode", f"hub.mode must be 'subscribe', not {shown}")
        received = request.query.get("hub.verify_token") or ""
        configured = secrets.named.get(self.token_name, "")
        if not configured or not received or not secrets_equal(received, configured):
            raise HandshakeRefused(
                403,
                "bad_verify_token",
                "hub.verify_token is not the verify token configured for this source "
                f"(secret_envs.{self.token_name}); type the same one in the provider's dashboard",
            )
        challenge = request.query.get("hub.challenge") or ""
        if not challenge:
            raise HandshakeRefused(400, "missing_challenge", "hub.challenge is missing or empty")
        return HandshakeAnswer(200, challenge)

    def probe(self, secrets: SourceSecrets, challenge: str) -> HandshakeProbe:
        """Return Meta's GET with the configured verify token, expecting the challenge back."""
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": secrets.named.get(self.token_name, ""),
            "hub.challenge": challenge,
        }
        return HandshakeProbe("GET", query, expected=HandshakeAnswer(200, challenge))


class PlainTokenValidation:
    """Zoom's `endpoint.url_validation`: a signed POST whose `payload.plainToken` wants its HMAC back.

    The request is verified like any delivery first (the receiver does that
    before it asks), so an unsigned validation is refused 401. The answer is
    `{"plainToken": <same>, "encryptedToken": hex HMAC-SHA256(secret, plainToken)}`
    keyed with the source's current signing secret (Zoom's Secret Token), at
    once: Zoom repeats it every 72 hours and gives up on an endpoint that does
    not answer within 3 s.
    """

    methods: tuple[str, ...] = ("POST",)

    def __init__(self, event: str = "endpoint.url_validation") -> None:
        self.event = event

    def answer(self, request: HandshakeRequest, secrets: SourceSecrets) -> HandshakeAnswer | None:
        """Return the plain token and its HMAC for a validation event; None for any other event."""
        payload = request.payload
        if request.method != "POST" or not isinstance(payload, Mapping) or payload.get("event") != self.event:
            return None
        inner = payload.get("payload")
        plain_token = inner.get("plainToken") if isinstance(inner, Mapping) else None
        if not isinstance(plain_token, str) or not plain_token:
            message = f"an {self.event} event needs payload.plainToken, a non-empty string"
            raise HandshakeRefused(400, "missing_plain_token", message)
        return HandshakeAnswer.json(
            {"plainToken": plain_token, "encryptedToken": self.encrypted(plain_token, secrets.signing[0])}
        )

    def probe(self, secrets: SourceSecrets, challenge: str) -> HandshakeProbe:
        """Return Zoom's validation event with this plain token (to be signed), and its right answer."""
        body = json.dumps({"event": self.event, "payload": {"plainToken": challenge}}, separators=(",", ":"))
        expected = HandshakeAnswer.json(
            {"plainToken": challenge, "encryptedToken": self.encrypted(challenge, secrets.signing[0])}
        )
        return HandshakeProbe("POST", body=body.encode("utf-8"), expected=expected)

    @staticmethod
    def encrypted(plain_token: str, secret: str) -> str:
        """Return Zoom's "encryptedToken": hex HMAC-SHA256 of the plain token (a MAC, despite the name)."""
        return hmac.new(secret.encode("utf-8"), plain_token.encode("utf-8"), hashlib.sha256).hexdigest()
