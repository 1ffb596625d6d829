"""The console's first page: each account's queue and limit, each source's traffic, the workers, the problems.

Every number is read through an index and stays cheap with a million rows:
counts by status walk the due index alone, the queue's lag is one probe of
it per status, calls are a range of (account, started_at); traffic is in
bridge/operate/traffic.py, problem groups in bridge/operate/attention.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.config.settings import AccountSettings, Settings
from bridge.observe.masking import mask_text
from bridge.operate.attention import AttentionGroup, needs_attention
from bridge.operate.traffic import SourceOverview, source_overviews
from bridge.store.dialect import is_sqlite
from bridge.store.tables import ActivityStatus, account_state, activities, lsq_calls
from bridge.store.workers import list_workers

CALLS_WINDOW_SECONDS = 300.0  # calls_last_5_minutes
PROBLEMS_SHOWN = 5  # the latest needs-attention groups the overview carries
# The span of delivered activities counted. Counting all of them read every delivered row:
# 110-135 ms on PostgreSQL with a million (python -m bench.console --postgres), against 3 ms.
DELIVERED_SPAN_SECONDS = 86400.0
# Rows waiting for a worker's turn or held by one and not yet sent: the queue whose lag
# oldest_pending_age measures.
WAITING = (
    ActivityStatus.PENDING,
    ActivityStatus.RESOLVING,
    ActivityStatus.CLAIMED,
    ActivityStatus.LOOKING_UP,
)


@dataclass(frozen=True)
class AccountOverview:
    """One configured LeadSquared account: its queue, its calls, its limit and its pause."""

    name: str
    # Its activities per ActivityStatus, every status present; `delivered` counts those delivered
    # in the last DELIVERED_SPAN_SECONDS: an all-time total is a read of the whole table.
    by_status: dict[str, int]
    # How long its longest-waiting row has been due: now less the earliest next_attempt_at of its
    # pending, resolving, claimed and looking-up rows; 0.0 while all are due later (backing off);
    # None with none. A lag, not an age since creation: a retried row counts from its retry's time.
    oldest_pending_age: float | None
    calls_last_5_minutes: int
    limit_configured: int  # calls per window, as configured
    limit_in_force: int  # lower while a rate-limit answer's lowered limit lasts
    window_seconds: float
    paused: bool
    paused_by: str | None  # PausedBy
    paused_reason: str | None  # masked
    paused_since: float | None


@dataclass(frozen=True)
class WorkerOverview:
    """One worker process as its heartbeat tells."""

    worker_id: str
    host: str
    pid: int
    started_at: float
    beat_at: float
    alive: bool  # beat within worker_stale_seconds and not stopped
    stopped_at: float | None = None  # a clean stop; a worker neither alive nor stopped went silent

    @property
    def state(self) -> str:
        """Return alive, stopped (it said goodbye) or silent (its heartbeat just stopped: a crash)."""
        if self.alive:
            return "alive"
        return "stopped" if self.stopped_at is not None else "silent"


@dataclass(frozen=True)
class Overview:
    """Everything the console's first page shows."""

    accounts: list[AccountOverview]
    sources: list[SourceOverview]
    workers: list[WorkerOverview]
    problems: list[AttentionGroup]  # the latest few needs-attention groups


def overview(engine: sa.Engine, settings: Settings, now: float) -> Overview:
    """Return the accounts, sources, workers and latest problems as of now."""
    with engine.connect() as connection:
        accounts = account_overviews(connection, list(settings.accounts.values()), now)
        sources = source_overviews(connection, list(settings.sources), now)
    workers = [
        WorkerOverview(w.worker_id, w.host, w.pid, w.started_at, w.beat_at, w.alive, w.stopped_at)
        for w in list_workers(engine, settings.delivery.worker_stale_seconds)
    ]
    return Overview(accounts, sources, workers, needs_attention(engine, PROBLEMS_SHOWN))


def accounts_overview(engine: sa.Engine, settings: Settings, now: float) -> list[AccountOverview]:
    """Return the accounts' part of the overview alone, as the Accounts page shows it."""
    with engine.connect() as connection:
        return account_overviews(connection, list(settings.accounts.values()), now)


