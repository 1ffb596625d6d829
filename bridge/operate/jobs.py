"""Bulk actions by filter: a dry-run count, then a job a worker runs in the background, chunk by chunk.

A job stores its filter as canonical text with absolute times (to_params()),
so every chunk matches the rows the operator counted, as they are when the
chunk runs. The worker runs JobRunner.run_some once per loop round: one short
chunk (ids above the cursor, in id order) whose changes, cursor and counts are
committed together, so a job cut off by a crash is resumed from its cursor by
any worker, and nothing is done twice. Every change goes through the same
conditional statements as the single actions: a bulk replay or retry only
queues, and the outbox and the account's limiter pace the deliveries.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import sqlalchemy as sa

from bridge.operate.actions import ActionResult, Actor, OperateError, audit
from bridge.operate.chunks import next_chunk, replay_conditions
from bridge.operate.filters import (
    ActivityFilter,
    EventFilter,
    FilterError,
    activity_conditions,
    parse_activity_filter,
    parse_event_filter,
)
from bridge.services import Services
from bridge.store import jobs
from bridge.store.tables import ActivityStatus, EventStatus, JobStatus, activities, events

log = logging.getLogger(__name__)
# Rows a chunk handles. Replaying 10,000 events in chunks of 200, the write of a chunk took
# 90 ms (SQLite) and 166 ms (PostgreSQL) at the median, 242 and 359 ms at worst, and reading and
# transforming it about 12 ms: the worker's delivery loop, which runs between chunks, is never held up long.
CHUNK_SIZE = 200
# How often an idle worker looks for a job: one query a second, and a job starts within about one.
LOOK_EVERY_SECONDS = 1.0


class BulkAction(enum.StrEnum):
    """What a bulk job does to each row its filter matches."""

    REPLAY = "replay"  # events: transform again with the current configuration, queue what they yield
    RETRY = "retry"  # dead activities: due again, attempts reset
    RESOLVE_DELIVERED = "resolve_delivered"  # unknown activities: they are in LeadSquared
    RESOLVE_REPOST = "resolve_repost"  # unknown activities: they are not; post them again


# The one status each activity action works on; a filter left without one gets it.
FORCED_STATUS = {
    BulkAction.RETRY: ActivityStatus.DEAD,
    BulkAction.RESOLVE_DELIVERED: ActivityStatus.UNKNOWN,
    BulkAction.RESOLVE_REPOST: ActivityStatus.UNKNOWN,
}


@dataclass(frozen=True)
class JobSummary:
    """A bulk job as an operator sees it: what, on which rows, how far it got."""

    id: int
    action: str
    params: dict[str, str]
    status: str
    total: int  # rows that matched when it was asked for
    processed: int  # rows handled so far
    changed: int  # rows changed: activities queued (replay) or settled (retry, resolve)
    requested_by: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    cancel_requested: bool
    error: str | None


def bulk_action(action: BulkAction | str) -> BulkAction:
    """Return the bulk action named; an unknown name raises OperateError(400)."""
    try:
        return BulkAction(action)
    except ValueError:
        raise OperateError(f"action: one of {', '.join(BulkAction)}, not {action!r}", 400) from None


def bulk_filter(
    action: BulkAction | str, params: Mapping[str, str], now: float
) -> EventFilter | ActivityFilter:
    """Return the filter a bulk action runs on, its forced status set; bad input raises OperateError(400)."""
    action = bulk_action(action)
    try:
        if action is BulkAction.REPLAY:
            wanted_events = parse_event_filter(params, now)
            if wanted_events.status is EventStatus.RECEIVED:
                raise FilterError("status: received events are not transformed yet; a worker will")
            return wanted_events
        wanted = parse_activity_filter(params, now)
    except FilterError as error:
        raise OperateError(str(error), 400) from None
    forced = FORCED_STATUS[action]
    if wanted.status not in (None, forced):
        message = f"status: {action.value} works on {forced.value} activities, not {wanted.status}"
        raise OperateError(message, 400)
    return replace(wanted, status=forced)


def count_bulk(services: Services, action: BulkAction, params: Mapping[str, str], now: float) -> int:
    """Count the rows a bulk action would handle now: its dry run."""
    wanted = bulk_filter(action, params, now)
    if isinstance(wanted, EventFilter):
        query = (
            sa.select(sa.func.count())
            .select_from(events)
            .where(*replay_conditions(wanted, list(services.settings.sources)))
        )
    else:
        query = sa.select(sa.func.count()).select_from(activities).where(*activity_conditions(wanted))
    with services.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def start_bulk(
    services: Services, action: BulkAction, params: Mapping[str, str], actor: Actor, now: float
) -> JobSummary:
    """Queue a bulk job for a worker, its filter stored with absolute times; return it."""
    action = bulk_action(action)
    canonical = bulk_filter(action, params, now).to_params()
    total = count_bulk(services, action, canonical, now)
    job = jobs.insert_job(services.engine, action.value, canonical, actor.name, total, now)
    noun = "events" if action is BulkAction.REPLAY else "activities"
    detail = f"job {job.id} queued: {total} {noun} match"
    # The entry counts the rows the job was asked for; the job itself counts what it changed.
    started = ActionResult(f"bulk_{action.value}", total, 0, detail)
    audit(services.engine, actor, started, query_string(canonical), now, rows=total)
    return summary(job)


def cancel_job(engine: sa.Engine, job_id: int, actor: Actor, now: float) -> JobSummary:
    """Stop a job: a queued one at once, a running one before its next chunk; rows handled stay handled."""
    job = jobs.find_job(engine, job_id)
    if job is None:
        raise OperateError(f"no job {job_id}", 404)
    if not jobs.request_cancel(engine, job_id, now):
        ended = jobs.find_job(engine, job_id) or job
        raise OperateError(f"job {job_id} has already ended: it is {ended.status.value}", 409)
    detail = f"job {job_id} ({job.action}): cancel asked after {job.processed} of {job.total} rows"
    audit(engine, actor, ActionResult("cancel", 1, 1, detail), str(job_id), now)
    return summary(jobs.find_job(engine, job_id) or job)


def get_job(engine: sa.Engine, job_id: int) -> JobSummary | None:
    """Return the job with this id, or None."""
    job = jobs.find_job(engine, job_id)
    return None if job is None else summary(job)


def list_jobs(engine: sa.Engine, limit: int = 20) -> list[JobSummary]:
    """Return the newest jobs first."""
    return [summary(job) for job in jobs.latest_jobs(engine, limit)]


def query_string(params: Mapping[str, str]) -> str:
    """Return a filter as the query string the console would show it in."""
    return urlencode(sorted(params.items()))


def summary(job: jobs.JobRow) -> JobSummary:
    """Return what an operator sees of a stored job."""
    return JobSummary(
        id=job.id,
        action=job.action,
        params=job.params,
        status=job.status.value,
        total=job.total,
        processed=job.processed,
        changed=job.changed,
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cancel_requested=job.cancel_requested,
        error=job.error,
    )


class JobRunner:
    """A worker's share of the bulk jobs: one chunk per call, the worker's loop calling it each round."""

    def __init__(
        self,
        services: Services,
        worker_id: str,
        chunk_size: int = CHUNK_SIZE,
        lease_seconds: float | None = None,
        look_every_seconds: float = LOOK_EVERY_SECONDS,
    ) -> None:
        self.services = services
        self.worker_id = worker_id
        self.chunk_size = chunk_size
        self.lease_seconds = (
            services.settings.delivery.claim_lease_seconds if lease_seconds is None else lease_seconds
        )
        self.look_every_seconds = look_every_seconds
        self.job: jobs.JobRow | None = None
        self.next_look = 0.0

    def run_some(self, now: float) -> bool:
        """Handle one chunk of the job this worker holds, or of one it claims; return whether it did."""
        job = self.job or self.claim(now)
        if job is None:
            return False
        try:
            self.job = self.handle_chunk(job, now)
        except sa.exc.OperationalError:
            # The store is unreachable or gave up a lock: the worker backs off, and the
            # job is taken on again from its cursor, by this worker or, after the lease, another.
            raise
        except Exception as error:
            log.exception("bulk job failed", extra={"action": "job", "job_id": job.id})
            jobs.stop_job(
                self.services.engine, job.id, self.worker_id, JobStatus.FAILED, now, describe(error)
            )
            self.job = None
        return True

    def claim(self, now: float) -> jobs.JobRow | None:
        """Claim a queued or abandoned job, looking once per look_every_seconds."""
        if now < self.next_look:
            return None
        stale = self.services.settings.delivery.worker_stale_seconds
        job = jobs.claim_job(self.services.engine, self.worker_id, now, self.lease_seconds, stale)
        if job is None:
            self.next_look = now + self.look_every_seconds
            return None
        log.info(
            "running bulk job",
            extra={"action": "job", "job_id": job.id, "job": job.action, "cursor": job.cursor},
        )
        return job

    def handle_chunk(self, job: jobs.JobRow, now: float) -> jobs.JobRow | None:
        """Change the next rows and move the cursor in one transaction; return the job while it goes on."""
        wanted = bulk_filter(job.action, job.params, now)
        chunk = next_chunk(self.services, job.action, wanted, job.cursor or 0, self.chunk_size, now)
        done = chunk.rows < self.chunk_size
        with self.services.engine.begin() as connection:
            held = jobs.hold(connection, job.id, self.worker_id, now + self.lease_seconds)
            if held:
                changed = chunk.apply(connection)
                jobs.record_chunk(
                    connection, job.id, chunk.cursor, chunk.rows, changed, now if done else None
                )
        if not held:
            self.let_go(job, now)
            return None
        if done:
            log.info("bulk job done", extra={"action": "job", "job_id": job.id})
            return None
        return replace(job, cursor=chunk.cursor)

    def let_go(self, job: jobs.JobRow, now: float) -> None:
        """Stop working on a job no longer held: cancelled on request, or taken over by another worker."""
        current = jobs.find_job(self.services.engine, job.id)
        if current is not None and current.cancel_requested:
            jobs.stop_job(self.services.engine, job.id, self.worker_id, JobStatus.CANCELLED, now)
            log.info("bulk job cancelled", extra={"action": "job", "job_id": job.id})
        else:
            log.warning("bulk job taken over by another worker", extra={"action": "job", "job_id": job.id})


def describe(error: Exception) -> str:
    """Return an exception as the error text a failed job keeps."""
    return f"{type(error).__name__}: {error}"
