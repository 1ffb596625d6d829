"""The outbox: activities owed to LeadSquared, claimed in batches per opportunity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.leadsquared.activity import Activity
from bridge.store.tables import ActivityStatus, account_state, activities

MAX_BATCH = 25  # LeadSquared's bulk call takes at most 25 rows


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

    def subset(self, items: Sequence[ClaimedActivity]) -> Batch:
        """Return a batch of some of these items, for the same opportunity."""
        return Batch(self.account, self.opportunity_id, list(items), self.status)


def insert_activities(connection: sa.Connection, event_id: int, new: Iterable[Activity], now: float) -> None:
    """Queue an event's activities, due now (for delivery, or for their look-up)."""
    rows = [
        {
            "event_id": event_id,
            "activity_key": a.activity_key,
            "account": a.account,
            "opportunity_id": a.opportunity_id,
            "request": a.request,
            # An activity without an opportunity id waits for its look-up first.
            "status": ActivityStatus.RESOLVING if a.lookup else ActivityStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "lookup": a.lookup.to_json() if a.lookup else None,
            "lookup_key": a.lookup.key if a.lookup else None,
        }
        for a in new
    ]
    if rows:
        connection.execute(sa.insert(activities), rows)


def claim_batch(
    engine: sa.Engine,
    worker_id: str,
    now: float,
    lease_seconds: float,
    accounts: Sequence[str],
) -> Batch | None:
    """Claim up to 25 due activities of the oldest due opportunity among these accounts."""
    paused = sa.select(account_state.c.account).where(account_state.c.paused)
    due = sa.and_(
        activities.c.status == ActivityStatus.PENDING,
        activities.c.next_attempt_at <= now,
        activities.c.account.in_(accounts),
        activities.c.account.not_in(paused),
    )
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.CLAIMED, MAX_BATCH)
    return _claim_opportunity(engine, due, claim) if accounts else None


def claim_unknown(
    engine: sa.Engine, worker_id: str, now: float, lease_seconds: float, accounts: Sequence[str]
) -> Batch | None:
    """Claim the unknown-outcome activities of one opportunity, to reconcile them."""
    unknown = sa.and_(
        activities.c.status == ActivityStatus.UNKNOWN,
        activities.c.next_attempt_at <= now,
        activities.c.account.in_(accounts),
    )
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.RECONCILING, None)
    return _claim_opportunity(engine, unknown, claim) if accounts else None


@dataclass(frozen=True)
class Claim:
    """Who claims, until when, into which status, and how many rows at most."""

    worker_id: str
    expires_at: float
    status: ActivityStatus
    limit: int | None


def _claim_opportunity(engine: sa.Engine, wanted: sa.ColumnElement[bool], claim: Claim) -> Batch | None:
    """Claim the wanted rows of the opportunity whose wanted row is oldest."""
    columns = [
        activities.c.id,
        activities.c.activity_key,
        activities.c.request,
        activities.c.attempts,
        activities.c.created_at,
    ]
    group = claim_group(engine, wanted, wanted, activities.c.opportunity_id, columns, claim)
    if group is None:
        return None
    items = [
        ClaimedActivity(row.id, row.activity_key, row.request, row.attempts, row.created_at)
        for row in group.rows
    ]
    return Batch(group.head.account, group.head.opportunity_id, items, claim.status)


@dataclass(frozen=True)
class ClaimedGroup:
    """The row that led a claim (account, group value, extras) and every row claimed with it."""

    head: sa.Row[Any]
    rows: Sequence[sa.Row[Any]]


