"""JSON answers for every HTTP error, so no provider or operator ever gets an HTML page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Answer HTTP errors, and unexpected exceptions, with a one-line JSON message."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def error_code(error: HTTPException) -> str:
    """Return the short code an HTTP error is answered with: its name in snake case, e.g. not_found."""
    return (error.name or "error").lower().replace(" ", "_")


def _http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
    code = error.code or 500
    name = error_code(error)
    return {"status": "rejected", "error": name, "message": error.description or name}, code


def _unexpected(error: Exception) -> tuple[dict[str, Any], int]:
    # Logged with its traceback (secrets are scrubbed by the log filter); the
    # sender only learns that nothing was stored, so that it retries.
    log.exception("unexpected error", extra={"action": "error"})
    body, _ = _http_error(InternalServerError())
    body["message"] = "the bridge could not handle this delivery and stored nothing; retry later"
    return body, 500
