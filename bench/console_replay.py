"""A bulk replay by filter, end to end: ignored events, a fixed mapping, a job, LeadSquared's rate limit.

The store gets events a bridge ignored for want of a mapping: Razorpay
payment.authorized deliveries with their bodies as Razorpay sends them,
"no mapping for event type 'payment.authorized'". The worker then runs
bridge.example.toml, which maps that type, beside the admin process and a
sandbox that allows LeadSquared's 25 calls per 5 s. The replay is asked for
through the admin API by filter; the sandbox's log says what reached
LeadSquared and when. The same replay is then asked for once more: every
activity is delivered already, so it must queue and post nothing.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.console_http import Admin, log_in
from bench.drain import KEY_FIELD, fewest_calls, received
from bench.load import payment_body, payments
from bench.procs import Processes
from bench.stack import bridge_env, migrate, start_admin, start_sandbox, start_worker
from bridge.config.load import normalize_database_url
from bridge.store.engine import make_engine, make_reader
from bridge.store.tables import events

EVENT_TYPE = "payment.authorized"  # mapped by bridge.example.toml, ignored by the bridge that stored them
POLL_SECONDS = 0.25
SETTLE_SECONDS = 3.0  # watch this long after the end for calls that should not come


@dataclass(frozen=True)
class ReplaySettings:
    """The ignored events, and the sandbox they are delivered to."""

    events: int = 10_000
    opportunities: int = 100
    latency: float = 0.8
    calls_per_window: int = 25
    window_seconds: float = 5.0

    @property
    def minimum_calls(self) -> int:
        """Return the fewest bulk calls that carry every activity (25 rows of one opportunity a call)."""
        return fewest_calls(self.events, self.opportunities)

    @property
    def ideal_seconds(self) -> float:
        """Return the shortest time for the minimum calls at the limit: full windows, one after another."""
        windows = math.ceil(self.minimum_calls / self.calls_per_window)
        return (windows - 1) * self.window_seconds + self.latency


@dataclass(frozen=True)
class ReplayReport:
    """What a bulk replay of ignored events did, as the job, the store and the sandbox tell it."""

    store: str
    settings: ReplaySettings
    matched: int  # the dry run's count
    job_total: int
    job_changed: int  # activities the job queued
    job_seconds: float  # the job's request to its last chunk, from its own record
    first_call_seconds: float  # from the request to the sandbox's first call
    delivered_seconds: float  # from the request until the store held every activity delivered
    calls: int
    rate_limited: int  # 429 answers
    most_calls_in_window: int  # in any window_seconds
    arrived: int  # activities the sandbox accepted
    distinct: int  # distinct activity keys among them
    again_changed: int  # activities the second replay queued
    again_calls: int  # calls after the second replay

    @property
    def doubled(self) -> int:
        """Return how many arrivals repeated a key that had arrived before."""
        return self.arrived - self.distinct


def store_ignored(engine: sa.Engine, settings: ReplaySettings, now: float) -> None:
    """Insert the events a bridge without the mapping stored and ignored, bodies as Razorpay sends them."""
    rows = [
        {
            "source": "razorpay",
            "idempotency_key": payment.event_id,
            "event_type": EVENT_TYPE,
            "body": payment_body(payment, int(now) - 3600, EVENT_TYPE),
            "received_at": now - 3600 + number * 0.01,
            "status": "ignored",
            "reason": f"no mapping for event type {EVENT_TYPE!r}",
            "headers": {"Content-Type": "application/json", "X-Razorpay-Signature": "[masked]"},
        }
        for number, payment in enumerate(payments("replay", settings.events, settings.opportunities))
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(events), rows)


def most_in_window(arrivals: list[float], window: float) -> int:
    """Return the most arrivals within any window seconds (arrivals sorted)."""
    most, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def activity_key(row: dict[str, Any]) -> str | None:
    """Return the bridge's activity key that a posted row carries in the account's key field."""
    return next((f["Value"] for f in row.get("Fields", []) if f.get("SchemaName") == KEY_FIELD), None)


def delivered_count(reader: sa.Engine) -> int:
    """Count the store's delivered activities."""
    with reader.connect() as connection:
        query = sa.text("SELECT count(*) FROM activities WHERE status = 'delivered'")
        return int(connection.execute(query).scalar_one())


