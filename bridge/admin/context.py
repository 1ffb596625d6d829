"""What every view needs: the services, who is acting, the filter in the request, the time."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import current_app, redirect, request
from werkzeug.wrappers import Response

from bridge.admin.security import client_address_text, is_api_request
from bridge.operate.actions import Actor
from bridge.services import Services

# Query-string names that page through a list rather than filter it.
PAGING = ("after", "limit")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def services() -> Services:
    """Return the services the admin app runs on."""
    wired: Services = current_app.extensions["bridge"]
    return wired


def actor() -> Actor:
    """Return who acts: the console or the API, from the client's address."""
    return Actor("api" if is_api_request(request) else "console", client_address_text())


def now() -> float:
    """Return the time of this request, for filters' ages and actions' records."""
    return time.time()


def filter_values(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Return the filter in the query string (or values given): every non-empty name but the paging ones."""
    given = request.args if values is None else values
    return {name: str(given[name]) for name in given if name not in PAGING and str(given[name]).strip()}


def without_blank_fields() -> Response | None:
    """Return a redirect to this list without the filter form's empty fields, or None when none is empty.

    A GET form sends every field, so its URL would carry `event_type=&since=&...`:
    the redirect leaves the short URL a person can read, bookmark and share.
    """
    pairs = list(request.args.items(multi=True))
    kept = [(name, value) for name, value in pairs if value.strip()]
    if len(kept) == len(pairs):
        return None
    return redirect(f"{request.path}?{urlencode(kept)}" if kept else request.path)


class PagingError(ValueError):
    """An after= or limit= that is not a positive whole number, or too large."""


def paging() -> tuple[int | None, int]:
    """Return the after= and limit= of the query string; bad ones raise PagingError."""
    after = _whole(request.args.get("after"), "after")
    limit = _whole(request.args.get("limit"), "limit") or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise PagingError(f"limit: at most {MAX_LIMIT}, not {limit}")
    return after, limit


def _whole(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise PagingError(f"{name}: a whole number above 0, not {text!r}")
    return int(text)
