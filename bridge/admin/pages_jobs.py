"""The console's bulk jobs: confirm one with its dry-run count, start it, watch it, cancel it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.operate.actions import OperateError
from bridge.operate.filters import parse_activity_filter, parse_event_filter
from bridge.operate.jobs import BulkAction, cancel_job, count_bulk, get_job, list_jobs, start_bulk

bp = Blueprint("jobs", __name__)

JOBS_LISTED = 50
# Where each bulk action is asked for from, to go back to.
LISTS = {BulkAction.REPLAY: "events.index"}


@bp.get("/jobs")
def index() -> ResponseReturnValue:
    """List the newest bulk jobs."""
    return render_template("jobs.html", jobs=list_jobs(context.services().reader, JOBS_LISTED))


@bp.get("/jobs/<int:job_id>")
def detail(job_id: int) -> ResponseReturnValue:
    """Show one job's progress; the page refreshes itself while the job runs."""
    job = get_job(context.services().reader, job_id)
    if job is None:
        abort(404, f"there is no job {job_id}")
    return render_template("job.html", job=job)


@bp.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int) -> ResponseReturnValue:
    """Stop a job; the rows it handled stay handled."""
    job = cancel_job(context.services().engine, job_id, context.actor(), context.now())
    flash(f"Job {job.id}: cancel asked; it stops before its next chunk.", "success")
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.get("/jobs/new")
def new() -> ResponseReturnValue:
    """Show how many rows a bulk action would touch now, with the form that starts it."""
    action = chosen_action(request.args.get("action"))
    values = context.filter_values()
    values.pop("action", None)
    params = canonical(action, values)
    matched = count_bulk(context.services(), action, params, context.now())
    back = url_for(LISTS.get(action, "activities.index")) + (f"?{urlencode(values)}" if values else "")
    return render_template(
        "job_new.html", action=action, params=params, matched=matched, query=urlencode(params), back=back
    )


@bp.post("/jobs")
def start() -> ResponseReturnValue:
    """Start the bulk job the confirmation page asked for, and show it."""
    action = chosen_action(request.form.get("action"))
    params = dict(parse_qsl(request.form.get("filter", "")))
    job = start_bulk(context.services(), action, params, context.actor(), context.now())
    rows = "1 row matches" if job.total == 1 else f"{job.total} rows match"
    flash(f"Job {job.id} queued: {rows}; a worker takes it within seconds.", "success")
    return redirect(url_for("jobs.detail", job_id=job.id))


def chosen_action(name: str | None) -> BulkAction:
    """Return the bulk action named, or refuse with 400 listing them."""
    try:
        return BulkAction(name or "")
    except ValueError:
        raise OperateError(f"action: one of {', '.join(BulkAction)}, not {name!r}", 400) from None


def canonical(action: BulkAction, values: dict[str, str]) -> dict[str, str]:
    """Return the filter with ages turned into times, so the job does what was counted."""
    if action is BulkAction.REPLAY:
        return parse_event_filter(values, context.now()).to_params()
    return parse_activity_filter(values, context.now()).to_params()
