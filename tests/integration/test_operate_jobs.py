"""Bulk actions on real stores: the dry run, a worker running the job, progress, cancel, take-over."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge.operate.actions import OperateError
from bridge.operate.jobs import (
    BulkAction,
    JobRunner,
    cancel_job,
    count_bulk,
    get_job,
    list_jobs,
    start_bulk,
)
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store import jobs, workers
from tests.conftest import make_services
from tests.integration.operating import (
    FIXED_CONFIG,
    OPERATOR,
    audit_rows,
    job_worker,
    keys_received,
    post,
)
from tests.support import activity_rows, add_fault, event_rows, run_worker_until, sandbox_received, settled

BULK = "ByOpportunityId"


def dead_activities(client: FlaskClient, services: Services, sandbox: SandboxServer, count: int) -> None:
    """Post count payments to one opportunity and have LeadSquared refuse every row."""
    add_fault(sandbox.url, path=BULK, fail_rows=list(range(1, count + 1)), message="Invalid dropdown value")
    for number in range(count):
        post(client, number, "opp-1")
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["dead"] * count


def job_done(services: Services, job_id: int) -> bool:
    """Tell whether the job has run to its end."""
    job = get_job(services.engine, job_id)
    return job is not None and job.status == "done"


def test_a_bulk_replay_is_counted_first_then_run_to_the_end_by_a_worker(
    client: FlaskClient, services: Services, sandbox: SandboxServer, tmp_path: Path, database_url: str
) -> None:
    """Twelve ignored events: the dry run counts them, a worker replays them in chunks, all are delivered."""
    for number in range(12):
        post(client, number, f"opp-{number % 3}", event="payment.authorized")
    post(client, 100, "opp-0")
    run_worker_until(services, settled(services))
    fixed = make_services(tmp_path, database_url, sandbox, FIXED_CONFIG)
    now = time.time()
    assert count_bulk(fixed, BulkAction.REPLAY, {"status": "ignored"}, now) == 12
    assert count_bulk(fixed, BulkAction.REPLAY, {}, now) == 13
    job = start_bulk(fixed, BulkAction.REPLAY, {"status": "ignored", "since": "1h"}, OPERATOR, now)
    assert (job.action, job.status, job.total, job.processed) == ("replay", "queued", 12, 0)
    assert job.params == {"status": "ignored", "since": repr(now - 3600)}
    worker = job_worker(fixed, chunk_size=5)
    run_worker_until(fixed, lambda: job_done(fixed, job.id) and settled(fixed)(), worker=worker)
    finished = get_job(fixed.engine, job.id)
    assert finished is not None
    assert (finished.processed, finished.changed, finished.error) == (12, 12, None)
    assert finished.started_at is not None and finished.finished_at is not None
    assert [row.status for row in event_rows(fixed)] == ["transformed"] * 13
    received = keys_received(sandbox_received(sandbox.url))
    assert len(received) == 13 and set(received.values()) == {1}
    [entry] = audit_rows(fixed)
    assert (entry.action, entry.target, entry.rows, entry.actor) == (
        "bulk_replay",
        f"since={now - 3600!r}&status=ignored",
        12,
        "cli:asha",
    )
    assert entry.detail == f"job {job.id} queued: 12 events match"


def test_a_bulk_retry_takes_only_dead_activities_and_delivers_them(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """The retry's filter is forced to dead; the job makes them due and the worker delivers each once."""
    dead_activities(client, services, sandbox, 4)
    post(client, 50, "opp-2")
    run_worker_until(services, settled(services))
    now = time.time()
    assert count_bulk(services, BulkAction.RETRY, {"account": "main"}, now) == 4
    job = start_bulk(services, BulkAction.RETRY, {"account": "main"}, OPERATOR, now)
    assert job.params == {"account": "main", "status": "dead"}
    worker = job_worker(services, chunk_size=3)
    run_worker_until(services, lambda: job_done(services, job.id), worker=worker)
    run_worker_until(services, settled(services))
    assert [row.status for row in activity_rows(services)] == ["delivered"] * 5
    finished = get_job(services.engine, job.id)
    assert finished is not None and (finished.processed, finished.changed) == (4, 4)
    assert set(keys_received(sandbox_received(sandbox.url)).values()) == {1}


