"""Drain: a backlog of accepted activities through the worker to a slow, rate-limited sandbox."""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.load import closed_loop, payments, signed_request
from bench.procs import LOOPBACK, Process, Processes, rss_mb
from bench.stack import WEBHOOK_SECRET, Sandbox, start_worker

BULK_PATH = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
MAX_ROWS_PER_CALL = 25  # LeadSquared's bulk call takes at most 25 rows
KEY_FIELD = "mx_Custom_10"  # bridge.example.toml's key_field
# Calls that come after the last activity would be extra calls: watch a little longer for them.
SETTLE_SECONDS = 1.0
# Calls closer together than this belong to one burst of the rate window.
BURST_GAP_SECONDS = 1.0


def fewest_calls(activities: int, opportunities: int) -> int:
    """Return the fewest bulk calls that carry activities spread evenly over opportunities, 25 rows a call."""
    per_opportunity = math.ceil(activities / opportunities)
    return opportunities * math.ceil(per_opportunity / MAX_ROWS_PER_CALL)


@dataclass(frozen=True)
class DrainSettings:
    """The backlog, and the sandbox it drains to."""

    activities: int = 1000
    opportunities: int = 100
    latency: float = 0.8
    calls_per_window: int = 25
    window_seconds: float = 5.0
    time_limit: float = 90.0

    @property
    def minimum_calls(self) -> int:
        """Return the fewest bulk calls that can carry the backlog."""
        return fewest_calls(self.activities, self.opportunities)

    @property
    def ideal_span(self) -> float:
        """Return the shortest span for the minimum calls: full bursts, one window apart."""
        bursts = math.ceil(self.minimum_calls / self.calls_per_window)
        return (bursts - 1) * self.window_seconds + self.latency


@dataclass(frozen=True)
class DrainReport:
    """What the sandbox saw while the worker drained the backlog."""

    settings: DrainSettings
    accepted: int
    post_seconds: float
    calls: int
    calls_by_path: dict[str, int]
    rate_limited: int
    span: float
    delivered: int
    unique_keys: int
    worker_seconds: float
    finished: bool
    worker_pid: int
    worker_rss_mb: float | None
    # (start relative to the first call, calls, seconds from the burst's first call to its last)
    bursts: list[tuple[float, int, float]]

    @property
    def rate_share(self) -> float:
        """Return calls per second over the span, as a share of the limit's average rate."""
        ceiling = self.settings.calls_per_window / self.settings.window_seconds
        return self.calls / self.span / ceiling if self.span else 0.0

    @property
    def ideal_share(self) -> float:
        """Return the ideal span for the minimum calls over the measured span."""
        return self.settings.ideal_span / self.span if self.span else 0.0


def received(sandbox: Sandbox) -> dict[str, Any]:
    """Return the sandbox's activities and call log."""
    connection = http.client.HTTPConnection(LOOPBACK, sandbox.process.port, timeout=30)
    try:
        connection.request("GET", "/sandbox/received")
        answer: dict[str, Any] = json.loads(connection.getresponse().read())
        return answer
    finally:
        connection.close()


def post_backlog(web: Process, settings: DrainSettings, connections: int) -> tuple[int, float]:
    """Post the backlog through the web process; return how many were accepted, and in how long."""
    assert web.port is not None
    requests = [
        signed_request(LOOPBACK, web.port, WEBHOOK_SECRET, payment)
        for payment in payments("drain", settings.activities, settings.opportunities)
    ]
    result = asyncio.run(closed_loop(LOOPBACK, web.port, requests, connections, settings.time_limit))
    return result.statuses.get(202, 0), result.seconds


def wait_for_delivery(sandbox: Sandbox, worker: Process, settings: DrainSettings, deadline: float) -> bool:
    """Poll the sandbox until every activity arrived or the deadline passed; fail if the worker died."""
    while time.monotonic() < deadline:
        if len(received(sandbox)["activities"]) >= settings.activities:
            return True
        if worker.popen.poll() is not None:
            raise RuntimeError(f"the worker exited during the drain:\n{worker.log_tail()}")
        time.sleep(0.1)
    return False


def run_drain(
    procs: Processes, web: Process, sandbox: Sandbox, env: dict[str, str], settings: DrainSettings
) -> DrainReport:
    """Post the backlog, start the worker, measure the drain from the sandbox's log, stop the worker."""
    accepted, post_seconds = post_backlog(web, settings, connections=32)
    if accepted != settings.activities:
        raise RuntimeError(f"only {accepted} of {settings.activities} webhooks were accepted")
    started = time.monotonic()
    worker = start_worker(procs, env)
    finished = wait_for_delivery(sandbox, worker, settings, started + settings.time_limit)
    worker_seconds = time.monotonic() - started
    time.sleep(SETTLE_SECONDS)
    log = received(sandbox)
    worker_rss = rss_mb(worker.pid)
    worker.stop()
    calls = log["calls"]
    keys = [_key_of(activity["row"]) for activity in log["activities"]]
    span = calls[-1]["at"] + settings.latency - calls[0]["at"] if calls else 0.0
    return DrainReport(
        settings=settings,
        accepted=accepted,
        post_seconds=post_seconds,
        calls=len(calls),
        calls_by_path=dict(Counter(call["path"] for call in calls)),
        rate_limited=sum(1 for call in calls if call["status"] == 429),
        span=span,
        delivered=len(keys),
        unique_keys=len(set(keys)),
        worker_seconds=worker_seconds,
        finished=finished,
        worker_pid=worker.pid,
        worker_rss_mb=worker_rss,
        bursts=bursts([call["at"] for call in calls]),
    )


def bursts(arrivals: list[float]) -> list[tuple[float, int, float]]:
    """Group sorted arrival times into bursts: (start after the first call, count, spread)."""
    groups: list[list[float]] = []
    for at in arrivals:
        if groups and at - groups[-1][-1] < BURST_GAP_SECONDS:
            groups[-1].append(at)
        else:
            groups.append([at])
    return [(group[0] - arrivals[0], len(group), group[-1] - group[0]) for group in groups]


def _key_of(row: dict[str, Any]) -> str | None:
    """Return the bridge's activity key carried in a posted row."""
    return next((f["Value"] for f in row.get("Fields", []) if f.get("SchemaName") == KEY_FIELD), None)
