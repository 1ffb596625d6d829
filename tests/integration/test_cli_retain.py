"""`lsq-bridge purge` and `lsq-bridge erase` against a real store: what they count, do, print and refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.cli.main import main
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.audit import latest_entries
from bridge.store.tables import events
from tests.conftest import bridge_environ, write_config
from tests.support import body_of, payment_event, razorpay_headers, run_worker_until, settled

URL = "/webhooks/razorpay"


@pytest.fixture
def environ(tmp_path: Path, database_url: str, sandbox: SandboxServer, services: Services) -> dict[str, str]:
    """An operator's shell: the services' store, configuration and erasure key, no webhook secret needed."""
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(write_config(tmp_path)), USER="asha")
    del environ["RAZORPAY_WEBHOOK_SECRET"]
    return environ


def run(environ: dict[str, str], capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run one command; return its exit status, what it printed, and what it said on stderr."""
    status = main(list(argv), environ)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def delivered(client: FlaskClient, services: Services, *event_ids: str) -> None:
    """Post one payment per event id and let a worker deliver them."""
    for event_id in event_ids:
        body = body_of(payment_event(f"pay_{event_id}", "opp-cli"))
        assert client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code == 202
    run_worker_until(services, settled(services))


def age(services: Services, days: float) -> None:
    """Make every event as old as days."""
    with services.engine.begin() as connection:
        connection.execute(sa.update(events).values(received_at=events.c.received_at - days * 86400))


def test_purge_dry_run_counts_per_source_then_purge_erases_with_a_progress_line(
    client: FlaskClient, services: Services, environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints a table and changes nothing; --yes erases and shows its progress on stderr."""
    delivered(client, services, "evt_P1", "evt_P2")
    status, out, _ = run(environ, capsys, "purge", "--dry-run")
    assert status == 0 and "(none due)" in out
    assert "besides events: 0 expired look-ups, 0 alerts, 0 jobs and 0 audit entries to delete" in out
    age(services, 45)
    status, out, _ = run(environ, capsys, "purge", "--dry-run", "--json")
    assert status == 0 and json.loads(out) == {
        "sources": [{"source": "razorpay", "payloads": 2, "events": 0}],
        "other_rows": {"lookups": 0, "alerts": 0, "jobs": 0, "audit_entries": 0},
    }
    with services.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).where(events.c.body == b"")).scalar_one() == 0
    status, out, err = run(environ, capsys, "purge", "--yes")
    assert status == 0 and "razorpay" in out and "purged" in out
    assert "2 payloads erased" in err
    age(services, 400)
    status, out, err = run(environ, capsys, "purge", "--yes", "--json")
    assert status == 0 and json.loads(out)["events"] == 2 and "2 events and 2 activities deleted" in err


def test_erase_by_email_prints_what_it_did_and_is_audited_as_the_operator(
    client: FlaskClient, services: Services, environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The answer counts the events and names LeadSquared; the audit names cli:asha and no email."""
    delivered(client, services, "evt_E1", "evt_E2")
    status, out, _ = run(environ, capsys, "erase", "--email", "LEAD@example.com", "--yes", "--json")
    answer = json.loads(out)
    assert status == 0 and (answer["matched"], answer["changed"]) == (2, 2)
    assert "LeadSquared's copy is untouched" in answer["detail"]
    entry = latest_entries(services.engine, limit=1)[0]
    assert (entry.actor, entry.action, entry.rows) == ("cli:asha", "erase", 2)
    assert "lead" not in f"{entry.target} {entry.detail}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["erase", "--yes"], "exactly one"),
        (["erase", "--email", "a@b.co", "--pan", "ABCDE1234F", "--yes"], "exactly one"),
        (["erase", "--phone", "12345", "--yes"], "not a phone number"),
    ],
)
def test_erase_refuses_no_identifier_two_or_a_bad_one_with_status_2(
    environ: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A usage error exits 2 saying what to give; nothing is audited."""
    status, _, err = run(environ, capsys, *argv)
    assert status == 2 and message in err


def test_erase_without_the_key_names_the_variable_and_erases_nothing(
    client: FlaskClient, services: Services, environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without BRIDGE_ERASURE_KEY the command refuses, naming the variable and never a value."""
    delivered(client, services, "evt_K1")
    del environ["BRIDGE_ERASURE_KEY"]
    status, _, err = run(environ, capsys, "erase", "--email", "lead@example.com", "--yes")
    assert status == 1 and "BRIDGE_ERASURE_KEY is not set" in err
    with services.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).where(events.c.body == b"")).scalar_one() == 0
