"""Faults: LeadSquared's 500s, extra 429s and lost answers, and the web and a worker killed mid-burst.

    .venv/bin/python -m bench.faults              # SQLite: 1,000 events over 100 opportunities
    .venv/bin/python -m bench.faults --postgres   # SQLite, then the same on PostgreSQL
    .venv/bin/python -m bench.faults --quick      # 200 events over 20, a smoke run; README untouched

Senders post every event and retry with backoff until a 2xx, as a provider
does; two workers deliver to a sandbox that fails bulk calls at random.
When 30 % of the events are acked the whole gunicorn (master and workers)
is SIGKILLed and restarted on the same port; when the sandbox has seen 30
calls one worker is SIGKILLed and restarted. Full runs write the table into
README.md between the faults markers.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa

from bench.checkout import README, write_section
from bench.drain import received
from bench.fault_report import (
    Outcome,
    Scenario,
    busiest_window,
    drain_seconds,
    fault_counts,
    longest_gap,
    lost_and_doubled,
    render,
)
from bench.load import Payment, payments, signed_request
from bench.procs import LOOPBACK, Process, Processes, stop_on_sigterm
from bench.stack import (
    REPO,
    WEBHOOK_SECRET,
    bridge_env,
    postgres_databases,
    start_bridge_web,
    start_sandbox,
    start_worker,
)
from bridge.store.tables import ActivityStatus, EventStatus, activities, events

README_START, README_END = "<!-- faults:start -->", "<!-- faults:end -->"
QUICK = Scenario(events=200, opportunities=20, time_limit=200.0)
KILL_WEB_AT_ACKED = 0.3
KILL_WORKER_AT_CALLS = 30
BUSY = [
    ActivityStatus.RESOLVING,
    ActivityStatus.LOOKING_UP,
    ActivityStatus.PENDING,
    ActivityStatus.CLAIMED,
    ActivityStatus.SENDING,
    ActivityStatus.UNKNOWN,
    ActivityStatus.RECONCILING,
]


@dataclass
class Sender:
    """Posts events like a provider: each one again, with backoff, until it is answered 2xx."""

    port: int
    acked: list[str] = field(default_factory=list)
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, payment: Payment) -> None:
        """Post one event until a 2xx; back off 0.05 s doubling to 1 s, with jitter."""
        request = signed_request(LOOPBACK, self.port, WEBHOOK_SECRET, payment)
        for attempt in range(200):
            status = post_once(self.port, request)
            if status is not None and 200 <= status < 300:
                with self._lock:
                    self.acked.append(payment.event_id)
                return
            with self._lock:
                self.retries += 1
            time.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
        raise RuntimeError(f"{payment.event_id} was never acked")

    def acked_count(self) -> int:
        """Return how many events were acked so far."""
        with self._lock:
            return len(self.acked)


def post_once(port: int, request: bytes) -> int | None:
    """Send one raw request on a fresh connection; return its status, or None if none came."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=10) as connection:
            connection.sendall(request)
            answer = http.client.HTTPResponse(connection)
            answer.begin()
            answer.read()
            return answer.status
    except (OSError, http.client.HTTPException):
        return None


def wait_for(check: Callable[[], bool], until: float, what: str) -> None:
    """Poll check() until it holds; fail naming what did not happen by the deadline."""
    while not check():
        if time.monotonic() > until:
            raise RuntimeError(f"{what} did not happen in time")
        time.sleep(0.05)


