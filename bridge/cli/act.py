"""Change things, as the console's buttons do: replay, retry, resolve, pause, resume, and bulk jobs.

Each command calls the same function in bridge/operate/ as the console and
the API. Given an id it acts at once; given filters it first says how many
rows match (--dry-run stops there), asks, then starts a job the worker runs
and follows it with a progress bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

import click

from bridge.cli.options import (
    ACTIVITY_OPTIONS,
    EVENT_OPTIONS,
    activity_filters,
    actor_of,
    event_filters,
    filter_values,
    open_services,
)
from bridge.cli.output import as_json, moment, table
from bridge.operate.jobs import BulkAction, JobSummary
from bridge.services import Services

BULK_OPTIONS = (
    click.option("--dry-run", is_flag=True, help="only say how many rows match"),
    click.option("--yes", is_flag=True, help="start the bulk job without asking"),
    click.option("--no-wait", is_flag=True, help="start the job and return; follow it with `jobs show`"),
    click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script"),
)
FOLLOW_SECONDS = 0.5


def _bulk_options(command: Any) -> Any:
    for option in reversed(BULK_OPTIONS):
        command = option(command)
    return command


@click.command(short_help="transform events again with the current configuration and queue the result")
@click.argument("event_id", type=int, required=False)
@event_filters
@_bulk_options
@click.pass_obj
def replay(environ: Mapping[str, str], /, event_id: int | None, **options: Any) -> int:
    """Replay EVENT_ID, or every event the filters match (after the mapping was fixed).

    An activity already delivered is never posted again: its key is the same.
    """
    from bridge.operate.actions import replay_event

    wired = open_services(environ)
    if event_id is not None:
        result = replay_event(wired, event_id, actor_of(environ), time.time())
        return _done(result, options["as_json_output"])
    params = filter_values(options, EVENT_OPTIONS)
    return _bulk(wired, environ, BulkAction.REPLAY, params, "events", options)


@click.command(short_help="make dead activities due again, attempts reset")
@click.argument("activity_id", type=int, required=False)
@activity_filters
@_bulk_options
@click.pass_obj
def retry(environ: Mapping[str, str], /, activity_id: int | None, **options: Any) -> int:
    """Retry dead activity ACTIVITY_ID, or every dead activity the filters match."""
    from bridge.operate.actions import retry_activity

    wired = open_services(environ)
    if activity_id is not None:
        result = retry_activity(wired.engine, activity_id, actor_of(environ), time.time())
        return _done(result, options["as_json_output"])
    params = filter_values(options, ACTIVITY_OPTIONS)
    return _bulk(wired, environ, BulkAction.RETRY, params, "dead activities", options)


@click.command(short_help="settle activities whose outcome is unknown, by hand")
@click.argument("activity_id", type=int, required=False)
@click.option(
    "--as",
    "how",
    type=click.Choice(["delivered", "repost"]),
    required=True,
    help="delivered: it is in LeadSquared; repost: post it again",
)
@activity_filters
@_bulk_options
@click.pass_obj
def resolve(environ: Mapping[str, str], /, activity_id: int | None, how: str, **options: Any) -> int:
    """Resolve unknown activity ACTIVITY_ID, or every unknown activity the filters match."""
    from bridge.operate.actions import resolve_activity

    wired = open_services(environ)
    if activity_id is not None:
        result = resolve_activity(wired.engine, activity_id, how, actor_of(environ), time.time())  # type: ignore[arg-type]
        return _done(result, options["as_json_output"])
    action = BulkAction.RESOLVE_DELIVERED if how == "delivered" else BulkAction.RESOLVE_REPOST
    params = filter_values(options, ACTIVITY_OPTIONS)
    return _bulk(wired, environ, action, params, "unknown activities", options)


@click.command(short_help="hold an account's deliveries (nothing is dropped) until resume")
@click.argument("account")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def pause(environ: Mapping[str, str], /, account: str, as_json_output: bool) -> int:
    """Pause ACCOUNT: no call goes to LeadSquared for it until an operator resumes it."""
    from bridge.operate.actions import pause as pause_account

    result = pause_account(open_services(environ), account, actor_of(environ), time.time())
    return _done(result, as_json_output)


@click.command(short_help="let a paused account's deliveries go again, within its limit")
@click.argument("account")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def resume(environ: Mapping[str, str], /, account: str, as_json_output: bool) -> int:
    """Resume ACCOUNT, whoever paused it: what waited drains within the rate limit."""
    from bridge.operate.actions import resume as resume_account

    result = resume_account(open_services(environ), account, actor_of(environ), time.time())
    return _done(result, as_json_output)


def _done(result: Any, as_json_output: bool) -> int:
    click.echo(as_json(result) if as_json_output else result.detail)
    return 0


def _bulk(
    wired: Services,
    environ: Mapping[str, str],
    action: BulkAction,
    params: dict[str, str],
    what: str,
    options: Mapping[str, Any],
) -> int:
    """Count the matching rows; unless a dry run, start the job on a yes and follow it."""
    from bridge.operate.jobs import count_bulk, start_bulk

    matched = count_bulk(wired, action, params, time.time())
    if options["dry_run"] or matched == 0:
        click.echo(
            as_json({"action": action.value, "matched": matched})
            if options["as_json_output"]
            else f"{matched} {what} match"
        )
        return 0
    if not options["yes"]:
        click.confirm(f"{matched} {what} match: {action.value} them?", abort=True, err=True)
    job = start_bulk(wired, action, params, actor_of(environ), time.time())
    if options["no_wait"]:
        click.echo(as_json(job) if options["as_json_output"] else f"job {job.id} started: {matched} {what}")
        return 0
    job = follow(wired, job)
    click.echo(as_json(job) if options["as_json_output"] else describe(job))
    return 0 if job.status == "done" else 1


def follow(wired: Services, job: JobSummary) -> JobSummary:
    """Show the job's progress until it ends; Ctrl-C leaves it running in the worker."""
    from bridge.operate.jobs import get_job

    shown = 0
    try:
        bar: Any = click.progressbar(length=max(job.total, 1), label=f"job {job.id}", file=sys.stderr)
        with bar:
            while job.status in ("queued", "running"):
                time.sleep(FOLLOW_SECONDS)
                job = get_job(wired.engine, job.id) or job
                bar.update(job.processed - shown)
                shown = job.processed
    except KeyboardInterrupt:
        click.echo(
            f"\njob {job.id} goes on in the worker; stop it with: lsq-bridge jobs cancel {job.id}", err=True
        )
    return job


