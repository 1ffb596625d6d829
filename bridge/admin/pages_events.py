"""The console's events: the filtered list, one event in full, and replaying it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context, forms
from bridge.admin.listing import filtered_list
from bridge.operate import queries
from bridge.operate.actions import replay_event
from bridge.operate.filters import EventFilter, parse_event_filter

bp = Blueprint("events", __name__)


@bp.get("/events")
def index() -> ResponseReturnValue:
    """List the events the query string's filter matches, newest first; a bad filter says why."""
    wired = context.services()
    sources = list(wired.settings.sources)

    def find(wanted: EventFilter, after: int | None, limit: int) -> Any:
        return queries.list_events(wired.reader, wanted, sources, after, limit)

    return filtered_list("events.html", forms.event_fields(wired), parse_event_filter, find)


@bp.get("/events/<int:event_id>")
def detail(event_id: int) -> ResponseReturnValue:
    """Show one event: headers, masked payload, repeats, what the transform made of it, every call."""
    event = queries.event_detail(context.services().reader, event_id)
    if event is None:
        abort(404, f"there is no event {event_id}")
    return render_template("event.html", event=event)


@bp.post("/events/<int:event_id>/replay")
def replay(event_id: int) -> ResponseReturnValue:
    """Transform the event again under today's configuration and queue what it yields."""
    result = replay_event(context.services(), event_id, context.actor(), context.now())
    flash(result.detail, "success")
    return redirect(url_for("events.detail", event_id=event_id))