def kill_group(process: Process) -> None:
    """SIGKILL a process and everything in its session, as a crash or an OOM kill would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


def busy_rows(engine: sa.Engine) -> int:
    """Count events not yet transformed and activities still on their way."""
    with engine.connect() as connection:
        waiting = connection.execute(
            sa.select(sa.func.count()).select_from(events).where(events.c.status == EventStatus.RECEIVED)
        ).scalar_one()
        busy = connection.execute(
            sa.select(sa.func.count()).select_from(activities).where(activities.c.status.in_(BUSY))
        ).scalar_one()
    return int(waiting) + int(busy)


def dead_reasons(engine: sa.Engine) -> Counter[str]:
    """Count dead activities by the first line of their last error."""
    query = sa.select(activities.c.last_error).where(activities.c.status == ActivityStatus.DEAD)
    with engine.connect() as connection:
        return Counter(str(error or "").split("\n")[0][:120] for (error,) in connection.execute(query))


def run_store(scenario: Scenario, store: str, database_url: str, workdir: Path) -> Outcome:
    """Run the scenario once on one store, with its own processes."""
    with Processes(workdir) as procs:
        try:
            return scenario_run(procs, scenario, store, database_url, workdir)
        except BaseException:
            for process in procs.started:
                print(f"--- {process.name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)
            raise


def scenario_run(
    procs: Processes, scenario: Scenario, store: str, database_url: str, workdir: Path
) -> Outcome:
    """Start the processes, post the burst, kill and restart, wait for the drain, and count."""
    flags = ["--error-rate", str(scenario.error_rate), "--rate-limit-rate", str(scenario.rate_limit_rate)]
    flags += ["--lost-answer-rate", str(scenario.lost_answer_rate), "--fault-seed", str(scenario.seed)]
    sandbox = start_sandbox(
        procs, scenario.latency, scenario.calls_per_window, scenario.window_seconds, flags
    )
    env = bridge_env(workdir, database_url, sandbox.url)
    web = start_bridge_web(procs, f"{store}-web", env)
    assert web.port is not None
    workers = [start_worker(procs, env, f"{store}-worker-{n}") for n in range(scenario.workers)]
    sender = Sender(web.port)
    deadline = time.monotonic() + scenario.time_limit
    started = time.monotonic()
    kills = []
    with ThreadPoolExecutor(scenario.senders) as pool:
        posted = pool.map(sender.deliver, payments("faults", scenario.events, scenario.opportunities))
        wait_for(lambda: sender.acked_count() >= KILL_WEB_AT_ACKED * scenario.events, deadline, "acks")
        kill_group(web)
        kills.append(f"gunicorn at {sender.acked_count()} acked")
        start_bridge_web(procs, f"{store}-web", env, web.port)
        list(posted)  # re-raises a sender's failure
    ingest_seconds = time.monotonic() - started

    def enough_calls() -> bool:
        return len(received(sandbox)["calls"]) >= KILL_WORKER_AT_CALLS

    wait_for(enough_calls, deadline, f"{KILL_WORKER_AT_CALLS} calls")
    kill_group(workers[0])
    kills.append(f"worker at call {len(received(sandbox)['calls'])}")
    start_worker(procs, env, f"{store}-worker-0")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        finished = settle(engine, deadline)
        time.sleep(1.0)  # a call after the last delivery would be an extra call: watch for it
        log = received(sandbox)
        reasons = dead_reasons(engine)
    finally:
        engine.dispose()
    return outcome_of(scenario, store, sender, ingest_seconds, kills, log, reasons, finished)


def settle(engine: sa.Engine, deadline: float) -> bool:
    """Wait until nothing is on its way; say whether that happened before the deadline."""
    while time.monotonic() < deadline:
        if busy_rows(engine) == 0:
            return True
        time.sleep(0.5)
    return False


def outcome_of(
    scenario: Scenario,
    store: str,
    sender: Sender,
    ingest_seconds: float,
    kills: list[str],
    log: dict[str, object],
    reasons: Counter[str],
    finished: bool,
) -> Outcome:
    """Count what the run did from the acks, the sandbox's log and the dead rows."""
    calls = log["calls"]
    assert isinstance(calls, list)
    lost, doubled = lost_and_doubled(sender.acked, log)
    return Outcome(
        store=store,
        acked=len(sender.acked),
        sender_retries=sender.retries,
        ingest_seconds=ingest_seconds,
        kills=kills,
        lost=lost,
        doubled=doubled,
        dead=sum(reasons.values()),
        dead_reasons=dict(reasons.most_common(3)),
        calls=len(calls),
        bulk_calls=sum(1 for call in calls if "Bulk" in call["path"]),
        faults=fault_counts(calls),
        limit_429s=sum(1 for call in calls if call["status"] == 429 and call.get("fault") is None),
        busiest_window=busiest_window([call["at"] for call in calls], scenario.window_seconds),
        longest_gap=longest_gap(calls),
        drain_seconds=drain_seconds(calls),
        finished=finished,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="200 events over 20 opportunities")
    parser.add_argument("--seed", type=int, help="seed of the sandbox's random faults (default 8)")
    args = parser.parse_args(argv)
    args.flags = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenario on each store, print the table, and write it into the README on full runs."""
    args = parse_args(argv)
    stop_on_sigterm()
    scenario = QUICK if args.quick else Scenario()
    if args.seed is not None:
        scenario = replace(scenario, seed=args.seed)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="lsq-faults-") as tmp, ExitStack() as stack:
        sqlite_dir = Path(tmp, "sqlite")
        sqlite_dir.mkdir()
        outcomes.append(run_store(scenario, "SQLite", f"sqlite:///{sqlite_dir / 'bridge.db'}", sqlite_dir))
        if args.postgres:
            [url] = stack.enter_context(postgres_databases(1))
            pg_dir = Path(tmp, "postgres")
            pg_dir.mkdir()
            pg_url = url.replace("postgresql://", "postgresql+psycopg://")
            outcomes.append(run_store(scenario, "PostgreSQL", pg_url, pg_dir))
    command = " ".join([".venv/bin/python -m bench.faults", *args.flags])
    table = render(scenario, outcomes, command, commit_of(REPO))
    print(table)
    if not args.quick:
        write_section(README_START, README_END, table)
        print(f"written into {README}, between {README_START} and {README_END}")
    return 0


def commit_of(repo: Path) -> str:
    """Name the commit measured, marked when the tree has changes on top of it."""
    git = ["git", "-C", str(repo)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "bridge"], check=False)
    return head.stdout.strip() + (" (with changes)" if dirty.returncode else "")



if __name__ == "__main__":
    raise SystemExit(main())