def claim_group(
    engine: sa.Engine,
    due: sa.ColumnElement[bool],
    member: sa.ColumnElement[bool],
    group_by: sa.Column[Any],
    columns: Sequence[sa.Column[Any]],
    claim: Claim,
    head_columns: Sequence[sa.Column[Any]] = (),
) -> ClaimedGroup | None:
    """Claim, in one transaction, the member rows of the group whose due row is oldest.

    A group is one account's rows sharing group_by (an opportunity, a look-up).
    Rows another worker holds are skipped (FOR UPDATE SKIP LOCKED on
    PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims).
    """
    with engine.begin() as connection:
        head = connection.execute(
            sa.select(activities.c.account, group_by, *head_columns)
            .where(due)
            .order_by(activities.c.next_attempt_at, activities.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if head is None:
            return None
        rows = connection.execute(
            sa.select(*columns)
            .where(member, activities.c.account == head.account, group_by == head[1])
            .order_by(activities.c.id)
            .limit(claim.limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return None
        _set(
            connection,
            [row.id for row in rows],
            status=claim.status,
            claimed_by=claim.worker_id,
            claim_expires_at=claim.expires_at,
        )
    return ClaimedGroup(head, rows)


def mark_sending(engine: sa.Engine, batch: Batch, until: float) -> None:
    """Record, before the call, that these rows are on their way to LeadSquared."""
    with engine.begin() as connection:
        _set(connection, _ids(batch.items), status=ActivityStatus.SENDING, claim_expires_at=until)


def mark_delivered(engine: sa.Engine, delivered: Sequence[tuple[ClaimedActivity, str]], now: float) -> None:
    """Record rows LeadSquared created, each with its ProspectActivityId."""
    if not delivered:
        return
    with engine.begin() as connection:
        for item, prospect_activity_id in delivered:
            _set(
                connection,
                [item.id],
                status=ActivityStatus.DELIVERED,
                prospect_activity_id=prospect_activity_id,
                delivered_at=now,
                claimed_by=None,
                claim_expires_at=None,
                last_error=None,
            )


def mark_dead(
    engine: sa.Engine, items: Sequence[ClaimedActivity], reason: str, count_attempt: bool = True
) -> None:
    """Give up on rows, keeping LeadSquared's message as the reason."""
    _finish(engine, items, ActivityStatus.DEAD, reason, count_attempt, next_attempt_at=None)


def mark_unknown(
    engine: sa.Engine, items: Sequence[ClaimedActivity], reason: str, reconcile_at: float
) -> None:
    """Record rows whose fate is unknown: they are reconciled, never blindly reposted."""
    _finish(engine, items, ActivityStatus.UNKNOWN, reason, count_attempt=True, next_attempt_at=reconcile_at)


def reschedule(
    engine: sa.Engine,
    items: Sequence[ClaimedActivity],
    retry_at: float,
    reason: str | None,
    count_attempt: bool,
) -> None:
    """Put rows back in the queue, due at retry_at."""
    _finish(engine, items, ActivityStatus.PENDING, reason, count_attempt, next_attempt_at=retry_at)


def release_expired(engine: sa.Engine, now: float) -> tuple[int, int]:
    """Take back claims of dead workers: unsent ones and look-ups are due again, sent ones unknown."""
    expired = activities.c.claim_expires_at < now
    with engine.begin() as connection:
        released = connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.CLAIMED, expired)
            .values(status=ActivityStatus.PENDING, claimed_by=None, claim_expires_at=None)
        ).rowcount
        unknown = connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.SENDING, expired)
            .values(
                status=ActivityStatus.UNKNOWN,
                claimed_by=None,
                claim_expires_at=None,
                next_attempt_at=now,
                last_error="the worker stopped while the call was in flight",
            )
        ).rowcount
        unknown += connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.RECONCILING, expired)
            .values(status=ActivityStatus.UNKNOWN, claimed_by=None, claim_expires_at=None)
        ).rowcount
        # A look-up only reads: one cut short is simply made again.
        released += connection.execute(
            sa.update(activities)
            .where(activities.c.status == ActivityStatus.LOOKING_UP, expired)
            .values(status=ActivityStatus.RESOLVING, claimed_by=None, claim_expires_at=None)
        ).rowcount
    return released, unknown


def _finish(
    engine: sa.Engine,
    items: Sequence[ClaimedActivity],
    status: ActivityStatus,
    reason: str | None,
    count_attempt: bool,
    next_attempt_at: float | None,
) -> None:
    if not items:
        return
    values: dict[str, Any] = {
        "status": status,
        "last_error": reason,
        "claimed_by": None,
        "claim_expires_at": None,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if count_attempt:
        values["attempts"] = activities.c.attempts + 1
    with engine.begin() as connection:
        _set(connection, _ids(items), **values)


def _set(connection: sa.Connection, ids: list[int], **values: Any) -> None:
    connection.execute(sa.update(activities).where(activities.c.id.in_(ids)).values(**values))


def _ids(items: Iterable[ClaimedActivity]) -> list[int]:
    return [item.id for item in items]
