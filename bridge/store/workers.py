"""Worker heartbeats: who is working, who stopped, and whose claims may be taken back.

Every time here is the database server's clock (server_now), so machines whose
own clocks disagree still agree on whose heartbeat is stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bridge.store.dialect import server_now
from bridge.store.tables import workers

# Rows of workers gone this long are deleted when a worker starts: nothing refers to them any more.
FORGET_AFTER_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class WorkerState:
    """One worker process as the store last heard of it."""

    worker_id: str
    host: str
    pid: int
    started_at: float
    beat_at: float
    stopped_at: float | None
    seconds_since_beat: float  # by the database's clock
    alive: bool  # beating within the stale limit and not stopped


def beat(engine: sa.Engine, worker_id: str, host: str, pid: int) -> None:
    """Record that this worker is alive now; the first beat registers it."""
    now = server_now(engine)
    with engine.begin() as connection:
        updated = connection.execute(
            sa.update(workers).where(workers.c.worker_id == worker_id).values(beat_at=now, stopped_at=None)
        ).rowcount
        if updated == 0:
            connection.execute(
                sa.insert(workers).values(
                    worker_id=worker_id, host=host, pid=pid, started_at=now, beat_at=now
                )
            )


def mark_stopped(engine: sa.Engine, worker_id: str) -> None:
    """Record a clean stop: the worker holds nothing any more."""
    now = server_now(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.update(workers).where(workers.c.worker_id == worker_id).values(beat_at=now, stopped_at=now)
        )


def forget_old(engine: sa.Engine, older_than_seconds: float = FORGET_AFTER_SECONDS) -> int:
    """Delete the rows of workers not heard of for this long; return how many."""
    with engine.begin() as connection:
        cutoff = server_now(connection) - older_than_seconds
        return connection.execute(sa.delete(workers).where(workers.c.beat_at < cutoff)).rowcount


def gone(bind: sa.Engine | sa.Connection, stale_seconds: float) -> sa.Select[tuple[str]]:
    """Return a query of the ids of workers that stopped, or whose last beat is older than stale_seconds."""
    cutoff = server_now(bind) - stale_seconds
    return sa.select(workers.c.worker_id).where(
        sa.or_(workers.c.beat_at < cutoff, workers.c.stopped_at.is_not(None))
    )


def list_workers(
    engine: sa.Engine, stale_seconds: float, dead_within_seconds: float = 3600.0
) -> list[WorkerState]:
    """Return the workers alive and those that stopped or went silent within dead_within_seconds.

    Alive ones come first, then the rest, most recently heard of first.
    """
    with engine.connect() as connection:
        now = connection.execute(sa.select(server_now(connection))).scalar_one()
        rows = connection.execute(
            sa.select(workers)
            .where(workers.c.beat_at >= now - dead_within_seconds)
            .order_by(workers.c.beat_at.desc(), workers.c.worker_id)
        ).all()
    states = [
        WorkerState(
            worker_id=row.worker_id,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            beat_at=row.beat_at,
            stopped_at=row.stopped_at,
            seconds_since_beat=max(0.0, now - row.beat_at),
            alive=row.stopped_at is None and now - row.beat_at <= stale_seconds,
        )
        for row in rows
    ]
    return sorted(states, key=lambda state: not state.alive)
