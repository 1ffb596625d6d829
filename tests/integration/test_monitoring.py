"""The web app's /metrics and /readyz, and the worker's own server, against a real store and real sockets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import requests
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.monitor.exposition import metrics_registry
from bridge.monitor.worker_server import WorkerMonitor, worker_readiness
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.probe import PROBE_SOURCE, store_accepts_write
from bridge.store.tables import intake_refusals
from tests.conftest import TEST_CONFIG, make_services
from tests.support import body_of, count, payment_event, razorpay_headers


def test_the_web_app_counts_what_it_answered(client: FlaskClient) -> None:
    """An accepted webhook and an unknown source show in /metrics; the unknown name is no label."""
    body = body_of(payment_event("pay_w1", "opp-1"))
    assert (
        client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, "evt_w1")).status_code
        == 202
    )
    assert client.post("/webhooks/no-such-source", data=body).status_code == 404
    text = client.get("/metrics").text
    assert 'bridge_webhooks_total{outcome="accepted",source="razorpay"}' in text
    assert 'bridge_webhooks_total{outcome="unknown_source",source=""}' in text
    assert "no-such-source" not in text


def test_the_web_app_refuses_metrics_outside_the_allowed_networks(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """metrics_allowed_ips without loopback: the test client's 127.0.0.1 gets 404."""
    config = TEST_CONFIG.replace(
        "max_body_bytes = 65536", 'max_body_bytes = 65536\nmetrics_allowed_ips = ["10.9.0.0/16"]'
    )
    client = create_app(make_services(tmp_path, database_url, sandbox, config)).test_client()
    answer = client.get("/metrics")
    assert answer.status_code == 404
    assert answer.json is not None and answer.json["error"] == "not_found"


def test_readyz_writes_to_the_store_and_leaves_nothing(client: FlaskClient, services: Services) -> None:
    """/readyz is ready after a write it rolled back: no probe row stays in intake_refusals."""
    assert client.get("/readyz").json == {"status": "ready"}
    assert count(services, intake_refusals, source=PROBE_SOURCE) == 0


def test_readyz_is_unavailable_while_the_store_takes_no_write(tmp_path: Path, sandbox: SandboxServer) -> None:
    """A SQLite store another connection holds the write lock of: 503 after the probe's short timeout."""
    url = f"sqlite:///{tmp_path}/bridge.db"
    from bridge.store.migrate import upgrade_to_head

    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    client = create_app(make_services(tmp_path, url, sandbox)).test_client()
    holder = sqlite3.connect(tmp_path / "bridge.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = client.get("/readyz")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503
    assert answer.json is not None and "did not take a write" in answer.json["message"]
    assert client.get("/readyz").status_code == 200


def test_the_probe_gives_up_on_a_held_row_within_its_timeout(services: Services) -> None:
    """Another transaction holds the probe's row (SQLite: the whole store): the probe says why it failed."""
    with services.engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(
            sa.insert(intake_refusals).values(source=PROBE_SOURCE, minute=-1.0, error="probe", count=1)
        )
        problem = store_accepts_write(services.engine, 0.3)
        transaction.rollback()
    assert problem is not None and problem != ""
    assert store_accepts_write(services.engine, 0.3) is None


def test_the_worker_server_answers_metrics_health_and_readiness(services: Services) -> None:
    """/metrics in the text format, /healthz ok, /readyz 503 while the heartbeat is stale, 200 once fresh."""
    fresh = [False]
    monitor = WorkerMonitor(
        ("127.0.0.1", 0), metrics_registry(), worker_readiness(lambda: fresh[0], services.engine)
    )
    assert monitor.start()
    base = f"http://127.0.0.1:{monitor.port}"
    try:
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200 and "bridge_lsq_calls_total" in metrics.text
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        stale = requests.get(f"{base}/readyz", timeout=5)
        assert stale.status_code == 503 and "heartbeat" in stale.json()["message"]
        fresh[0] = True
        assert requests.get(f"{base}/readyz", timeout=5).json() == {"status": "ready"}
        assert requests.get(f"{base}/other", timeout=5).status_code == 404
        taken = WorkerMonitor(("127.0.0.1", monitor.port or 0), metrics_registry(), lambda: None)
        assert not taken.start()
    finally:
        monitor.stop()
