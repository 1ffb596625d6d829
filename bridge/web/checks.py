"""What the receiver checks of a delivery before it stores one, each refusing with a status and a message.

In the order the receiver asks: a configured source, an allowed address, a
body it can read, a signature (or token) it can verify, a sealed body it can
open, a payload it can parse, an echoed secret, a verification handshake,
and an event type the store can hold.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Response, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from bridge.config.settings import Network, SourceSettings
from bridge.services import Services
from bridge.sources.handshake import HandshakeAnswer, HandshakeRefused, HandshakeRequest, SourceSecrets
from bridge.sources.kind import SourceKind
from bridge.sources.payload import Payload, event_type_problem
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.scheme import TokenScheme, is_sealed, verify_delivery
from bridge.web.addresses import client_address

log = logging.getLogger(__name__)

Answer = tuple[dict[str, Any], int]
# A JSON answer, or a handshake's answer sent as the kind made it.
Reply = Answer | Response


class Refusal(Exception):
    """A delivery the receiver turns away: the status, a short code, and what to fix."""

    def __init__(self, status: int, error: str, message: str, outcome: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        # The webhooks metric's outcome: the code, or one label for a family (handshake_refused).
        self.outcome = outcome or error

    def answer(self) -> Reply:
        """Return the JSON answer for the sender (a 405 says which method is allowed)."""
        body = {"status": "rejected", "error": self.error, "message": self.message}
        if self.status == 405:
            return Response(json.dumps(body), 405, {"Allow": "POST"}, mimetype="application/json")
        return body, self.status


def configured_source(services: Services, name: str) -> tuple[SourceSettings, SourceKind]:
    """Return the enabled source of that name and its kind, or refuse with 404."""
    source = services.settings.sources.get(name)
    kind = services.kinds.get(name) if source and source.enabled else None
    if source is None or kind is None:
        raise Refusal(404, "unknown_source", f"no enabled source is named {name!r}")
    return source, kind


def check_address(source: SourceSettings, trusted_proxies: tuple[Network, ...]) -> None:
    """Refuse with 403 a delivery from outside the source's allowed_ips, if it has any."""
    if not source.allowed_networks:
        return
    forwarded = request.headers.getlist("X-Forwarded-For")
    client = client_address(request.remote_addr, forwarded, trusted_proxies)
    if client is None or not any(client in network for network in source.allowed_networks):
        shown = client or "an unreadable address"
        raise Refusal(
            403,
            "forbidden_address",
            f"deliveries to {source.name} are accepted only from its allowed_ips, not from {shown}",
        )


def read_body(kind: SourceKind, limit: int) -> bytes:
    """Return the raw body; refuse one over the size cap (413), cut short (400) or of the wrong type (415)."""
    too_large = Refusal(413, "too_large", f"the body is larger than {limit} bytes")
    declared = request.content_length
    if (declared or 0) > limit:
        raise too_large
    # A chunked body has no length to check up front, and the stream stops at the
    # cap without a word: read one byte past it to tell a full body from a cut one.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    except ClientDisconnected:
        # The stream ended early: werkzeug counted a short body, or the server's
        # de-chunking ran out of bytes before the last (zero-size) chunk.
        if declared is None:
            message = "the chunked body ended before its last chunk"
        else:
            message = f"the body ended before the {declared} bytes its Content-Length declares"
        raise Refusal(400, "incomplete_body", message) from None
    except Exception as error:
        # The server de-chunks while the app reads, so broken chunked framing (a size that
        # is not hex, a chunk without its CRLF) surfaces here as the server's own parse
        # error: the sender's fault, never a 500 it would retry forever.
        shown = str(error)[:120] or type(error).__name__
        raise Refusal(400, "malformed_body", f"the body's framing could not be read: {shown}") from None
    if len(body) > limit:
        raise too_large
    if declared is not None and len(body) < declared:
        # gunicorn ends the stream at the sender's half-close and hands over what came.
        message = f"the body ended after {len(body)} of the {declared} bytes its Content-Length declares"
        raise Refusal(400, "incomplete_body", message)
    if request.mimetype != kind.content_type:
        shown = request.mimetype or "none"
        raise Refusal(415, "unsupported_media_type", f"send {kind.content_type}, not {shown}")
    return body


