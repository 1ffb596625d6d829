"""The real processes: gunicorn serving the web app, the worker, signals and crashes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox
from bridge.services import Services
from tests.conftest import ROOT, TEST_CONFIG, bridge_environ, make_services, write_config
from tests.support import activity_rows, post_payment, sandbox_received, settled

pytestmark = pytest.mark.slow


def free_port() -> int:
    """Return a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(argv: list[str], environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a bridge process from the repository root, logging to a file."""
    env = {"PATH": os.environ["PATH"], **environ}
    with log.open("wb") as output:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll check() until it is true; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@pytest.fixture
def web(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Iterator[str]:
    """Gunicorn serving the app exactly as the Procfile runs it; yields the webhook URL."""
    port = free_port()
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(write_config(tmp_path)), PORT=str(port))
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bridge:create_app()"]
    process = start(argv, environ, tmp_path / "web.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).ok, 20, "gunicorn start-up")
        yield f"{base}/webhooks/razorpay"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def worker_process(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, config: str
) -> subprocess.Popen[bytes]:
    """Start `python -m bridge worker` as the Procfile does."""
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(write_config(tmp_path, config)))
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    return start([sys.executable, "-m", "bridge", "worker"], environ, log)


def test_backlog_sent_twice_is_delivered_once_in_the_fewest_calls(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, web: str, services: Services
) -> None:
    """200 payments over 20 opportunities, each delivered twice: 200 activities in exactly 20 calls."""
    deliveries = [(f"pay_{n:03d}", f"opp-{n % 20:02d}", f"evt_{n:03d}") for n in range(200)] * 2
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda d: post_payment(web, *d), deliveries))
    assert sorted(a.status_code for a in answers) == [200] * 200 + [202] * 200
    assert sandbox_received(sandbox.url)["calls"] == []
    worker = worker_process(tmp_path, database_url, sandbox, TEST_CONFIG)
    try:
        wait_until(settled(services), 60, "delivery of the backlog")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    received = sandbox_received(sandbox.url)
    assert len(received["calls"]) == 20
    assert all(call["rows"] == 10 and call["status"] == 200 for call in received["calls"])
    assert len(received["activities"]) == 200
    for activity in received["activities"]:
        fields = {f["SchemaName"]: f["Value"] for f in activity["row"]["Fields"]}
        number = int(fields["mx_Custom_1"].removeprefix("pay_"))
        assert activity["opportunity_id"] == f"opp-{number % 20:02d}"
        assert fields["mx_Custom_2"] == "1500.00"
        assert fields["mx_Custom_3"] == "upi"
        assert fields["mx_Custom_10"] == f"razorpay:evt_{number:03d}:0"
    assert {row.status for row in activity_rows(services)} == {"delivered"}


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    """A sandbox that takes 1.5 s to answer, so calls can be caught in flight."""
    server = start_sandbox(SandboxSettings(latency_seconds=1.5))
    yield server
    server.stop()


def accept_backlog(services: Services, sandbox: SandboxServer, opportunities: int) -> None:
    """Store three payments per opportunity through the web app."""
    from bridge import create_app
    from tests.support import body_of, payment_event, razorpay_headers

    client = create_app(services).test_client()
    for number in range(3 * opportunities):
        body = body_of(payment_event(f"pay_{number}", f"opp-{number % opportunities}"))
        headers = razorpay_headers(body, f"evt_{number}")
        assert client.post("/webhooks/razorpay", data=body, headers=headers).status_code == 202


def test_sigterm_finishes_in_flight_calls_and_hands_back_the_rest(
    tmp_path: Path, database_url: str, slow_sandbox: SandboxServer
) -> None:
    """On SIGTERM the worker records the calls in flight, claims nothing more, and exits 0."""
    config = TEST_CONFIG.replace("calls_per_window = 25", "calls_per_window = 4")
    services = make_services(tmp_path, database_url, slow_sandbox, config)
    accept_backlog(services, slow_sandbox, 12)
    worker = worker_process(tmp_path, database_url, slow_sandbox, config)
    wait_until(lambda: len(sandbox_received(slow_sandbox.url)["calls"]) >= 4, 20, "four calls in flight")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    rows = activity_rows(services)
    delivered = [row for row in rows if row.status == "delivered"]
    assert len(delivered) == 3 * len(sandbox_received(slow_sandbox.url)["calls"])
    assert {row.status for row in rows} == {"delivered", "pending"}
    assert len(sandbox_received(slow_sandbox.url)["activities"]) == len(delivered)


def test_a_killed_worker_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, database_url: str, slow_sandbox: SandboxServer
) -> None:
    """SIGKILL mid-call: the claims expire, the read-back settles them, every activity exists once."""
    # A short lease needs a short window and timeout (check-config insists it covers both).
    config = (
        TEST_CONFIG.replace("claim_lease_seconds = 30", "claim_lease_seconds = 5")
        .replace("window_seconds = 5", "window_seconds = 1")
        .replace("timeout_seconds = 5", "timeout_seconds = 2")
    )
    services = make_services(tmp_path, database_url, slow_sandbox, config)
    accept_backlog(services, slow_sandbox, 6)
    worker = worker_process(tmp_path, database_url, slow_sandbox, config)
    wait_until(lambda: len(sandbox_received(slow_sandbox.url)["calls"]) >= 6, 20, "six calls in flight")
    worker.kill()
    worker.wait(timeout=10)
    assert {row.status for row in activity_rows(services)} == {"sending"}
    time.sleep(1.6)  # the sandbox finishes the calls the dead worker made
    restarted = worker_process(tmp_path, database_url, slow_sandbox, config)
    try:
        wait_until(settled(services), 40, "settling after the restart")
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=30) == 0
    activities = sandbox_received(slow_sandbox.url)["activities"]
    keys = [
        next(f["Value"] for f in a["row"]["Fields"] if f["SchemaName"] == "mx_Custom_10") for a in activities
    ]
    assert len(keys) == 18 and len(set(keys)) == 18
    rows = activity_rows(services)
    assert {row.status for row in rows} == {"delivered"}
    assert {row.prospect_activity_id for row in rows} == {a["ProspectActivityId"] for a in activities}


def holders(services: Services) -> dict[int, int]:
    """Return how many activities each worker process (by pid) holds now."""
    held: dict[int, int] = {}
    for row in activity_rows(services):
        if row.claimed_by:
            pid = int(row.claimed_by.split(":")[-2])
            held[pid] = held.get(pid, 0) + 1
    return held


def test_two_workers_one_killed_mid_burst_every_activity_once_long_before_the_lease(
    tmp_path: Path, database_url: str
) -> None:
    """SIGKILL one of two workers mid-burst: stale heartbeat, the other takes its rows: none twice."""
    # The lease is far beyond the deadline: only the heartbeat can bring the dead worker's rows back in time.
    # Four calls a 2 s window keep the burst going well past the stale limit (20 calls, 10 s at least).
    config = (
        TEST_CONFIG.replace("claim_lease_seconds = 30", "claim_lease_seconds = 120")
        .replace("calls_per_window = 25", "calls_per_window = 4")
        .replace("window_seconds = 5", "window_seconds = 2")
        .replace("max_attempts = 3", "max_attempts = 3\nheartbeat_seconds = 1\nworker_stale_seconds = 4")
    )
    sandbox = start_sandbox(SandboxSettings(latency_seconds=0.8))
    try:
        services = make_services(tmp_path, database_url, sandbox, config)
        accept_backlog(services, sandbox, 20)
        pair = [worker_process(tmp_path, database_url, sandbox, config) for _ in range(2)]
        wait_until(lambda: len(holders(services)) == 2, 20, "both workers holding rows")
        wait_until(lambda: len(sandbox_received(sandbox.url)["calls"]) >= 4, 20, "the burst under way")
        held = holders(services)
        victim = next(p for p in pair if held.get(p.pid))
        victim.kill()
        victim.wait(timeout=10)
        survivor = next(p for p in pair if p is not victim)
        try:
            wait_until(settled(services), 60, "delivery of everything after the kill")
        finally:
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=30) == 0
        activities = sandbox_received(sandbox.url)["activities"]
    finally:
        sandbox.stop()
    keys = [
        next(f["Value"] for f in a["row"]["Fields"] if f["SchemaName"] == "mx_Custom_10") for a in activities
    ]
    assert len(keys) == 60 and len(set(keys)) == 60
    rows = activity_rows(services)
    assert {row.status for row in rows} == {"delivered"}
    assert {row.prospect_activity_id for row in rows} == {a["ProspectActivityId"] for a in activities}
