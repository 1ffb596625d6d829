"""Workers whose clocks disagree share one account's limit: the limiter runs on the database's clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge import create_app
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox
from tests.conftest import TEST_CONFIG, make_services
from tests.support import body_of, payment_event, razorpay_headers, sandbox_received, settled

LIMIT = 5
WINDOW_SECONDS = 2.0
CONFIG = (
    TEST_CONFIG.replace("calls_per_window = 25", f"calls_per_window = {LIMIT}")
    .replace("window_seconds = 5", f"window_seconds = {WINDOW_SECONDS:g}")
    .replace("window_margin_seconds = 0.05", "window_margin_seconds = 0.4")
)
# Seconds each worker's clock is off the true time: behind, right, ahead.
OFFSETS = (-3.0, 0.0, 4.0)


@pytest.fixture
def strict_sandbox() -> Iterator[SandboxServer]:
    """A sandbox that refuses a sixth call in any two seconds."""
    server = start_sandbox(SandboxSettings(calls_per_window=LIMIT, window_seconds=WINDOW_SECONDS))
    yield server
    server.stop()


def offset_clock(offset: float) -> Callable[[], float]:
    """Return a clock that reads `offset` seconds off the machine's."""
    return lambda: time.time() + offset


def most_in_any_window(arrivals: list[float], window: float) -> int:
    """Return the most arrivals that any span of `window` seconds holds."""
    arrivals = sorted(arrivals)
    return max(
        sum(1 for later in arrivals[index:] if later - first < window) for index, first in enumerate(arrivals)
    )


@pytest.mark.alone
def test_workers_with_offset_clocks_keep_any_window_within_the_limit(
    tmp_path: Path, database_url: str, strict_sandbox: SandboxServer
) -> None:
    """Three workers 3 s behind, on time and 4 s ahead drain 18 calls; no 2 s span holds more than 5."""
    services = [make_services(tmp_path, database_url, strict_sandbox, CONFIG) for _ in OFFSETS]
    client = create_app(services[0]).test_client()
    for number in range(18):
        body = body_of(payment_event(f"pay_{number}", f"opp-{number}"))
        answer = client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, f"evt_{number}"))
        assert answer.status_code == 202
    workers = [
        Worker(each, clock=offset_clock(offset)) for each, offset in zip(services, OFFSETS, strict=True)
    ]
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    done = settled(services[0])
    deadline = time.monotonic() + 60
    try:
        while not done():
            assert time.monotonic() < deadline, "the workers did not deliver the backlog within 60 s"
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=30)
    calls = sandbox_received(strict_sandbox.url)["calls"]
    assert [call["status"] for call in calls] == [200] * 18
    assert most_in_any_window([call["at"] for call in calls], WINDOW_SECONDS) <= LIMIT
