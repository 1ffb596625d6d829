"""Alerts from the real processes: a rotation gone wrong reaches a local sink once, and its fix once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bridge import create_app
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.tables import account_state, alert_outbox
from tests.alert_sink import alert_sink
from tests.conftest import POSTGRES_ONLY, ROOT, TEST_CONFIG, bridge_environ, make_services, write_config
from tests.e2e.conftest import start_procfile
from tests.e2e.test_processes import free_port, start, wait_until
from tests.support import activity_rows, body_of, payment_event, razorpay_headers, sandbox_received

# PostgreSQL alone: what the store decides here (each alert written once, however many evaluators
# race) tests/integration/test_alerts.py checks on both stores; this adds the processes and the sink.
pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

ALERTS = """
[alerts]
evaluate_every_seconds = 0.2
retry_base_seconds = 0.1
"""


def paused(services: Services) -> bool:
    """Tell whether the account main is paused."""
    with services.engine.connect() as connection:
        return bool(connection.execute(sa.select(account_state.c.paused)).scalar())


def alerts_written(services: Services) -> list[str]:
    """Return the kind of every alert the store holds, oldest first."""
    with services.engine.connect() as connection:
        return list(connection.execute(sa.select(alert_outbox.c.kind).order_by(alert_outbox.c.id)).scalars())


def start_admin(environ: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    """Start the Procfile's admin process and wait until it answers."""
    port = free_port()
    admin_environ = {**environ, "BRIDGE_ADMIN_PASSWORD": "e2e-alerts-password", "ADMIN_PORT": str(port)}
    admin = start_procfile("admin", admin_environ, tmp_path / "admin.log")
    health = f"http://127.0.0.1:{port}/healthz"
    wait_until(lambda: requests.get(health, timeout=1).ok, 20, "the admin process's start-up")
    return admin


def test_a_401_alerts_once_and_the_fixed_keys_resolve_once(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Wrong keys: the worker pauses the account and the sink gets one alert, however long it lasts,
    from the worker and the admin process both evaluating; fixed keys and a resume: one "resolved"."""
    config = TEST_CONFIG + ALERTS
    services = make_services(tmp_path, database_url, sandbox, config)
    body = body_of(payment_event("pay_1", "opp-1"))
    client = create_app(services).test_client()
    assert (
        client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, "evt_1")).status_code
        == 202
    )
    with alert_sink() as sink:
        good = bridge_environ(
            database_url,
            sandbox,
            BRIDGE_CONFIG=str(write_config(tmp_path, config)),
            BRIDGE_ALERT_WEBHOOK_URL=sink.url,
        )
        wrong = {**good, "LSQ_SECRET_KEY": "rotated-away"}
        admin = start_admin(good, tmp_path)
        worker = start([sys.executable, "-m", "bridge", "worker"], wrong, tmp_path / "worker-wrong.log")
        try:
            wait_until(lambda: len(sink.taken()) == 1, 30, "the pause's alert")
            # The pause goes on: the worker's probes keep meeting the 401 while every evaluator looks again.
            probes = len(sandbox_received(sandbox.url)["calls"])
            wait_until(
                lambda: len(sandbox_received(sandbox.url)["calls"]) >= probes + 5, 30, "five more probes"
            )
            assert paused(services) and len(sink.taken()) == 1
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
            # The operator fixes the key in the worker's environment, restarts it, and resumes the account.
            worker = start([sys.executable, "-m", "bridge", "worker"], good, tmp_path / "worker-good.log")
            resumed = subprocess.run(
                [sys.executable, "-m", "bridge", "resume", "main"],
                cwd=ROOT,
                env={**good, "PATH": os.environ["PATH"]},
                check=False,
            )
            assert resumed.returncode == 0
            wait_until(
                lambda: [r.status for r in activity_rows(services)] == ["delivered"], 30, "the delivery"
            )
            wait_until(lambda: len(sink.taken()) == 2, 30, "the resolved alert")
        finally:
            for process in (worker, admin):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        alert, resolved = sink.taken()
        assert sink.statuses == [200, 200]
    assert "LeadSquared refused the keys of account main (401)" in alert
    assert "1 activity waiting" in alert
    assert "Rotate LSQ_SECRET_KEY" in alert and "lsq-bridge resume main" in alert
    assert "Resolved: account paused for account main, resolved after" in resolved
    assert alerts_written(services) == ["started", "resolved"]
    for secret in ("rotated-away", sandbox.settings.secret_key, sandbox.settings.access_key, "sink-key"):
        assert secret not in alert + resolved


def test_the_admin_process_alone_says_that_no_worker_runs(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A worker killed with nobody to take over: the admin process posts "no worker running" once,
    and "resolved" once a worker beats again."""
    config = TEST_CONFIG + ALERTS + "worker_silent_seconds = 2\n"
    services = make_services(tmp_path, database_url, sandbox, config)
    with alert_sink() as sink:
        environ = bridge_environ(
            database_url,
            sandbox,
            BRIDGE_CONFIG=str(write_config(tmp_path, config)),
            BRIDGE_ALERT_WEBHOOK_URL=sink.url,
        )
        admin = start_admin(environ, tmp_path)
        worker = start([sys.executable, "-m", "bridge", "worker"], environ, tmp_path / "worker-1.log")
        try:
            wait_until(lambda: worker_beats(services) == 1, 30, "the first worker's heartbeat")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            wait_until(lambda: len(sink.taken()) == 1, 30, "the silence's alert")
            worker = start([sys.executable, "-m", "bridge", "worker"], environ, tmp_path / "worker-2.log")
            wait_until(lambda: len(sink.taken()) == 2, 30, "the resolved alert")
        finally:
            for process in (worker, admin):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        silent, resolved = sink.taken()
    assert (
        "lsq-bridge no worker running: workers." in silent and "No worker has written a heartbeat" in silent
    )
    assert "Resolved: no worker running for the workers, resolved after" in resolved
    assert alerts_written(services) == ["started", "resolved"]


def worker_beats(services: Services) -> int:
    """Return how many workers the store has heard of."""
    from bridge.store.tables import workers

    with services.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(workers)).scalar_one())
