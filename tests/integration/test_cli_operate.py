"""The operator's commands against a real store and the sandbox: look, replay, retry, pause, bulk jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge.cli.main import main
from bridge.operate.jobs import JobRunner
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from tests.conftest import bridge_environ, write_config
from tests.support import (
    activity_rows,
    add_fault,
    body_of,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    sandbox_received,
    settled,
)

URL = "/webhooks/razorpay"


@pytest.fixture
def environ(tmp_path: Path, database_url: str, sandbox: SandboxServer, services: Services) -> dict[str, str]:
    """The environment an operator's shell has: the same store, configuration and keys as the services."""
    return bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(write_config(tmp_path)), USER="asha")


def run(environ: dict[str, str], capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run one command; return its exit status, what it printed, and what it said on stderr."""
    status = main(list(argv), environ)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def post(client: FlaskClient, event: dict[str, object], event_id: str) -> None:
    """Post one signed Razorpay delivery and check it was accepted."""
    body = body_of(event)
    assert client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code == 202


def test_events_list_and_show_tell_what_happened_with_personal_data_masked(
    client: FlaskClient, services: Services, environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An unmapped event is listed as ignored with its reason; show masks the email and the signature."""
    post(client, payment_event("pay_C1", "opp-c", event="payment.authorized"), "evt_C1")
    post(client, payment_event("pay_C2", "opp-c"), "evt_C2")
    run_worker_until(services, settled(services))
    status, out, _ = run(environ, capsys, "events", "list", "--status", "ignored", "--json")
    page = json.loads(out)
    assert status == 0 and [item["idempotency_key"] for item in page["items"]] == ["evt_C1"]
    assert page["items"][0]["reason"] == "no mapping for event type 'payment.authorized'"
    status, out, _ = run(environ, capsys, "events", "show", str(page["items"][0]["id"]))
    assert status == 0 and "no mapping for event type 'payment.authorized'" in out
    assert "lead@example.com" not in out and "l***@example.com" in out
    assert "+919800000001" not in out
    status, out, _ = run(environ, capsys, "events", "show", str(event_rows(services)[1].id))
    assert "delivery" in out and "posted" in out and "200" in out
    status, out, err = run(environ, capsys, "events", "show", "999")
    assert (status, err.strip()) == (1, "no event 999")


def test_a_bad_filter_is_a_usage_error_naming_the_field(
    environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown status exits 2 and says which statuses there are."""
    status, _, err = run(environ, capsys, "events", "list", "--status", "lost")
    assert status == 2
    assert "bad filter: status: one of received, transformed, ignored, failed" in err


def test_replay_without_a_fix_stays_ignored_and_a_bulk_replay_runs_as_a_job(
    client: FlaskClient, services: Services, environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Replaying one ignored event says so; a dry run counts; a started job is run by the worker to done."""
    for number in range(3):
        post(client, payment_event(f"pay_J{number}", "opp-j", event="payment.authorized"), f"evt_J{number}")
    run_worker_until(services, settled(services))
    first = event_rows(services)[0].id
    status, out, _ = run(environ, capsys, "replay", str(first))
    assert status == 0 and "ignored" in out
    status, out, _ = run(environ, capsys, "replay", "--status", "ignored", "--dry-run")
    assert (status, out.strip()) == (0, "3 events match")
    status, out, _ = run(environ, capsys, "replay", "--status", "ignored", "--yes", "--no-wait", "--json")
    job = json.loads(out)
    assert status == 0 and (job["total"], job["status"], job["requested_by"]) == (3, "queued", "cli:asha")
    worker = Worker(services, chores=[JobRunner])
    run_worker_until(
        services,
        lambda: (
            json.loads(run(environ, capsys, "jobs", "show", str(job["id"]), "--json")[1])["status"] == "done"
        ),
        worker=worker,
    )
    status, out, _ = run(environ, capsys, "jobs", "list")
    assert status == 0 and "replay" in out and "done" in out and "3/3" in out


def test_retry_brings_a_dead_activity_back_and_pause_holds_deliveries_until_resume(
    client: FlaskClient,
    services: Services,
    sandbox: SandboxServer,
    environ: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused row dies; paused, its retry waits; resumed, it is delivered once."""
    add_fault(sandbox.url, path="ByOpportunityId", fail_rows=[1], message="Invalid dropdown value")
    post(client, payment_event("pay_R1", "opp-r"), "evt_R1")
    run_worker_until(services, settled(services))
    [dead] = activity_rows(services)
    assert dead.status == "dead"
    assert run(environ, capsys, "pause", "main")[0] == 0
    status, out, _ = run(environ, capsys, "retry", str(dead.id))
    assert status == 0
    status, _, err = run(environ, capsys, "retry", str(dead.id))
    assert status == 1 and "refused" in err
    status, out, _ = run(environ, capsys, "activities", "list", "--status", "pending", "--json")
    assert [item["id"] for item in json.loads(out)["items"]] == [dead.id]
    assert run(environ, capsys, "resume", "main")[0] == 0
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["delivered"]
    assert len(sandbox_received(sandbox.url)["activities"]) == 1


def test_an_operators_shell_needs_no_webhook_secret(
    environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator's commands verify no webhook, so they run where the sources' secrets are not set."""
    without_secrets = {k: v for k, v in environ.items() if k != "RAZORPAY_WEBHOOK_SECRET"}
    status, out, err = run(without_secrets, capsys, "events", "list", "--json")
    assert (status, err) == (0, "") and json.loads(out) == {"items": [], "next_after": None}