def wait_for_job(admin: Admin, job_id: int, deadline: float) -> dict[str, Any]:
    """Poll the API until the job has ended; return it. A job that failed or never ended fails the bench."""
    while time.monotonic() < deadline:
        job: dict[str, Any] = admin.api.get(f"{admin.base}/api/jobs/{job_id}", timeout=30).json()
        if job["status"] not in ("queued", "running"):
            if job["status"] != "done":
                raise RuntimeError(f"replay job {job_id} ended {job['status']}: {job['error']}")
            return job
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"replay job {job_id} did not end in time")


def replay(admin: Admin, wanted: dict[str, str]) -> tuple[int, int]:
    """Count what a replay by this filter matches (the dry run), then start it; return (matched, job id)."""
    url = f"{admin.base}/api/replay"
    dry = admin.api.post(url, json={"filter": wanted}, timeout=60)
    started = admin.api.post(url, json={"filter": wanted, "dry_run": False}, timeout=60)
    if dry.status_code != 200 or started.status_code != 202:
        raise RuntimeError(f"replay answered {dry.status_code}, {started.status_code}: {started.text[:300]}")
    return int(dry.json()["matched"]), int(started.json()["id"])


def measure_replay(
    store: str, url: str, workdir: Path, settings: ReplaySettings, credentials: tuple[str, str]
) -> ReplayReport:
    """Store the ignored events, replay them through the admin API, and watch them reach the sandbox."""
    password, token = credentials
    with Processes(workdir) as procs:
        sandbox = start_sandbox(procs, settings.latency, settings.calls_per_window, settings.window_seconds)
        env = bridge_env(workdir, url, sandbox.url)
        env |= {"BRIDGE_ADMIN_PASSWORD": password, "BRIDGE_ADMIN_TOKEN": token}
        migrate(env)
        engine = make_engine(normalize_database_url(url))
        store_ignored(engine, settings, time.time())
        reader = make_reader(engine)
        admin = log_in(f"http://127.0.0.1:{start_admin(procs, env, 'admin-replay').port}", password, token)
        worker = start_worker(procs, env, "worker-replay")
        deadline = time.monotonic() + 3 * settings.ideal_seconds + 120
        requested = time.monotonic()
        matched, job_id = replay(admin, {"status": "ignored", "event_type": EVENT_TYPE})
        job = wait_for_job(admin, job_id, deadline)
        while delivered_count(reader) < settings.events:
            if time.monotonic() > deadline or worker.popen.poll() is not None:
                raise RuntimeError(f"the replay was not delivered:\n{worker.log_tail()}")
            time.sleep(POLL_SECONDS)
        delivered_seconds = time.monotonic() - requested
        time.sleep(SETTLE_SECONDS)
        log = received(sandbox)
        # The same replay again, every activity delivered: it must queue nothing and call nothing.
        _, again_id = replay(admin, {"event_type": EVENT_TYPE})
        again = wait_for_job(admin, again_id, time.monotonic() + 300)
        time.sleep(SETTLE_SECONDS)
        again_calls = len(received(sandbox)["calls"]) - len(log["calls"])
        engine.dispose()
        reader.dispose()
    calls = log["calls"]
    keys = Counter(activity_key(activity["row"]) for activity in log["activities"])
    return ReplayReport(
        store=store,
        settings=settings,
        matched=matched,
        job_total=int(job["total"]),
        job_changed=int(job["changed"]),
        job_seconds=float(job["finished_at"]) - float(job["created_at"]),
        first_call_seconds=calls[0]["monotonic"] - requested if calls else math.nan,
        delivered_seconds=delivered_seconds,
        calls=len(calls),
        rate_limited=sum(1 for call in calls if call["status"] == 429),
        most_calls_in_window=most_in_window([call["monotonic"] for call in calls], settings.window_seconds),
        arrived=sum(keys.values()),
        distinct=len(keys),
        again_changed=int(again["changed"]),
        again_calls=again_calls,
    )
