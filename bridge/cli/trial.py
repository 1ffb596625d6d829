"""Trying a mapping without the provider: transform (a dry run) and send-sample (to a running bridge)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click

from bridge import services


@click.command(short_help="print the LeadSquared calls a payload would become (a dry run), or why none")
@click.argument("source")
@click.argument("payload", type=click.Path(path_type=Path))
@click.option(
    "--event-type",
    help="the event type, for sources that send it in a header (GitHub-style: X-GitHub-Event)",
)
@click.pass_obj
def transform(environ: Mapping[str, str], source: str, payload: Path, event_type: str | None) -> int:
    """Print the calls PAYLOAD would become under bridge.toml; exit 1 saying why when it becomes none.

    SOURCE is a source name from the configuration, e.g. razorpay; PAYLOAD a
    file holding one delivery's body (JSON, or the form a gateway such as
    PayU or Paytm posts); for a
    sealed source (ccavenue, phonepe) the decrypted or decoded body, as the
    bridge stores it. Needs no secrets and calls nothing.
    """
    from bridge.cli.workbench import WorkbenchError, dry_run

    loaded = services.configuration(environ, services.source_registry(), require_secrets=False)
    try:
        calls = dry_run(loaded.settings, loaded.kinds, source, payload.read_bytes(), event_type)
    except (WorkbenchError, OSError) as error:
        click.echo(f"cannot transform: {error}", err=True)
        return 1
    for call in calls:
        click.echo(f"POST {call.url}")
        click.echo(json.dumps(call.body, indent=2, ensure_ascii=False))
    return 0


@click.command(
    "send-sample", short_help="post a correctly signed sample delivery (or a handshake) to a running bridge"
)
@click.argument("source")
@click.argument("event_type", required=False)
@click.option("--url", default="http://127.0.0.1:8000", help="the bridge (default http://127.0.0.1:8000)")
@click.option(
    "--handshake",
    is_flag=True,
    help="run the provider's verification handshake instead (Meta's GET challenge, Zoom's url_validation)",
)
@click.pass_obj
def send_sample(
    environ: Mapping[str, str], source: str, event_type: str | None, url: str, handshake: bool
) -> int:
    """Post the shipped sample EVENT_TYPE of SOURCE, signed; print the answer; exit 1 unless it was 2xx.

    SOURCE is a source name from the configuration, e.g. razorpay; EVENT_TYPE
    e.g. payment.captured (the samples are in transforms/samples/). With
    --handshake, and no EVENT_TYPE, perform the provider's verification
    handshake as the provider would, print what came back, and exit 1 unless
    it is the answer the provider expects.
    """
    from bridge.cli import workbench

    if handshake == (event_type is not None):
        click.echo("cannot send: give an EVENT_TYPE, or --handshake (not both)", err=True)
        return 1
    loaded = services.configuration(environ, services.source_registry(), require_secrets=False)
    try:
        if handshake:
            reply = workbench.send_handshake(loaded.settings, loaded.kinds, source, url)
            verdict = "as the provider expects" if reply.expected else "NOT what the provider expects"
            click.echo(f"{reply.status_code} {reply.text.strip()}")
            click.echo(f"handshake answered {verdict}")
            return 0 if reply.expected else 1
        answer = workbench.send_sample(loaded.settings, loaded.kinds, source, event_type or "", url)
    except workbench.WorkbenchError as error:
        click.echo(f"cannot send: {error}", err=True)
        return 1
    click.echo(f"{answer.status_code} {answer.text.strip()}")
    return 0 if answer.ok else 1
