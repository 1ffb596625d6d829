"""Look without changing anything: `events list|show`, `activities list`, `jobs list|show`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import click

from bridge.cli.options import (
    ACTIVITY_OPTIONS,
    EVENT_OPTIONS,
    activity_filters,
    event_filters,
    filter_values,
    open_services,
)
from bridge.cli.output import as_json, moment, short, table
from bridge.operate.filters import parse_activity_filter, parse_event_filter

PAGE_OPTIONS = (
    click.option("--after", type=int, help="show the page older than this id (the last one shown)"),
    click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True),
    click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script"),
)


def _paged(command: Any) -> Any:
    for option in reversed(PAGE_OPTIONS):
        command = option(command)
    return command


@click.group(short_help="list and show stored webhooks, with their activities and calls")
def events() -> None:
    """Stored webhook events: list them by filter, or show one whole."""


@events.command("list")
@event_filters
@_paged
@click.pass_obj
def list_events(environ: Mapping[str, str], /, **options: Any) -> int:
    """List events newest first; --after the last id shown gives the next page."""
    from bridge.operate.queries import list_events as query

    wired = open_services(environ)
    wanted = parse_event_filter(filter_values(options, EVENT_OPTIONS), time.time())
    page = query(wired.reader, wanted, list(wired.settings.sources), options["after"], options["limit"])
    if options["as_json_output"]:
        click.echo(as_json(page))
        return 0
    rows = [
        (e.id, moment(e.received_at), e.source, e.event_type, e.status, e.activities, short(e.reason, 60))
        for e in page.items
    ]
    table(["ID", "RECEIVED", "SOURCE", "TYPE", "STATUS", "ACTIVITIES", "REASON"], rows)
    if page.next_after is not None:
        click.echo(f"\nolder: add --after {page.next_after}")
    return 0


@events.command("show")
@click.argument("event_id", type=int)
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def show_event(environ: Mapping[str, str], /, event_id: int, as_json_output: bool) -> int:
    """Show one event: headers, masked payload, repeats, and each activity's calls."""
    from bridge.operate.queries import event_detail

    detail = event_detail(open_services(environ).reader, event_id)
    if detail is None:
        click.echo(f"no event {event_id}", err=True)
        return 1
    if as_json_output:
        click.echo(as_json(detail))
        return 0
    event = detail.summary
    click.echo(f"event {event.id}: {event.source} {event.event_type or '-'} ({event.status})")
    click.echo(f"received {moment(event.received_at)}, key {event.idempotency_key}")
    if event.reason:
        click.echo(f"reason: {event.reason}")
    for received_at in detail.duplicates:
        click.echo(f"repeated {moment(received_at)}")
    click.echo("\nheaders:")
    for name, value in detail.headers.items():
        click.echo(f"  {name}: {value}")
    click.echo("\npayload:\n" + (detail.payload or "(erased)"))
    for activity in detail.activities:
        _show_activity(activity)
    return 0


def _show_activity(activity: Any) -> None:
    summary = activity.summary
    if summary.status == "delivered":
        # attempts counts failures only, and a retry resets it: a delivery says what LeadSquared gave.
        progress = f"delivered {moment(summary.delivered_at)} as {summary.prospect_activity_id or '-'}"
    else:
        progress = f"{summary.attempts} failed attempts"
    click.echo(
        f"\nactivity {summary.id} [{summary.status}] {summary.account} opportunity "
        f"{summary.opportunity_id or '(looking up)'}: {progress}"
    )
    if summary.last_error:
        click.echo(f"  last error: {summary.last_error}")
    for call in activity.calls:
        answer = call.result or call.exception_type or call.message or ""
        rows = "1 row" if call.rows == 1 else f"{call.rows} rows"
        click.echo(
            f"  {moment(call.started_at)} {call.kind:9} {call.http_status or '---'} {call.outcome:13} "
            f"{call.duration_seconds * 1000:7.0f} ms, waited {call.waited_seconds:5.2f} s, "
            f"{rows}  {short(answer, 50)}"
        )


@click.group(short_help="list activities owed to LeadSquared, by filter")
def activities() -> None:
    """Activities: what each event became, and where each is in delivery."""


@activities.command("list")
@activity_filters
@_paged
@click.pass_obj
def list_activities(environ: Mapping[str, str], /, **options: Any) -> int:
    """List activities newest first; --after the last id shown gives the next page."""
    from bridge.operate.queries import list_activities as query

    wired = open_services(environ)
    wanted = parse_activity_filter(filter_values(options, ACTIVITY_OPTIONS), time.time())
    page = query(wired.reader, wanted, options["after"], options["limit"])
    if options["as_json_output"]:
        click.echo(as_json(page))
        return 0
    rows = [
        (a.id, a.event_id, a.account, a.opportunity_id, a.status, a.attempts, short(a.last_error, 60))
        for a in page.items
    ]
    table(["ID", "EVENT", "ACCOUNT", "OPPORTUNITY", "STATUS", "ATTEMPTS", "LAST ERROR"], rows)
    if page.next_after is not None:
        click.echo(f"\nolder: add --after {page.next_after}")
    return 0
