"""The API's read side: events, activities, the overview, what needs attention, jobs. JSON, Bearer token.

Filters come in the query string under the same names as the console's
(bridge/operate/filters.py), lists page by keyset: pass next_after back as
after= for the next, older page.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort

from bridge.admin import context
from bridge.operate import queries
from bridge.operate.filters import parse_activity_filter, parse_event_filter
from bridge.operate.jobs import get_job, list_jobs

bp = Blueprint("api", __name__, url_prefix="/api")

JOBS_LISTED = 50


@bp.get("/events")
def events() -> dict[str, Any]:
    """Answer a page of the events the filter matches, newest first."""
    wanted = parse_event_filter(context.filter_values(), context.now())
    after, limit = context.paging()
    sources = list(context.services().settings.sources)
    return asdict(queries.list_events(context.services().reader, wanted, sources, after, limit))


@bp.get("/events/<int:event_id>")
def event(event_id: int) -> dict[str, Any]:
    """Answer one event in full: headers, masked payload, repeats, activities and their calls."""
    detail = queries.event_detail(context.services().reader, event_id)
    if detail is None:
        abort(404, f"no event {event_id}")
    return asdict(detail)


@bp.get("/activities")
def activities() -> dict[str, Any]:
    """Answer a page of the activities the filter matches, newest first."""
    wanted = parse_activity_filter(context.filter_values(), context.now())
    after, limit = context.paging()
    return asdict(queries.list_activities(context.services().reader, wanted, after, limit))


@bp.get("/overview")
def overview() -> dict[str, Any]:
    """Answer the overview: accounts, sources with their last 24 hours, workers, latest problems."""
    wired = context.services()
    return asdict(queries.overview(wired.reader, wired.settings, context.now()))


@bp.get("/attention")
def attention() -> dict[str, Any]:
    """Answer what needs an operator, grouped by status and reason, with the filter listing each group."""
    groups = queries.needs_attention(context.services().reader)
    return {"items": [asdict(group) for group in groups]}


@bp.get("/jobs")
def jobs() -> dict[str, Any]:
    """Answer the newest bulk jobs first."""
    return {"items": [asdict(job) for job in list_jobs(context.services().reader, JOBS_LISTED)]}


@bp.get("/jobs/<int:job_id>")
def job(job_id: int) -> dict[str, Any]:
    """Answer one bulk job and its progress."""
    found = get_job(context.services().reader, job_id)
    if found is None:
        abort(404, f"no job {job_id}")
    return asdict(found)
