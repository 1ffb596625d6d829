"""The API's OpenAPI 3.1 document, kept in openapi.json beside this module and served as it is."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@bp.get("/openapi.json")
def serve() -> Response:
    """Answer the OpenAPI document."""
    return jsonify(document())
