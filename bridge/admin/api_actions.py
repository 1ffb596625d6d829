"""The API's actions: replay, retry, resolve (one row, or a bulk job by filter), pause, resume, cancel, erase.

Each calls the same function in bridge/operate as the console and the
command line, as Actor("api", <client address>). A bulk request is a dry run
(the count) unless it says "dry_run": false; then it starts a job and answers
202 with it. A body that cannot be used is refused with 400 naming the field.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.operate.actions import OperateError, pause, replay_event, resolve_activity, resume, retry_activity
from bridge.operate.erasure import erase_person
from bridge.operate.jobs import BulkAction, cancel_job, count_bulk, start_bulk

bp = Blueprint("api_actions", __name__, url_prefix="/api")

RESOLUTIONS = ("delivered", "repost")


@bp.post("/replay")
def replay() -> ResponseReturnValue:
    """Replay one event ({"event_id": n}) or every event a filter matches ({"filter": {...}})."""
    body = json_body({"event_id", "filter", "dry_run"})
    if one_or_bulk(body, "event_id"):
        wired = context.services()
        return asdict(replay_event(wired, row_id(body, "event_id"), context.actor(), context.now()))
    return bulk(BulkAction.REPLAY, body)


@bp.post("/retry")
def retry() -> ResponseReturnValue:
    """Retry one dead activity ({"activity_id": n}) or every dead one a filter matches."""
    body = json_body({"activity_id", "filter", "dry_run"})
    if one_or_bulk(body, "activity_id"):
        engine = context.services().engine
        return asdict(retry_activity(engine, row_id(body, "activity_id"), context.actor(), context.now()))
    return bulk(BulkAction.RETRY, body)


@bp.post("/resolve")
def resolve() -> ResponseReturnValue:
    """Settle unknown activities by hand, "as": "delivered" (it is in LeadSquared) or "repost" (it is not)."""
    body = json_body({"activity_id", "as", "filter", "dry_run"})
    how = resolution(body)
    if one_or_bulk(body, "activity_id"):
        engine, activity_id = context.services().engine, row_id(body, "activity_id")
        return asdict(resolve_activity(engine, activity_id, how, context.actor(), context.now()))
    return bulk(BulkAction(f"resolve_{how}"), body)


@bp.post("/accounts/<name>/pause")
def pause_account(name: str) -> ResponseReturnValue:
    """Pause an account's deliveries until an operator resumes them."""
    return asdict(pause(context.services(), name, context.actor(), context.now()))


@bp.post("/accounts/<name>/resume")
def resume_account(name: str) -> ResponseReturnValue:
    """Let a paused account's deliveries go again."""
    return asdict(resume(context.services(), name, context.actor(), context.now()))


@bp.post("/erase")
def erase() -> ResponseReturnValue:
    """Erase the payload of every event carrying one person's email, phone or PAN."""
    body = json_body({"email", "phone", "pan", "scan_all"})
    given = [name for name in ("email", "phone", "pan") if name in body]
    if len(given) != 1:
        raise OperateError('send exactly one of email, phone or pan, e.g. {"email": "x@example.com"}', 400)
    value, scan_all = body[given[0]], body.get("scan_all", False)
    if not isinstance(value, str):
        raise OperateError(f"{given[0]}: give it as text, not {type(value).__name__}", 400)
    if not isinstance(scan_all, bool):
        raise OperateError("scan_all: true (also read every payload still held) or false", 400)
    result = erase_person(context.services(), given[0], value, context.actor(), context.now(), scan_all)
    return asdict(result)


@bp.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int) -> ResponseReturnValue:
    """Stop a bulk job; the rows it handled stay handled."""
    return asdict(cancel_job(context.services().engine, job_id, context.actor(), context.now()))


def bulk(action: BulkAction, body: dict[str, Any]) -> ResponseReturnValue:
    """Count what a bulk action would touch, or start its job (202, with the job's URL)."""
    params = filter_params(body)
    wired, now = context.services(), context.now()
    if body.get("dry_run", True):
        return {"action": action.value, "dry_run": True, "matched": count_bulk(wired, action, params, now)}
    job = start_bulk(wired, action, params, context.actor(), now)
    return asdict(job), 202, {"Location": url_for("api.job", job_id=job.id)}


def json_body(allowed: set[str]) -> dict[str, Any]:
    """Return the request's JSON object; anything else, or a name not in allowed, is refused with 400."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise OperateError('send a JSON object as the body, e.g. {"event_id": 12}', 400)
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise OperateError(f"{unknown[0]}: not a field here; use {', '.join(sorted(allowed))}", 400)
    if not isinstance(body.get("dry_run", True), bool):
        raise OperateError("dry_run: true (count only) or false (start the job)", 400)
    return body


def one_or_bulk(body: dict[str, Any], id_name: str) -> bool:
    """Tell whether the body names one row (True) or a filter (False); refuse both or neither."""
    if (id_name in body) == ("filter" in body):
        raise OperateError(
            f"send either {id_name} for one row or filter for a bulk job, not both or neither", 400
        )
    if id_name in body and "dry_run" in body:
        raise OperateError(f"dry_run goes with filter; {id_name} acts on one row at once", 400)
    return id_name in body


def row_id(body: dict[str, Any], name: str) -> int:
    """Return a row id from the body: a whole number above 0."""
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise OperateError(f"{name}: a row's number, not {value!r}", 400)
    return value


def filter_params(body: dict[str, Any]) -> dict[str, str]:
    """Return the body's filter as the text values filters.py parses."""
    given = body["filter"]
    if not isinstance(given, dict):
        raise OperateError('filter: an object of filter names and values, e.g. {"status": "dead"}', 400)
    for name, value in given.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise OperateError(f"filter.{name}: give text or a number, not {type(value).__name__}", 400)
    return {name: str(value) for name, value in given.items()}


def resolution(body: dict[str, Any]) -> Literal["delivered", "repost"]:
    """Return how to resolve: "delivered" or "repost"."""
    return resolution_named(body.get("as"))


def resolution_named(how: object) -> Literal["delivered", "repost"]:
    """Return "delivered" or "repost" as named; anything else is refused with 400."""
    if how == "delivered":
        return "delivered"
    if how == "repost":
        return "repost"
    raise OperateError(
        f'as: "delivered" (it is in LeadSquared) or "repost" (post it again), not {how!r}', 400
    )