def verify(kind: SourceKind, source: SourceSettings, body: bytes, path_token: str | None) -> None:
    """Refuse with 401 unless the delivery carries one of the source's secrets: a signature or a token."""
    scheme = kind.signature
    try:
        if path_token is None:
            query = request.query_string.decode("utf-8", "surrogateescape")
            verify_delivery(scheme, body, request.headers, query, source.secrets, time.time())
        elif isinstance(scheme, TokenScheme):
            scheme.verify_path_token(path_token, source.secrets)
        else:
            where = f"/webhooks/{source.name}"
            raise Refusal(404, "unknown_source", f"{source.name} takes no token in its URL: post to {where}")
    except SignatureError as error:
        raise Refusal(401, error.reason, error.message) from None
    except (ValueError, UnicodeError):
        # A scheme that failed to read what the sender wrote, instead of refusing it: still the
        # sender's bad signature, never a 500 (the provider would retry it for days).
        log.warning("a signature scheme could not read a delivery", exc_info=True)
        raise Refusal(401, "bad_signature", "the signature could not be read") from None


def unseal(kind: SourceKind, source: SourceSettings, body: bytes) -> bytes:
    """Return a sealed kind's plaintext, the body stored from here on (401, 400 if none); others as sent."""
    if not is_sealed(kind.signature):
        return body
    try:
        return kind.signature.unseal(body, source.secrets)
    except SignatureError as error:
        raise Refusal(401, error.reason, error.message) from None
    except ValueError as error:
        raise Refusal(400, "bad_body", f"the body {error}") from None


def parse(kind: SourceKind, body: bytes) -> Payload:
    """Return the verified body as the kind's payload, or refuse with 400 saying why not."""
    try:
        return kind.parse(body)
    except ValueError as error:
        # JSON kinds keep the code senders have always seen; other formats say bad_body.
        code = "bad_json" if kind.content_type == "application/json" else "bad_body"
        raise Refusal(400, code, f"the body {error}") from None


def checked_echo(
    kind: SourceKind, source: SourceSettings, body: bytes, payload: Payload
) -> tuple[bytes, Payload]:
    """Refuse with 401 a body whose echoed secret (Ozonetel's Apikey) is not the configured one.

    Return the body and payload to store: a checked echo's secret replaced, so no
    page, answer or export ever shows it.
    """
    if kind.echo is None:
        return body, payload
    try:
        kind.echo.check(payload, source.named_secrets)
    except SignatureError as error:
        raise Refusal(401, error.reason, error.message) from None
    return kind.echo.scrubbed(payload)


def ask_handshake(kind: SourceKind, source: SourceSettings, asked: HandshakeRequest) -> Response | None:
    """Return the kind's handshake answer as a response, None when the request is an event to store."""
    if kind.handshake is None:
        return None
    try:
        answer: HandshakeAnswer | None = kind.handshake.answer(asked, secrets_of(source))
    except HandshakeRefused as refusal:
        raise Refusal(refusal.status, refusal.error, refusal.message, "handshake_refused") from None
    if answer is None:
        return None
    log.info("handshake answered", extra={"action": "handshake", "source": source.name})
    return Response(answer.body, answer.status, mimetype=answer.content_type)


def secrets_of(source: SourceSettings) -> SourceSecrets:
    """Return the source's secrets as a handshake reads them."""
    return SourceSecrets(source.secrets, source.named_secrets)


def storable_event_type(kind: SourceKind, payload: Payload) -> str | None:
    """Return the delivery's event type, refusing with 400 one the events table cannot hold."""
    event_type = kind.type_of(request.headers, payload)
    problem = event_type_problem(event_type)
    if problem is not None:
        raise Refusal(400, "bad_event_type", f"the event type {problem}")
    return event_type
