"""The outbox: activities owed to LeadSquared, claimed in batches per opportunity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from bridge.leadsquared.activity import Activity
from bridge.store.claims import Batch, Claim, ClaimedActivity, claim_group, not_indexed, update_rows
from bridge.store.tables import ActivityStatus, account_state, activities

MAX_BATCH = 25  # LeadSquared's bulk call takes at most 25 rows


def insert_activities(connection: sa.Connection, event_id: int, new: Iterable[Activity], now: float) -> None:
    """Queue an event's activities, due now (for delivery, or for their look-up)."""
    rows = [queued_row(event_id, activity, now) for activity in new]
    if rows:
        connection.execute(sa.insert(activities), rows)


def queued_row(event_id: int, activity: Activity, now: float) -> dict[str, Any]:
    """Return the outbox row of an activity queued now: due now, for delivery or for its look-up."""
    return {
        "event_id": event_id,
        "activity_key": activity.activity_key,
        "account": activity.account,
        "opportunity_id": activity.opportunity_id,
        "request": activity.request,
        # An activity without an opportunity id waits for its look-up first.
        "status": ActivityStatus.RESOLVING if activity.lookup else ActivityStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "lookup": activity.lookup.to_json() if activity.lookup else None,
        "lookup_key": activity.lookup.key if activity.lookup else None,
    }


def claim_batch(
    engine: sa.Engine,
    worker_id: str,
    now: float,
    lease_seconds: float,
    accounts: Sequence[str],
) -> Batch | None:
    """Claim up to 25 due activities of the oldest due opportunity among these accounts."""
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.CLAIMED, MAX_BATCH)
    return _claim_opportunity(engine, accounts, ActivityStatus.PENDING, now, claim)


def claim_latecomers(engine: sa.Engine, batch: Batch, now: float, until: float) -> Batch:
    """Add to a batch about to leave the rows of its opportunity that came due since it was claimed.

    A batch may wait seconds for its slot in a burst; the webhooks that
    arrived meanwhile for the same opportunity then go in the same call
    instead of one of their own, up to 25 rows. Rows another worker holds are
    skipped (SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises).
    """
    room = MAX_BATCH - len(batch.items)
    if room <= 0 or batch.status != ActivityStatus.CLAIMED:
        return batch
    query = (
        sa.select(
            activities.c.id,
            activities.c.activity_key,
            activities.c.request,
            activities.c.attempts,
            activities.c.created_at,
        )
        .where(
            activities.c.account == batch.account,
            activities.c.opportunity_id == batch.opportunity_id,
            activities.c.status == ActivityStatus.PENDING,
            not_indexed(activities.c.next_attempt_at) <= now,
        )
        .order_by(activities.c.id)
        .limit(room)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        rows = connection.execute(query).all()
        if not rows:
            return batch
        update_rows(
            connection,
            [row.id for row in rows],
            status=ActivityStatus.CLAIMED,
            claimed_by=batch.claimed_by,
            claim_expires_at=until,
        )
    latecomers = [ClaimedActivity(r.id, r.activity_key, r.request, r.attempts, r.created_at) for r in rows]
    return batch.subset([*batch.items, *latecomers])


def claim_unknown(
    engine: sa.Engine, worker_id: str, now: float, lease_seconds: float, accounts: Sequence[str]
) -> Batch | None:
    """Claim the unknown-outcome activities of one opportunity, to reconcile them.

    A paused account's rows wait with the rest of its work: reading them back
    with keys LeadSquared refuses would only be refused again.
    """
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.RECONCILING, None)
    return _claim_opportunity(engine, accounts, ActivityStatus.UNKNOWN, now, claim)


def _claim_opportunity(
    engine: sa.Engine, accounts: Sequence[str], status: ActivityStatus, now: float, claim: Claim
) -> Batch | None:
    """Claim the due rows in this status of the opportunity whose due row is oldest; skip paused accounts."""
    paused = sa.select(account_state.c.account).where(account_state.c.paused)
    member = sa.and_(activities.c.status == status, not_indexed(activities.c.next_attempt_at) <= now)
    due = sa.and_(
        activities.c.status == status,
        activities.c.next_attempt_at <= now,
        activities.c.account.not_in(paused),
    )
    columns = [
        activities.c.id,
        activities.c.activity_key,
        activities.c.request,
        activities.c.attempts,
        activities.c.created_at,
    ]
    group = claim_group(engine, accounts, due, member, activities.c.opportunity_id, columns, claim)
    if group is None:
        return None
    items = [
        ClaimedActivity(row.id, row.activity_key, row.request, row.attempts, row.created_at)
        for row in group.rows
    ]
    return Batch(
        group.head.account, group.head.opportunity_id, items, claim.status, claimed_by=claim.worker_id
    )
