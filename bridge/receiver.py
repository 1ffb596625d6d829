"""POST /webhooks/<source>: verify, parse, key, store, ack. Nothing slow before the ack."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.services import Services
from bridge.signatures import SignatureError
from bridge.sources import bounded_key
from bridge.store.inbox import Inbox

bp = Blueprint("receiver", __name__)
log = logging.getLogger(__name__)

Answer = tuple[dict[str, Any], int]


def rejected(status: int, error: str, message: str) -> Answer:
    """Return a JSON error answer whose message says what to fix."""
    return {"status": "rejected", "error": error, "message": message}, status


@bp.post("/webhooks/<source_name>")
def receive(source_name: str) -> Answer:
    """Accept one webhook delivery for a configured source."""
    services: Services = current_app.extensions["bridge"]
    source = services.settings.sources.get(source_name)
    kind = services.registry.get(source.kind) if source and source.enabled else None
    if source is None or kind is None:
        return rejected(404, "unknown_source", f"no enabled source is named {source_name!r}")
    limit = services.settings.max_body_bytes
    if (request.content_length or 0) > limit:
        return rejected(413, "too_large", f"the body is larger than {limit} bytes")
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return rejected(413, "too_large", f"the body is larger than {limit} bytes")
    if request.mimetype != kind.content_type:
        shown = request.mimetype or "none"
        return rejected(415, "unsupported_media_type", f"send {kind.content_type}, not {shown}")
    try:
        kind.signature.verify(body, request.headers, source.secrets, time.time())
    except SignatureError as error:
        log.warning(
            "signature rejected",
            extra={"action": "reject", "source": source_name, "reason": error.reason},
        )
        return rejected(401, error.reason, error.message)
    try:
        payload = json.loads(body)
    except ValueError as error:
        return rejected(400, "bad_json", f"the body is not valid JSON: {error}")
    if not isinstance(payload, dict):
        return rejected(400, "bad_json", "the body must be a JSON object")
    key = bounded_key(kind.idempotency_key(request.headers, body))
    inbox: Inbox = current_app.extensions["bridge_inbox"]
    accepted = inbox.insert(source_name, key, kind.event_type(payload), body, time.time())
    # Acceptances are DEBUG: the event row is their record, and a log line per
    # webhook cost a fifth of an ack's CPU. Refusals stay WARNING.
    if not accepted.is_new:
        log.debug(
            "duplicate delivery",
            extra={"action": "duplicate", "source": source_name, "event_id": accepted.event_id},
        )
        return {"status": "duplicate", "event_id": accepted.event_id}, 200
    log.debug(
        "webhook accepted",
        extra={"action": "accept", "source": source_name, "event_id": accepted.event_id},
    )
    return {"status": "accepted", "event_id": accepted.event_id}, 202
