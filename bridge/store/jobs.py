"""Operators' bulk jobs: queued, claimed by one worker at a time, worked in chunks that each move a cursor.

A job is held like an activity: by a worker's id and a lease. The worker
renews the lease with every chunk, in the chunk's own transaction, and only
while it still holds the job and no cancel was asked for (hold); a job whose
lease ran out, or whose worker stopped beating, is taken over by another
worker from its cursor (claim_job). Claims skip jobs another worker is taking
(FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.observe.masking import mask_text
from bridge.store import workers
from bridge.store.tables import JobStatus, operator_jobs

ERROR_CHARS = 1000  # an error text is kept this long at most


@dataclass(frozen=True)
class JobRow:
    """One bulk job as stored."""

    id: int
    action: str
    params: dict[str, str]
    requested_by: str
    created_at: float
    status: JobStatus
    total: int
    processed: int
    changed: int
    cursor: int | None
    cancel_requested: bool
    claimed_by: str | None
    started_at: float | None
    finished_at: float | None
    error: str | None


def insert_job(
    engine: sa.Engine, action: str, params: Mapping[str, str], requested_by: str, total: int, now: float
) -> JobRow:
    """Queue a job for a worker and return it."""
    with engine.begin() as connection:
        job_id = connection.execute(
            sa.insert(operator_jobs)
            .values(
                action=action,
                filter=dict(params),
                requested_by=requested_by,
                created_at=now,
                status=JobStatus.QUEUED,
                total=total,
            )
            .returning(operator_jobs.c.id)
        ).scalar_one()
        return _job(connection, job_id)


def find_job(engine: sa.Engine, job_id: int) -> JobRow | None:
    """Return the job with this id, or None."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(operator_jobs).where(operator_jobs.c.id == job_id)).first()
    return None if row is None else _from_row(row)


def latest_jobs(engine: sa.Engine, limit: int) -> list[JobRow]:
    """Return the newest jobs first."""
    query = sa.select(operator_jobs).order_by(operator_jobs.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query)]


def request_cancel(engine: sa.Engine, job_id: int, now: float) -> bool:
    """Cancel a queued job at once, or ask a running one's worker to stop; False if it had ended."""
    by_id = operator_jobs.c.id == job_id
    with engine.begin() as connection:
        cancelled = connection.execute(
            sa.update(operator_jobs)
            .where(by_id, operator_jobs.c.status == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now)
        ).rowcount
        asked = connection.execute(
            sa.update(operator_jobs)
            .where(by_id, operator_jobs.c.status == JobStatus.RUNNING)
            .values(cancel_requested=True)
        ).rowcount
    return bool(cancelled or asked)


def claim_job(
    engine: sa.Engine, worker_id: str, now: float, lease_seconds: float, stale_seconds: float
) -> JobRow | None:
    """Take the oldest job that is queued, or running with no live worker holding it; None if none is."""
    claimable = _claimable(engine, now, stale_seconds)
    query = (
        sa.select(operator_jobs.c.id)
        .where(claimable)
        .order_by(operator_jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        job_id = connection.execute(query).scalar_one_or_none()
        if job_id is None:
            return None
        connection.execute(
            sa.update(operator_jobs)
            .where(operator_jobs.c.id == job_id, claimable)
            .values(
                status=JobStatus.RUNNING,
                claimed_by=worker_id,
                claim_expires_at=now + lease_seconds,
                started_at=sa.func.coalesce(operator_jobs.c.started_at, now),
            )
        )
        return _job(connection, job_id)


def hold(connection: sa.Connection, job_id: int, worker_id: str, until: float) -> bool:
    """Renew this worker's lease on a running job it holds and no one asked to cancel; False if not."""
    renewed = connection.execute(
        sa.update(operator_jobs)
        .where(_held_by(job_id, worker_id), sa.not_(operator_jobs.c.cancel_requested))
        .values(claim_expires_at=until)
    ).rowcount
    return bool(renewed)


def record_chunk(
    connection: sa.Connection, job_id: int, cursor: int | None, rows: int, changed: int, done_at: float | None
) -> None:
    """Move a held job's cursor past a chunk and count it; done_at marks it done."""
    values: dict[str, Any] = {
        "processed": operator_jobs.c.processed + rows,
        "changed": operator_jobs.c.changed + changed,
    }
    if cursor is not None:
        values["cursor"] = cursor
    if done_at is not None:
        values.update(status=JobStatus.DONE, finished_at=done_at, claimed_by=None, claim_expires_at=None)
    connection.execute(sa.update(operator_jobs).where(operator_jobs.c.id == job_id).values(**values))


def stop_job(
    engine: sa.Engine, job_id: int, worker_id: str, status: JobStatus, now: float, error: str | None = None
) -> bool:
    """End a job this worker holds as cancelled or failed; False if it no longer holds it."""
    with engine.begin() as connection:
        stopped = connection.execute(
            sa.update(operator_jobs)
            .where(_held_by(job_id, worker_id))
            .values(
                status=status,
                finished_at=now,
                claimed_by=None,
                claim_expires_at=None,
                # A store error's text may quote the row it was writing (SQLAlchemy prints the parameters).
                error=None if error is None else mask_text(error)[:ERROR_CHARS],
            )
        ).rowcount
    return bool(stopped)


def _claimable(engine: sa.Engine, now: float, stale_seconds: float) -> sa.ColumnElement[bool]:
    """Return the condition on a job a worker may take: queued, or its holder's lease or heartbeat gone."""
    abandoned = sa.or_(
        operator_jobs.c.claim_expires_at < now,
        operator_jobs.c.claimed_by.in_(workers.gone(engine, stale_seconds)),
    )
    return sa.or_(
        operator_jobs.c.status == JobStatus.QUEUED,
        sa.and_(operator_jobs.c.status == JobStatus.RUNNING, abandoned),
    )


def _held_by(job_id: int, worker_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        operator_jobs.c.id == job_id,
        operator_jobs.c.status == JobStatus.RUNNING,
        operator_jobs.c.claimed_by == worker_id,
    )


def _job(connection: sa.Connection, job_id: int) -> JobRow:
    return _from_row(connection.execute(sa.select(operator_jobs).where(operator_jobs.c.id == job_id)).one())


def _from_row(row: sa.Row[Any]) -> JobRow:
    return JobRow(
        id=row.id,
        action=row.action,
        params=dict(row.filter),
        requested_by=row.requested_by,
        created_at=row.created_at,
        status=JobStatus(row.status),
        total=row.total,
        processed=row.processed,
        changed=row.changed,
        cursor=row.cursor,
        cancel_requested=bool(row.cancel_requested),
        claimed_by=row.claimed_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
    )
