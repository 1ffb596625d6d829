"""The console's activities: the filtered list, and retrying or resolving one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request
from flask.typing import ResponseReturnValue

from bridge.admin import context, forms
from bridge.admin.api_actions import resolution_named
from bridge.admin.auth import safe_next
from bridge.admin.listing import filtered_list
from bridge.operate import queries
from bridge.operate.actions import resolve_activity, retry_activity
from bridge.operate.filters import ActivityFilter, parse_activity_filter

bp = Blueprint("activities", __name__)


@bp.get("/activities")
def index() -> ResponseReturnValue:
    """List the activities the query string's filter matches, newest first; a bad filter says why."""
    wired = context.services()

    def find(wanted: ActivityFilter, after: int | None, limit: int) -> Any:
        return queries.list_activities(wired.reader, wanted, after, limit)

    return filtered_list("activities.html", forms.activity_fields(wired), parse_activity_filter, find)


@bp.post("/activities/<int:activity_id>/retry")
def retry(activity_id: int) -> ResponseReturnValue:
    """Make a dead activity due again, its attempts reset."""
    result = retry_activity(context.services().engine, activity_id, context.actor(), context.now())
    flash(result.detail, "success")
    return redirect(safe_next(request.form.get("back")) + f"#activity-{activity_id}")


@bp.post("/activities/<int:activity_id>/resolve")
def resolve(activity_id: int) -> ResponseReturnValue:
    """Settle an unknown activity by hand: it is in LeadSquared (delivered), or it is not (repost)."""
    how = resolution_named(request.form.get("as"))
    result = resolve_activity(context.services().engine, activity_id, how, context.actor(), context.now())
    flash(result.detail, "success")
    return redirect(safe_next(request.form.get("back")) + f"#activity-{activity_id}")
