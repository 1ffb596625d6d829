"""POST /webhooks/<source>: verify, parse, key, store, ack. Nothing slow before the ack.

What is stored is what came, but for an echoed secret (replaced) and, for the
KYC kinds, Aadhaar numbers (masked to their last four digits).

A kind with a verification handshake is asked after verify and parse (and,
for GET /webhooks/<source>, at once): an answer it gives is sent as it is and
nothing is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException

from bridge.observe.metrics import ACK_SECONDS, WEBHOOKS
from bridge.services import Services
from bridge.sources.handshake import HandshakeRequest
from bridge.sources.headers import credential_headers, stored_headers
from bridge.sources.payload import bounded_key
from bridge.sources.redaction import stored_form
from bridge.store.inbox import Inbox
from bridge.store.intake import count_refusal
from bridge.web.checks import (
    Refusal,
    Reply,
    ask_handshake,
    check_address,
    checked_echo,
    configured_source,
    parse,
    read_body,
    storable_event_type,
    unseal,
    verify,
)
from bridge.web.errors import error_code

bp = Blueprint("receiver", __name__)
log = logging.getLogger(__name__)

# The reply, the source's metric label and the outcome counted.
Handled = tuple[Reply, str, str]


@bp.post("/webhooks/<source_name>")
@bp.post("/webhooks/<source_name>/<path_token>")
def receive(source_name: str, path_token: str | None = None) -> Reply:
    """Accept one webhook delivery for a configured source (a token source may carry it in the URL)."""
    return _counted(source_name, lambda: _receive(source_name, path_token))


@bp.get("/webhooks/<source_name>")
def handshake(source_name: str) -> Reply:
    """Answer a provider's GET verification handshake (Meta's hub.challenge); 405 for other kinds."""
    return _counted(source_name, lambda: _handshake(source_name))


def _counted(source_name: str, handle: Callable[[], Handled]) -> Reply:
    """Run a request's handling and count its outcome in the webhooks metric."""
    started = time.perf_counter()
    try:
        answer, source_label, outcome = handle()
    except HTTPException as error:
        # Answered by bridge/web/errors.py with its name as the code, e.g. bad_request.
        WEBHOOKS.labels(source_label_of(source_name), error_code(error)).inc()
        raise
    except Exception:
        # The 500 of bridge/web/errors.py follows: nothing was stored, the sender retries.
        WEBHOOKS.labels(source_label_of(source_name), "error").inc()
        raise
    # Two writes into this process's metrics file: no lock another process waits on, no system call.
    WEBHOOKS.labels(source_label, outcome).inc()
    ACK_SECONDS.labels(source_label).observe(time.perf_counter() - started)
    return answer


def _receive(source_name: str, path_token: str | None) -> Handled:
    """Verify, parse, key and store one delivery; return the answer, the source's label and the outcome."""
    services: Services = current_app.extensions["bridge"]
    try:
        source, kind = configured_source(services, source_name)
        check_address(source, services.settings.trusted_proxies)
        body = read_body(kind, services.settings.max_body_bytes)
        verify(kind, source, body, path_token)
        body = unseal(kind, source, body)
        payload = parse(kind, body)
        body, payload = checked_echo(kind, source, body, payload)
        body, payload = stored_form(kind, body, payload)
        answered = ask_handshake(kind, source, HandshakeRequest("POST", payload=payload))
        if answered is not None:
            return answered, source_name, "handshake"
        event_type = storable_event_type(kind, payload)
    except Refusal as refusal:
        return refused(services, source_name, refusal)
    key = bounded_key(kind.idempotency_key(request.headers, body, payload))
    known = services.known_secrets[source_name]
    headers = stored_headers(request.headers.items(), credential_headers(kind), known)
    inbox: Inbox = current_app.extensions["bridge_inbox"]
    accepted = inbox.insert(source_name, key, event_type, body, time.time(), headers)
    status, code = ("accepted", 202) if accepted.is_new else ("duplicate", 200)
    # DEBUG: the event row is the record of an acceptance, and a log line per
    # webhook cost a fifth of an ack's CPU. Refusals are WARNING, above.
    log.debug(status, extra={"action": status, "source": source_name, "event_id": accepted.event_id})
    return ({"status": status, "event_id": accepted.event_id}, code), source_name, status


def _handshake(source_name: str) -> Handled:
    """Answer a GET handshake of a configured source whose kind has one; nothing is stored."""
    services: Services = current_app.extensions["bridge"]
    try:
        source, kind = configured_source(services, source_name)
        check_address(source, services.settings.trusted_proxies)
        query = {key: request.args.get(key, "") for key in request.args}
        answered = None
        if kind.handshake is not None and "GET" in kind.handshake.methods:
            answered = ask_handshake(kind, source, HandshakeRequest("GET", query=query))
        if answered is None:
            raise Refusal(
                405,
                "method_not_allowed",
                f"POST is the only method /webhooks/{source_name} takes: its provider sends no GET handshake",
            )
    except Refusal as refusal:
        return refused(services, source_name, refusal)
    return answered, source_name, "handshake"


def refused(services: Services, source_name: str, refusal: Refusal) -> Handled:
    """Log and count a refusal; return its answer, the source's label and the outcome."""
    log.warning(refusal.message, extra={"action": "reject", "source": source_name, "reason": refusal.error})
    if refusal.error != "unknown_source":
        count(services, source_name, refusal.error)
    return refusal.answer(), source_label_of(source_name), refusal.outcome


def source_label_of(source_name: str) -> str:
    """Return the source's name as a metric label; empty for a name nobody configured."""
    # The sender chose that name: as a label it would make a series per guess.
    services: Services = current_app.extensions["bridge"]
    return source_name if source_name in services.settings.sources else ""


def count(services: Services, source_name: str, error: str) -> None:
    """Count a refusal for the console; a store that cannot take it leaves the answer as it is."""
    try:
        count_refusal(services.engine, source_name, error, time.time())
    except sa.exc.SQLAlchemyError:
        log.warning("could not count a refusal", extra={"action": "reject", "source": source_name})


