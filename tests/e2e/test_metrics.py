"""GET /metrics of the web, worker and admin processes while a run goes through acks, faults and a pause.

The web and admin apps run under gunicorn as the Procfile runs them (two web
worker processes, so the web's counters are the sum of their files), the
worker as `python -m bridge worker` with its own metrics port, all on one
store and the sandbox. Each step of the run is checked in the metrics it must
move: an accepted webhook, a duplicate, a refusal, a delivery, a row refused
(dead), a 429, and a pause by a 401 that a good probe lifts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bridge.sandbox import SandboxServer
from tests.conftest import POSTGRES_ONLY, TEST_CONFIG, bridge_environ, write_config
from tests.e2e.conftest import PASSWORD, start_admin
from tests.e2e.test_processes import free_port, start, wait_until
from tests.support import add_fault, body_of, payment_event, razorpay_headers

# PostgreSQL alone: the store's gauges are read on both stores in tests/integration (test_monitoring.py,
# admin/test_metrics_route.py); this adds the processes' own counters, which no store changes.
pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
WAIT_SECONDS = 30.0


def scrape(url: str) -> Samples:
    """Read one /metrics answer into {(sample name, labels): value}, with prometheus_client's parser."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum the samples of that name whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (sample, found), v in samples.items() if sample == name and wanted <= found)


@dataclass(frozen=True)
class Stack:
    """Where each process of the bridge answers."""

    web: str
    worker: str
    admin: str
    sandbox: str

    def post(self, payment: str, event_id: str, secret: str | None = None) -> int:
        """Post one signed payment.captured for opp-metrics; return the status."""
        body = body_of(payment_event(payment, "opp-metrics"))
        headers = razorpay_headers(body, event_id, *([secret] if secret else []))
        return requests.post(
            f"{self.web}/webhooks/razorpay", data=body, headers=headers, timeout=10
        ).status_code


@pytest.fixture
def stack(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Iterator[Stack]:
    """Web, worker and admin on one store, posting to the sandbox."""
    config = str(write_config(tmp_path, TEST_CONFIG))
    web_port, worker_port, admin_port = free_port(), free_port(), free_port()
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=config)
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bridge:create_app()"]
    processes: list[subprocess.Popen[bytes]] = [
        start(gunicorn, {**environ, "PORT": str(web_port), "WEB_CONCURRENCY": "2"}, tmp_path / "web.log"),
        start(
            [sys.executable, "-m", "bridge", "worker"],
            {**environ, "WORKER_METRICS_PORT": str(worker_port)},
            tmp_path / "worker.log",
        ),
        start_admin(
            {**environ, "ADMIN_PORT": str(admin_port), "BRIDGE_ADMIN_PASSWORD": PASSWORD},
            tmp_path / "admin.log",
        ),
    ]
    urls = Stack(
        f"http://127.0.0.1:{web_port}",
        f"http://127.0.0.1:{worker_port}",
        f"http://127.0.0.1:{admin_port}",
        sandbox.url,
    )
    try:
        for base in (urls.web, urls.worker, urls.admin):
            wait_until(partial(ready, base), 30, f"{base}/readyz answering 200")
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def served(samples: Samples, *prefixes: str) -> list[str]:
    """Return the names of the samples that start with any of the prefixes."""
    return sorted({name for name, _ in samples if name.startswith(prefixes)})


def ready(base: str) -> bool:
    """Tell whether a process's /readyz answers 200."""
    return requests.get(f"{base}/readyz", timeout=2).ok


def settle(stack: Stack, name: str, expected: float, timeout: float = WAIT_SECONDS, **labels: str) -> Samples:
    """Scrape the worker until a metric reaches the value expected; return that scrape."""
    found: list[Samples] = []

    def reached() -> bool:
        found.append(scrape(f"{stack.worker}/metrics"))
        return value(found[-1], name, **labels) >= expected

    wait_until(reached, timeout, f"{name}{labels} reaching {expected}")
    return found[-1]


def admin_gauge(stack: Stack, name: str, expected: float, **labels: str) -> Samples:
    """Scrape the admin until a store gauge shows the value expected; return that scrape."""
    found: list[Samples] = []

    def reached() -> bool:
        found.append(scrape(f"{stack.admin}/metrics"))
        return value(found[-1], name, **labels) == expected

    wait_until(reached, WAIT_SECONDS, f"the admin's {name}{labels} at {expected}")
    return found[-1]