def account_overviews(
    connection: sa.Connection, configured: Sequence[AccountSettings], now: float
) -> list[AccountOverview]:
    """Return each configured account's queue, calls, limit and pause (the Accounts page needs no more)."""
    by_status: dict[str, dict[str, int]] = {a.name: {s.value: 0 for s in ActivityStatus} for a in configured}
    for status, account, number in connection.execute(_unfinished_counts()):
        if account in by_status:
            by_status[account][status] = number
    # Until an hour past now: a worker's clock a little ahead of this one's still counts.
    for account, number in _delivered_counts(connection, now - DELIVERED_SPAN_SECONDS, now + 3600.0):
        if account in by_status:
            by_status[account][ActivityStatus.DELIVERED.value] = number
    states = {
        row.account: row
        for row in connection.execute(
            sa.select(account_state).where(account_state.c.account.in_([a.name for a in configured]))
        )
    }
    return [
        _account(connection, account, by_status[account.name], states.get(account.name), now)
        for account in configured
    ]


def _unfinished_counts() -> sa.Select[Any]:
    """Count every status but delivered, per account: ranges of the due index (status, account, ...)."""
    unfinished = [status.value for status in ActivityStatus if status is not ActivityStatus.DELIVERED]
    grouped = (activities.c.status, activities.c.account)
    statuses = [sa.literal(status, sa.String, literal_execute=True) for status in unfinished]
    return sa.select(*grouped, sa.func.count()).where(activities.c.status.in_(statuses)).group_by(*grouped)


def _delivered_counts(connection: sa.Connection, since: float, until: float) -> list[tuple[str, int]]:
    """Count activities delivered in [since, until), per account, over the partial ix_activities_delivered.

    SQLite's planner, with the statistics a store has (gathered when it was
    migrated, empty), prefers the due index's equality on status, which reads
    every delivered row (160 ms at a million): it is told the index by name.
    """
    bounds = {"since": since, "until": until}
    if is_sqlite(connection):
        return [(row[0], row[1]) for row in connection.execute(_DELIVERED_SQLITE, bounds)]
    # A literal status: a partial index serves only a query naming its WHERE's value.
    delivered = sa.literal(ActivityStatus.DELIVERED.value, sa.String, literal_execute=True)
    query = (
        sa.select(activities.c.account, sa.func.count())
        .where(
            activities.c.status == delivered,
            activities.c.delivered_at >= sa.bindparam("since"),
            activities.c.delivered_at < sa.bindparam("until"),
        )
        .group_by(activities.c.account)
    )
    return [(row[0], row[1]) for row in connection.execute(query, bounds)]


_DELIVERED_SQLITE = sa.text(
    "SELECT account, count(*) FROM activities INDEXED BY ix_activities_delivered "
    "WHERE status = 'delivered' AND delivered_at >= :since AND delivered_at < :until GROUP BY account"
)


def _account(
    connection: sa.Connection,
    account: AccountSettings,
    by_status: dict[str, int],
    state: sa.Row[*tuple[Any, ...]] | None,
    now: float,
) -> AccountOverview:
    limit = account.calls_per_window
    if state is not None and state.calls_per_window and state.lowered_until > now:
        limit = min(limit, state.calls_per_window)  # as the limiter applies it
    pause = state if state is not None and state.paused else None
    return AccountOverview(
        name=account.name,
        by_status=by_status,
        oldest_pending_age=_oldest_pending_age(connection, account.name, now),
        calls_last_5_minutes=_recent_calls(connection, account.name, now),
        limit_configured=account.calls_per_window,
        limit_in_force=limit,
        window_seconds=account.window_seconds,
        paused=pause is not None,
        paused_by=pause.paused_by if pause else None,
        paused_reason=mask_text(pause.paused_reason) if pause and pause.paused_reason else None,
        paused_since=pause.paused_at if pause else None,
    )


def _oldest_pending_age(connection: sa.Connection, account: str, now: float) -> float | None:
    # One probe of the due index (status, account, next_attempt_at, id) per status.
    earliest = [
        sa.select(activities.c.next_attempt_at)
        .where(activities.c.status == status, activities.c.account == account)
        .order_by(activities.c.next_attempt_at)
        .limit(1)
        .scalar_subquery()
        for status in WAITING
    ]
    found = [at for at in connection.execute(sa.select(*earliest)).one() if at is not None]
    return max(0.0, now - min(found)) if found else None


def _recent_calls(connection: sa.Connection, account: str, now: float) -> int:
    query = sa.select(sa.func.count()).where(
        lsq_calls.c.account == account, lsq_calls.c.started_at >= now - CALLS_WINDOW_SECONDS
    )
    return int(connection.execute(query).scalar_one())
