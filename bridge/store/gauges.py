"""What the store's gauges read at scrape time: one indexed query each, whatever the tables hold.

Delivered activities are not counted: that only grows, and a count of it reads
every delivered row (a million of them cost 110 ms on PostgreSQL); the rate of
deliveries is bridge_lsq_rows_total{outcome="created"}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.store.dialect import server_now
from bridge.store.tables import ActivityStatus, account_state, activities, workers

# Rows waiting for a worker's turn or held by one and not yet sent, as the console's overview
# measures its lag (bridge/operate/overview.py): each is one probe of the due index.
WAITING = (
    ActivityStatus.PENDING,
    ActivityStatus.RESOLVING,
    ActivityStatus.CLAIMED,
    ActivityStatus.LOOKING_UP,
)
COUNTED = tuple(status for status in ActivityStatus if status is not ActivityStatus.DELIVERED)


@dataclass(frozen=True)
class AccountGauge:
    """One account's state as the store holds it."""

    paused: bool
    lowered_limit: int | None  # a rate-limit answer's lower limit, while it lasts


def activity_counts(connection: sa.Connection) -> list[tuple[str, str, int]]:
    """Return (account, status, count) for every status but delivered: ranges of ix_activities_due."""
    # Literal statuses: SQLite plans an IN list of literals as ranges of the index's first column.
    statuses = [sa.literal(status.value, sa.String, literal_execute=True) for status in COUNTED]
    grouped = (activities.c.status, activities.c.account)
    query = sa.select(*grouped, sa.func.count()).where(activities.c.status.in_(statuses)).group_by(*grouped)
    return [(row[1], row[0], int(row[2])) for row in connection.execute(query)]


def earliest_due(connection: sa.Connection, accounts: Sequence[str]) -> dict[str, float | None]:
    """Return each account's earliest next_attempt_at among its waiting rows: one index probe per status."""
    if not accounts:
        return {}
    probes = [
        sa.select(activities.c.next_attempt_at)
        .where(activities.c.status == status, activities.c.account == account)
        .order_by(activities.c.next_attempt_at)
        .limit(1)
        .scalar_subquery()
        for account in accounts
        for status in WAITING
    ]
    found = connection.execute(sa.select(*probes)).one()
    earliest: dict[str, float | None] = {}
    for number, account in enumerate(accounts):
        times = [at for at in found[number * len(WAITING) : (number + 1) * len(WAITING)] if at is not None]
        earliest[account] = min(times) if times else None
    return earliest


def account_gauges(connection: sa.Connection, accounts: Sequence[str]) -> dict[str, AccountGauge]:
    """Return the pause and any lowered limit in force of each account with a state row."""
    now = server_now(connection)
    lowered = sa.case(
        (account_state.c.lowered_until > now, account_state.c.calls_per_window), else_=sa.null()
    )
    query = sa.select(account_state.c.account, account_state.c.paused, lowered).where(
        account_state.c.account.in_(list(accounts))
    )
    return {row[0]: AccountGauge(bool(row[1]), _int_or_none(row[2])) for row in connection.execute(query)}


def workers_alive(connection: sa.Connection, stale_seconds: float) -> int:
    """Count workers not stopped whose heartbeat is within stale_seconds, by the database's clock."""
    cutoff = server_now(connection) - stale_seconds
    query = sa.select(sa.func.count()).where(workers.c.beat_at >= cutoff, workers.c.stopped_at.is_(None))
    return int(connection.execute(query).scalar_one())


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