def test_each_metric_moves_as_the_run_says(stack: Stack) -> None:
    """Acks, a duplicate, a refusal, a delivery, a dead row, a 429 and a 401 pause each show in /metrics."""
    assert stack.post("pay_m1", "evt_m1") == 202
    assert stack.post("pay_m1", "evt_m1") == 200
    assert stack.post("pay_m2", "evt_m2", secret="not-the-secret") == 401
    web = scrape(f"{stack.web}/metrics")
    assert value(web, "bridge_webhooks_total", source="razorpay", outcome="accepted") == 1
    assert value(web, "bridge_webhooks_total", source="razorpay", outcome="duplicate") == 1
    assert value(web, "bridge_webhooks_total", source="razorpay", outcome="bad_signature") == 1
    assert value(web, "bridge_ack_seconds_count") == 3
    assert not served(web, "bridge_lsq", "bridge_dead", "bridge_end", "bridge_activities")
    # Summed from the worker processes' files (multiprocess mode): no one process's CPU or memory.
    assert not served(web, "process_")

    # Counted once the row is recorded delivered, after the call's own counts.
    worker = settle(stack, "bridge_end_to_end_seconds_count", 1, account="main")
    assert value(worker, "bridge_lsq_calls_total", account="main", kind="delivery", outcome="posted") == 1
    assert value(worker, "bridge_lsq_rows_total", account="main", outcome="created") == 1
    assert value(worker, "bridge_rate_limit_wait_seconds_count", account="main") == 1
    assert value(worker, "bridge_lsq_call_seconds_count", account="main", kind="delivery") == 1
    assert not served(worker, "bridge_webhooks", "bridge_ack", "bridge_activities")  # each has one process
    admin = admin_gauge(stack, "bridge_activities", 0, account="main", status="pending")
    assert value(admin, "bridge_workers_alive") == 1
    assert value(admin, "bridge_account_limit", account="main") == 25
    assert value(admin, "bridge_account_paused", account="main") == 0
    assert value(admin, "bridge_store_gauges_ok") == 1
    assert not served(admin, "bridge_webhooks", "bridge_ack", "bridge_lsq", "bridge_dead", "bridge_end")

    add_fault(stack.sandbox, path="ByOpportunityId", fail_rows=[1], message="Invalid dropdown value")
    assert stack.post("pay_m3", "evt_m3") == 202
    worker = settle(stack, "bridge_dead_total", 1, account="main", reason="row_refused")
    assert value(worker, "bridge_lsq_rows_total", account="main", outcome="refused") == 1
    admin_gauge(stack, "bridge_activities", 1, account="main", status="dead")

    add_fault(stack.sandbox, path="ByOpportunityId", status=429)
    assert stack.post("pay_m4", "evt_m4") == 202
    worker = settle(stack, "bridge_end_to_end_seconds_count", 2, account="main")
    assert value(worker, "bridge_lsq_calls_total", kind="delivery", outcome="rate_limited") == 1
    assert value(worker, "bridge_lsq_rows_total", account="main", outcome="rate_limited") == 1
    assert value(worker, "bridge_lsq_rows_total", account="main", outcome="created") == 2

    # Keys refused for the delivery and for every probe, until the sandbox is reset ("keys fixed").
    add_fault(stack.sandbox, path="ByOpportunityId", status=401)
    add_fault(stack.sandbox, path="UserByAccessKey", status=401, times=10_000)
    assert stack.post("pay_m5", "evt_m5") == 202
    admin_gauge(stack, "bridge_account_paused", 1, account="main")
    worker = settle(stack, "bridge_lsq_calls_total", 1, kind="probe", outcome="unauthorized")
    assert value(worker, "bridge_lsq_calls_total", kind="delivery", outcome="unauthorized") == 1
    requests.post(f"{stack.sandbox}/sandbox/reset", timeout=10).raise_for_status()
    worker = settle(stack, "bridge_end_to_end_seconds_count", 3, account="main")
    assert value(worker, "bridge_lsq_calls_total", kind="probe", outcome="found") >= 1
    admin_gauge(stack, "bridge_account_paused", 0, account="main")
    web = scrape(f"{stack.web}/metrics")
    assert value(web, "bridge_webhooks_total", source="razorpay", outcome="accepted") == 4