def describe(job: JobSummary) -> str:
    """Return one line on a job: what, how far, and how it ended."""
    ended = f", ended {moment(job.finished_at)}" if job.finished_at else ""
    error = f": {job.error}" if job.error else ""
    return (
        f"job {job.id} {job.action} {job.status}{error}: {job.processed} of {job.total} handled, "
        f"{job.changed} changed{ended}"
    )


@click.group(short_help="list, follow and cancel bulk jobs")
def jobs() -> None:
    """Bulk jobs: replays, retries and resolves by filter, run by the worker."""


@jobs.command("list")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def list_jobs(environ: Mapping[str, str], /, as_json_output: bool) -> int:
    """List the latest jobs, newest first."""
    from bridge.operate.jobs import list_jobs as query

    found = query(open_services(environ).engine)
    if as_json_output:
        click.echo(as_json(found))
        return 0
    rows = [
        (
            j.id,
            j.action,
            j.status,
            f"{j.processed}/{j.total}",
            j.changed,
            j.requested_by,
            moment(j.created_at),
        )
        for j in found
    ]
    table(["ID", "ACTION", "STATUS", "DONE", "CHANGED", "BY", "ASKED"], rows)
    return 0


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--follow", "follow_progress", is_flag=True, help="follow its progress until it ends")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def show_job(environ: Mapping[str, str], /, job_id: int, follow_progress: bool, as_json_output: bool) -> int:
    """Show one job; --follow shows its progress until it ends."""
    from bridge.operate.jobs import get_job

    wired = open_services(environ)
    job = get_job(wired.engine, job_id)
    if job is None:
        click.echo(f"no job {job_id}", err=True)
        return 1
    if follow_progress:
        job = follow(wired, job)
    click.echo(as_json(job) if as_json_output else describe(job))
    return 0


@jobs.command("cancel")
@click.argument("job_id", type=int)
@click.pass_obj
def cancel(environ: Mapping[str, str], /, job_id: int) -> int:
    """Ask the worker to stop a job; rows it already handled stay handled."""
    from bridge.operate.jobs import cancel_job

    job = cancel_job(open_services(environ).engine, job_id, actor_of(environ), time.time())
    click.echo(describe(job))
    return 0
