"""The console's events: the filtered list, one event in full, and replaying it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context, forms
from bridge.operate import queries
from bridge.operate.actions import replay_event
from bridge.operate.filters import FilterError, parse_event_filter

bp = Blueprint("events", __name__)


@bp.get("/events")
def index() -> ResponseReturnValue:
    """List the events the query string's filter matches, newest first; a bad filter says why."""
    cleaned = context.without_blank_fields()
    if cleaned is not None:
        return cleaned
    wired, values = context.services(), context.filter_values()
    fields = forms.event_fields(wired)
    try:
        wanted = parse_event_filter(values, context.now())
    except FilterError as error:
        page = render_template("events.html", page=None, values=values, fields=fields, problem=str(error))
        return page, 400
    after, limit = context.paging()
    found = queries.list_events(wired.reader, wanted, list(wired.settings.sources), after, limit)
    return render_template("events.html", page=found, values=values, fields=fields, problem=None)


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
