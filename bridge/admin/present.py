"""How pages show things: times in UTC ISO form with their age, durations, the menu."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, request

from bridge.admin.access import signed_in
from bridge.observe.masking import mask_text

# The menu: (endpoint, label). An entry shows once its page is registered.
MENU = (
    ("overview.index", "Overview"),
    ("attention.index", "Needs attention"),
    ("events.index", "Events"),
    ("activities.index", "Activities"),
    ("accounts.index", "Accounts"),
    ("jobs.index", "Jobs"),
    ("erasure.index", "Erasure"),
)


def init_app(app: Flask) -> None:
    """Give the templates their filters and the values every page uses."""
    app.add_template_filter(utc)
    app.add_template_filter(age)
    app.add_template_filter(duration)
    app.add_template_filter(mask_text, "masked")
    app.context_processor(page_values)


def page_values() -> dict[str, Any]:
    """Return what the layout needs: the time now, whether someone is signed in, the menu."""
    menu = [(endpoint, label) for endpoint, label in MENU if endpoint in current_app.view_functions]
    section = (request.endpoint or "").partition(".")[0]
    return {"now": time.time(), "signed_in": signed_in(), "menu": menu, "section": section}


def utc(moment: float | None) -> str:
    """Return a time as UTC ISO 8601 to the second, e.g. 2026-12-01T10:00:00Z; an em dash for none."""
    if moment is None:
        return "—"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(moment: float | None, now: float | None = None) -> str:
    """Return how long ago a time was (42 s ago, 5 min ago, 2 d ago), or how far ahead (in 10 s)."""
    if moment is None:
        return ""
    seconds = (now if now is not None else time.time()) - moment
    spoken = _span(abs(seconds))
    return f"{spoken} ago" if seconds >= 0 else f"in {spoken}"


def duration(seconds: float | None) -> str:
    """Return a duration briefly: 850 ms, 2.4 s, 3 min."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return _span(seconds)


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h"
    return f"{seconds // 86400:.0f} d"
