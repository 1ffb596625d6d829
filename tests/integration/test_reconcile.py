"""Reading unknown outcomes back, against the sandbox over real HTTP, when the read-back itself fails."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flask.testing import FlaskClient

from bridge import create_app
from bridge.leadsquared.client import LeadSquaredClient
from bridge.pipeline.gate import Gate
from bridge.pipeline.reconcile import reconcile
from bridge.pipeline.transform import transform_received
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store import outbox, transitions
from bridge.store.accounts import AccountStore
from tests.conftest import TEST_CONFIG, make_services
from tests.integration.test_delivery import BULK, accept
from tests.support import activity_rows, add_fault, run_worker_until, sandbox_received, settled

READ_BACK = "GetActivitiesOfOpportunity"


def paths_called(sandbox: SandboxServer) -> list[tuple[str, int]]:
    """Return each call the sandbox received as (which endpoint, status)."""
    names = (BULK, READ_BACK, "UserByAccessKey")
    return [
        (next((n for n in names if n in call["path"]), call["path"]), call["status"])
        for call in sandbox_received(sandbox.url)["calls"]
    ]


def test_a_read_back_that_keeps_failing_gives_up_at_the_maximum_age(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """An unknown row whose read-back fails past max_age_seconds is dead, saying why, and is not reposted."""
    config = (
        TEST_CONFIG.replace("timeout_seconds = 5", "timeout_seconds = 0.5")
        .replace("max_age_seconds = 3600", "max_age_seconds = 2")
        .replace("max_attempts = 3", "max_attempts = 100")
    )
    services = make_services(tmp_path, database_url, sandbox, config)
    add_fault(sandbox.url, path=BULK, delay_seconds=1.5)
    read_back = "GetActivitiesOfOpportunity"
    add_fault(sandbox.url, path=read_back, status=500, times=1000, body={"Message": "down"})
    accept(create_app(services).test_client(), 1, 1)
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    assert row.status == "dead"
    assert "outcome still unknown" in row.last_error and "older than 2 s" in row.last_error
    bulk_calls = [c for c in sandbox_received(sandbox.url)["calls"] if BULK in c["path"]]
    assert len(bulk_calls) == 1


def test_a_401_on_a_read_back_pauses_the_account_until_a_probe_succeeds(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Refused keys on a read-back pause the account: no more read-backs until the probe passes, then one."""
    config = TEST_CONFIG.replace("timeout_seconds = 5", "timeout_seconds = 0.5")
    services = make_services(tmp_path, database_url, sandbox, config)
    add_fault(sandbox.url, path=BULK, delay_seconds=1.5)
    add_fault(sandbox.url, path=READ_BACK, status=401, times=1)
    accept(create_app(services).test_client(), 1, 1)
    run_worker_until(services, settled(services))
    assert paths_called(sandbox) == [
        (BULK, 200),
        (READ_BACK, 401),
        ("UserByAccessKey", 200),
        (READ_BACK, 200),
    ]
    [row] = activity_rows(services)
    assert row.status == "delivered"


def test_a_worker_stopping_before_a_read_back_hands_the_rows_back_untouched(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A stop while waiting for the read-back's slot keeps the row unknown, due now, no attempt counted."""
    accept(client, 1, 1)
    transform_received(services, time.time())
    engine, now = services.engine, time.time()
    claimed = outbox.claim_batch(engine, "w1", now, 30, ["main"])
    assert claimed is not None
    transitions.mark_unknown(engine, "w1", claimed.items, "LeadSquared did not answer within 5 s", now)
    batch = outbox.claim_unknown(engine, "w1", now, 30, ["main"])
    assert batch is not None
    stopped = threading.Event()
    stopped.set()
    client_of_main = LeadSquaredClient(services.settings.accounts["main"])
    policy = services.settings.delivery
    gate = Gate(client_of_main, AccountStore(engine), policy, stopped, time.time)
    reconcile(gate, engine, batch)
    [row] = activity_rows(services)
    assert (row.status, row.attempts) == ("unknown", 1)
    assert row.last_error == "reconciliation postponed: the worker stopped"
    assert row.next_attempt_at <= time.time()
    assert sandbox_received(sandbox.url)["calls"] == []
