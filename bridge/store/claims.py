"""What a worker holds: claiming a group of activities, and taking back the claims of dead workers.

A claim moves rows into a held status (claimed, looking_up, reconciling) with
the worker's id and a lease; every later status change is in
bridge/store/transitions.py. Rows another worker holds are skipped (FOR UPDATE
SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bridge.leadsquared.activity import LeadLookup
from bridge.store import workers
from bridge.store.tables import ActivityStatus, activities


@dataclass(frozen=True)
class ClaimedActivity:
    """An activity a worker holds."""

    id: int
    activity_key: str
    request: dict[str, Any]
    attempts: int
    created_at: float


@dataclass(frozen=True)
class Batch:
    """Activities for one opportunity of one account, posted in one call."""

    account: str
    opportunity_id: str
    items: list[ClaimedActivity]
    # CLAIMED for a batch to post, RECONCILING for one to read back.
    status: ActivityStatus = ActivityStatus.CLAIMED
    # The worker that holds the rows: every later change is made only while it still does.
    claimed_by: str = field(kw_only=True)

    def subset(self, items: Sequence[ClaimedActivity]) -> Batch:
        """Return a batch of some of these items, for the same opportunity."""
        return Batch(self.account, self.opportunity_id, list(items), self.status, claimed_by=self.claimed_by)


@dataclass(frozen=True)
class WaitingActivity:
    """An activity a worker holds while it looks up the opportunity."""

    id: int
    attempts: int
    created_at: float
    wait_seconds: float

    @property
    def wait_until(self) -> float:
        """Return when a lead or opportunity still not found makes this activity unresolved."""
        return self.created_at + self.wait_seconds


@dataclass(frozen=True)
class LookupClaim:
    """Every activity of one account waiting on the same search, held by one worker."""

    account: str
    worker_id: str
    lookup: LeadLookup
    items: list[WaitingActivity]


@dataclass(frozen=True)
class Claim:
    """Who claims, until when, into which status, and how many rows at most."""

    worker_id: str
    expires_at: float
    status: ActivityStatus
    limit: int | None


@dataclass(frozen=True)
class ClaimedGroup:
    """The row that led a claim (account, group value, extras) and every row claimed with it."""

    head: sa.Row[Any]
    rows: Sequence[sa.Row[Any]]


def claim_group(
    engine: sa.Engine,
    accounts: Sequence[str],
    due: sa.ColumnElement[bool],
    member: sa.ColumnElement[bool],
    group_by: sa.Column[Any],
    columns: Sequence[sa.Column[Any]],
    claim: Claim,
    head_columns: Sequence[sa.Column[Any]] = (),
) -> ClaimedGroup | None:
    """Claim, in one transaction, the member rows of the group whose due row is oldest among these accounts.

    A group is one account's rows sharing group_by (an opportunity, a look-up).
    `due` says which rows may lead a claim, apart from their account; `member`
    which rows of the leader's group are claimed with it. Rows another worker
    holds are skipped (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN
    IMMEDIATE serialises claims).
    """
    if not accounts:
        return None
    # One account at a time, each the start of its own stretch of
    # ix_activities_due: a single query over several accounts would have to sort
    # all their due rows, or step over every row of an account left out (paused,
    # or with no room in flight) that is older than the first one wanted.
    head_queries = [_head_query(account, due, group_by, head_columns) for account in dict.fromkeys(accounts)]
    # Built before the transaction: on SQLite it holds the write lock every webhook waits for.
    members = (
        sa.select(*columns)
        .where(
            member,
            activities.c.account == sa.bindparam("head_account"),
            group_by == sa.bindparam("head_group"),
        )
        .order_by(activities.c.id)
        .limit(claim.limit)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        heads = [head for query in head_queries if (head := connection.execute(query).first())]
        if not heads:
            return None
        head = min(heads, key=lambda row: (row.next_attempt_at, row.id))
        rows = connection.execute(members, {"head_account": head.account, "head_group": head[1]}).all()
        if not rows:
            return None
        update_rows(
            connection,
            [row.id for row in rows],
            status=claim.status,
            claimed_by=claim.worker_id,
            claim_expires_at=claim.expires_at,
        )
    return ClaimedGroup(head, rows)


def _head_query(
    account: str,
    due: sa.ColumnElement[bool],
    group_by: sa.Column[Any],
    head_columns: Sequence[sa.Column[Any]],
) -> sa.Select[Any]:
    """Return the query for an account's oldest due row: account, group value, extras, then its order."""
    return (
        sa.select(
            activities.c.account,
            group_by,
            *head_columns,
            activities.c.next_attempt_at,
            activities.c.id,
        )
        .where(due, activities.c.account == account)
        .order_by(activities.c.next_attempt_at, activities.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def not_indexed(column: sa.Column[float]) -> sa.ColumnElement[float]:
    """Return the column as an expression no index serves, for a condition that only filters.

    A group's members are found by the group's index; a planner without
    statistics (SQLite's, before ANALYZE) would rather range over
    ix_activities_due on next_attempt_at, then sort every due row of the account.
    """
    return column + 0.0


def release_expired(
    engine: sa.Engine, now: float, stale_seconds: float | None = None, read_back_delay: float = 0.0
) -> tuple[int, int]:
    """Take back claims of dead workers: unsent ones and look-ups are due again, sent ones unknown.

    A claim is taken back when its lease expired or, given stale_seconds, at
    once when its owner stopped or its heartbeat is older than that. A row a
    worker was sending when its heartbeat went stale is read back only after
    read_back_delay: the worker may be alive but cut off from the store, with
    the call still on its way. The statements find held rows through the
    status column that leads ix_activities_due; held rows are few.
    """
    expired = activities.c.claim_expires_at < now
    taken: sa.ColumnElement[bool] = expired
    if stale_seconds is not None:
        taken = sa.or_(expired, activities.c.claimed_by.in_(workers.gone(engine, stale_seconds)))
    with engine.begin() as connection:
        released = connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.CLAIMED, taken)
            .values(status=ActivityStatus.PENDING, claimed_by=None, claim_expires_at=None)
        ).rowcount
        unknown = connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.SENDING, taken)
            .values(
                status=ActivityStatus.UNKNOWN,
                claimed_by=None,
                claim_expires_at=None,
                next_attempt_at=sa.case((expired, now), else_=now + read_back_delay),
                last_error="the worker stopped while the call was in flight",
            )
        ).rowcount
        unknown += connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.RECONCILING, taken)
            .values(status=ActivityStatus.UNKNOWN, claimed_by=None, claim_expires_at=None)
        ).rowcount
        # A look-up only reads: one cut short is simply made again.
        released += connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.LOOKING_UP, taken)
            .values(status=ActivityStatus.RESOLVING, claimed_by=None, claim_expires_at=None)
        ).rowcount
    return released, unknown


def update_rows(connection: sa.Connection, ids: list[int], **values: Any) -> None:
    """Set these columns on the activities with these ids."""
    connection.execute(sa.update(activities).where(activities.c.id.in_(ids)).values(**values))