def test_a_job_cancelled_mid_way_keeps_the_rows_it_handled(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """After one chunk of two a cancel stops the job; those two stay retried, the rest stay dead."""
    dead_activities(client, services, sandbox, 6)
    job = start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
    runner = JobRunner(services, "worker-a", chunk_size=2)
    assert runner.run_some(time.time())
    progress = get_job(services.engine, job.id)
    assert progress is not None and (progress.status, progress.processed, progress.changed) == (
        "running",
        2,
        2,
    )
    asked = cancel_job(services.engine, job.id, OPERATOR, time.time())
    assert (asked.status, asked.cancel_requested) == ("running", True)
    assert runner.run_some(time.time())
    assert not runner.run_some(time.time() + 5)
    cancelled = get_job(services.engine, job.id)
    assert cancelled is not None and (cancelled.status, cancelled.processed) == ("cancelled", 2)
    assert cancelled.finished_at is not None
    assert [row.status for row in activity_rows(services)] == ["pending"] * 2 + ["dead"] * 4
    assert [e.action for e in audit_rows(services)] == ["bulk_retry", "cancel"]


def test_a_queued_job_is_cancelled_at_once_and_an_ended_one_refused(services: Services) -> None:
    """Cancelling a queued job ends it; cancelling it again is 409; an unknown job is 404."""
    job = start_bulk(services, BulkAction.RESOLVE_REPOST, {}, OPERATOR, time.time())
    assert (job.total, job.params) == (0, {"status": "unknown"})
    cancelled = cancel_job(services.engine, job.id, OPERATOR, time.time())
    assert cancelled.status == "cancelled" and cancelled.processed == 0
    with pytest.raises(OperateError, match="already ended: it is cancelled") as refused:
        cancel_job(services.engine, job.id, OPERATOR, time.time())
    assert refused.value.status == 409
    with pytest.raises(OperateError, match="no job 999") as missing:
        cancel_job(services.engine, 999, OPERATOR, time.time())
    assert missing.value.status == 404
    assert not JobRunner(services, "worker-a").run_some(time.time())
    assert [e.action for e in audit_rows(services)] == ["bulk_resolve_repost", "cancel"]


def test_a_job_abandoned_by_a_dead_worker_is_resumed_from_its_cursor(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A worker whose lease ran out loses the job to another, which goes on after the last chunk done."""
    dead_activities(client, services, sandbox, 7)
    job = start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
    first = JobRunner(services, "worker-a", chunk_size=3, lease_seconds=0.0)
    assert first.run_some(time.time())
    after_first = jobs.find_job(services.engine, job.id)
    assert after_first is not None and (after_first.claimed_by, after_first.processed) == ("worker-a", 3)
    second = JobRunner(services, "worker-b", chunk_size=3)
    assert second.run_some(time.time())
    taken = jobs.find_job(services.engine, job.id)
    assert taken is not None and (taken.claimed_by, taken.processed, taken.changed) == ("worker-b", 6, 6)
    assert taken.cursor is not None and after_first.cursor is not None and taken.cursor > after_first.cursor
    assert first.run_some(time.time())  # finds it taken: lets go, changing nothing
    assert first.job is None
    assert second.run_some(time.time())
    done = jobs.find_job(services.engine, job.id)
    assert done is not None and (done.status.value, done.processed, done.changed) == ("done", 7, 7)
    assert [row.status for row in activity_rows(services)] == ["pending"] * 7


def test_a_stopped_workers_job_is_taken_over_before_its_lease_ends(services: Services) -> None:
    """A worker that stopped (or went silent) holds its job no longer, whatever lease it had."""
    job = start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
    workers.beat(services.engine, "worker-a", "host-a", 1)
    holder = JobRunner(services, "worker-a", chunk_size=3)
    holder.job = holder.claim(time.time())
    assert holder.job is not None
    assert JobRunner(services, "worker-b").claim(time.time()) is None
    workers.mark_stopped(services.engine, "worker-a")
    taken = JobRunner(services, "worker-b").claim(time.time())
    assert taken is not None and (taken.id, taken.claimed_by) == (job.id, "worker-b")


def test_a_job_that_raises_fails_with_the_error_and_the_worker_goes_on(
    client: FlaskClient, services: Services
) -> None:
    """A job whose filter no longer parses is failed with the reason; the worker still transforms events."""
    broken = jobs.insert_job(services.engine, "retry", {"colour": "red"}, "cli:asha", 0, time.time())
    good = start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
    post(client, 1, "opp-1")
    worker = job_worker(services)
    run_worker_until(services, lambda: job_done(services, good.id), worker=worker)
    failed = get_job(services.engine, broken.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and failed.error.startswith("OperateError: colour: not a filter; use")
    assert [row.status for row in event_rows(services)] == ["transformed"]


def test_a_failed_jobs_error_is_stored_masked(client: FlaskClient, services: Services) -> None:
    """An error quoting an email or a PAN is kept masked: the console's job page and `jobs show` print it."""
    broken = jobs.insert_job(services.engine, "retry", {"lead@example.com ABCPE1234K": "x"}, "cli:asha", 0, 0)
    worker = job_worker(services)
    run_worker_until(
        services, lambda: (get_job(services.engine, broken.id) or broken).status == "failed", worker=worker
    )
    failed = get_job(services.engine, broken.id)
    assert failed is not None and failed.error is not None
    assert failed.error.startswith("OperateError: l***@example.com ******234K: not a filter")


def test_a_filter_naming_an_email_is_audited_masked(services: Services) -> None:
    """The audit log keeps a typed filter's email and PAN masked: whoever reads it sees no identifier."""
    start_bulk(services, BulkAction.RETRY, {"text": "lead@example.com ABCPE1234K"}, OPERATOR, time.time())
    [entry] = audit_rows(services)
    assert entry.target == "status=dead&text=l***%40example.com+******234K"


def test_jobs_are_listed_newest_first_and_bad_filters_refused(services: Services) -> None:
    """list_jobs shows the newest first; a bad filter or action is 400 and stores nothing."""
    first = start_bulk(services, BulkAction.RETRY, {}, OPERATOR, time.time())
    second = start_bulk(services, BulkAction.REPLAY, {"status": "failed"}, OPERATOR, time.time())
    assert [job.id for job in list_jobs(services.engine)] == [second.id, first.id]
    assert get_job(services.engine, 999) is None
    for action, params in [
        (BulkAction.RETRY, {"status": "unknown"}),
        (BulkAction.REPLAY, {"status": "received"}),
        (BulkAction.REPLAY, {"since": "yesterday"}),
        ("delete", {}),
    ]:
        with pytest.raises(OperateError) as refused:
            start_bulk(services, action, params, OPERATOR, time.time())  # type: ignore[arg-type]
        assert refused.value.status == 400
    assert len(list_jobs(services.engine)) == 2
