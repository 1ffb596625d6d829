"""Operators and workers at once: replays, retries and bulk jobs racing deliveries never post a row twice."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

from bridge import create_app
from bridge.operate.actions import OperateError, replay_event, retry_activity
from bridge.operate.jobs import BulkAction, list_jobs, start_bulk
from bridge.sandbox import SandboxServer
from bridge.services import Services
from tests.conftest import make_services
from tests.integration.operating import FIXED_CONFIG, OPERATOR, job_worker, keys_received, post
from tests.support import activity_rows, add_fault, event_rows, run_worker_until, sandbox_received, settled

BULK = "ByOpportunityId"
CAPTURED, AUTHORIZED, OPPORTUNITIES = 40, 20, 4
OPERATORS = 4
RACE_SECONDS = 4.0


def operate(services: Services, stop: threading.Event, seed: int, tally: Counter[str]) -> None:
    """Replay every event and retry every dead activity, in a shuffled order, until stopped; count each."""
    shuffle = random.Random(seed).shuffle
    try:
        while not stop.is_set():
            work = [("replay", row.id) for row in event_rows(services)]
            work += [("retry", row.id) for row in activity_rows(services) if row.status == "dead"]
            shuffle(work)
            for action, row_id in work:
                try:
                    if action == "replay":
                        tally["queued by replays"] += replay_event(
                            services, row_id, OPERATOR, time.time()
                        ).changed
                    else:
                        tally["retried"] += retry_activity(
                            services.engine, row_id, OPERATOR, time.time()
                        ).changed
                    tally[action] += 1
                except OperateError as refused:
                    # A worker or another operator got there first.
                    assert refused.status == 409, refused.message
                    tally[f"{action} refused"] += 1
    except BaseException:
        tally["errors"] += 1
        raise


def start_jobs(services: Services, seconds: float) -> int:
    """Ask for a bulk replay of everything and a bulk retry of the dead now and then; return how many."""
    started = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start_bulk(services, BulkAction.REPLAY, {}, OPERATOR, time.time())
        start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
        started += 2
        time.sleep(0.7)
    return started


def finish(services: Services) -> None:
    """After the race: run every job to its end, and retry what the last faults killed until none is dead."""

    def finished() -> bool:
        open_jobs = [job for job in list_jobs(services.engine, 100) if job.status in ("queued", "running")]
        return not open_jobs and settled(services)()

    run_worker_until(services, finished, timeout=120, worker=job_worker(services, 7))
    while dead := [row.id for row in activity_rows(services) if row.status == "dead"]:
        for activity_id in dead:
            retry_activity(services.engine, activity_id, OPERATOR, time.time())
        run_worker_until(services, settled(services), timeout=60)


def test_operators_racing_two_workers_never_double_a_delivery(
    services: Services, sandbox: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    """Four operators replay and retry all while two workers deliver and run bulk jobs: each key once."""
    client = create_app(services).test_client()
    add_fault(sandbox.url, path=BULK, fail_rows=[1, 2, 3, 4, 5], times=2, message="Invalid dropdown value")
    for number in range(CAPTURED):
        post(client, number, f"opp-{number % OPPORTUNITIES}")
    for number in range(CAPTURED, CAPTURED + AUTHORIZED):
        post(client, number, f"opp-{number % OPPORTUNITIES}", event="payment.authorized")
    run_worker_until(services, settled(services))
    assert sum(row.status == "dead" for row in activity_rows(services)) == 10
    # The race: rows refused, an answer lost (an unknown outcome, read back by its key), retries everywhere.
    add_fault(sandbox.url, path=BULK, fail_rows=[2], times=3, message="Invalid dropdown value")
    add_fault(sandbox.url, path=BULK, lost_answer=True)
    operators = make_services(tmp_path, database_url, sandbox, FIXED_CONFIG)
    workers = [job_worker(make_services(tmp_path, database_url, sandbox, FIXED_CONFIG), 7) for _ in range(2)]
    threads = [threading.Thread(target=worker.run) for worker in workers]
    stop, tally = threading.Event(), Counter[str]()
    threads += [
        threading.Thread(target=operate, args=(operators, stop, seed, tally)) for seed in range(OPERATORS)
    ]
    for thread in threads:
        thread.start()
    jobs_started = start_jobs(operators, RACE_SECONDS)
    stop.set()
    for worker in workers:
        worker.stop()
    for thread in threads:
        thread.join(timeout=60)
    assert tally["errors"] == 0 and tally["replay"] > 0 and jobs_started > 0
    finish(operators)
    rows = activity_rows(operators)
    assert [row.status for row in rows] == ["delivered"] * (CAPTURED + AUTHORIZED)
    received = sandbox_received(sandbox.url)
    assert keys_received(received) == {row.activity_key: 1 for row in rows}
    assert all(call["status"] != 429 for call in received["calls"])
