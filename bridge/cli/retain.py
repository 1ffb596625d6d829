"""Personal data on request and by age: `purge` (what retention takes, now) and `erase` (one person's data).

Both call the functions the worker's purge and the console's and API's
erasure call (bridge/operate/retention.py and erasure.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import click

from bridge.cli.options import actor_of, open_services
from bridge.cli.output import as_json, table


@click.command(short_help="erase payloads and delete records past their retention now (--dry-run: count)")
@click.option("--dry-run", is_flag=True, help="only count what would be erased and deleted")
@click.option("--yes", is_flag=True, help="purge without asking")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def purge(environ: Mapping[str, str], /, dry_run: bool, yes: bool, as_json_output: bool) -> int:
    """Do now what the worker's purge does in the background ([retention] in bridge.toml).

    Finished events older than retain_payload_days lose their body and
    headers; those older than retain_events_days are deleted with their
    activities and calls. Events still in flight are never touched. Expired
    look-up cache entries, sent alerts and ended jobs older than
    retain_events_days, and audit entries older than retain_audit_days go too.
    """
    from bridge.operate.retention import Purged, other_rows_plan, purge_now, purge_plan

    wired = open_services(environ)
    now = time.time()
    plan, other = purge_plan(wired, now), other_rows_plan(wired, now)
    nothing_due = not plan and not other.rows
    if as_json_output and (dry_run or nothing_due):
        click.echo(as_json({"sources": plan, "other_rows": other}))
        return 0
    if not as_json_output:
        rows = [(item.source, item.payloads, item.events) for item in plan]
        table(["SOURCE", "PAYLOADS TO ERASE", "EVENTS TO DELETE"], rows or [("(none due)", 0, 0)])
        click.echo(
            f"besides events: {other.lookups} expired look-ups, {other.alerts} alerts, {other.jobs} jobs "
            f"and {other.audit_entries} audit entries to delete"
        )
    if dry_run or nothing_due:
        return 0
    if not yes:
        click.confirm("purge them now?", abort=True, err=True)

    def progress(done: Purged) -> None:
        click.echo(
            f"\r{done.payloads} payloads erased, {done.events} events and {done.activities} activities "
            f"deleted, {done.calls} calls and {done.other_rows} other rows deleted",
            nl=False,
            err=True,
        )

    done = purge_now(wired, progress=progress)
    click.echo("", err=True)
    click.echo(as_json(done) if as_json_output else "purged: nothing more is due")
    return 0


@click.command(short_help="erase one person's data: every payload carrying an email, phone or PAN")
@click.option("--email", help="an email address (any case)")
@click.option("--phone", help="a phone number: an Indian mobile in any usual form, or E.164")
@click.option("--pan", help="a PAN (any case)")
@click.option(
    "--scan-all",
    is_flag=True,
    help="also read every payload still held: for events stored before the bridge recorded hashes",
)
@click.option("--yes", is_flag=True, help="erase without asking")
@click.option("--json", "as_json_output", is_flag=True, help="print JSON for a script")
@click.pass_obj
def erase(
    environ: Mapping[str, str],
    /,
    email: str | None,
    phone: str | None,
    pan: str | None,
    scan_all: bool,
    yes: bool,
    as_json_output: bool,
) -> int:
    """Erase the payload and headers of every event carrying this person's identifier, now.

    Give exactly one of --email, --phone, --pan. Events are found by the keyed
    hashes the worker recorded (BRIDGE_ERASURE_KEY must be the worker's key).
    Their ids, keys and statuses stay, so a redelivery is still a duplicate.
    LeadSquared's copy is left alone: delete the lead there too.
    """
    from bridge.operate.erasure import erase_person, wanted_identifier

    given = [(kind, value) for kind, value in (("email", email), ("phone", phone), ("pan", pan)) if value]
    if len(given) != 1:
        click.echo("erase: give exactly one of --email, --phone or --pan", err=True)
        return 2
    kind, value = given[0]
    wanted_identifier(kind, value)  # a typo is refused before anything is asked
    wired = open_services(environ)
    if not yes:
        click.confirm(
            f"erase every payload carrying this {kind}? This cannot be undone", abort=True, err=True
        )
    result = erase_person(wired, kind, value, actor_of(environ), time.time(), scan_all=scan_all)
    click.echo(as_json(result) if as_json_output else result.detail)
    return 0
