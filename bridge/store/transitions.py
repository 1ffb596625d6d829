"""Every status change of a claimed activity after its claim: delivered, dead, unknown, due again.

Every change is made only while the worker that asks still holds the rows
(claimed_by, in a held status): a claim taken back from it, because its lease
expired or its heartbeat went stale, belongs to another worker now, whose
result a late writer must not overwrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from bridge.observe.metrics import END_TO_END_SECONDS
from bridge.store.claims import Batch, ClaimedActivity, LookupClaim, WaitingActivity
from bridge.store.tables import ActivityStatus, activities, events

# The statuses in which a delivery row belongs to the worker named by claimed_by.
HELD_FOR_DELIVERY = (ActivityStatus.CLAIMED, ActivityStatus.SENDING, ActivityStatus.RECONCILING)


def mark_sending(engine: sa.Engine, batch: Batch, until: float) -> bool:
    """Record, before the call, that these rows are on their way; False if the worker no longer holds them.

    All or nothing: when any row was taken back (a stale heartbeat, an
    expired lease), none is marked and the batch must not be posted. Rows
    already sending are a half of a split batch, posted again.
    """
    ids = _ids(batch.items)
    with engine.connect() as connection, connection.begin() as transaction:
        marked = connection.execute(
            sa.update(activities)
            .where(
                activities.c.id.in_(ids),
                activities.c.status.in_([ActivityStatus.CLAIMED, ActivityStatus.SENDING]),
                activities.c.claimed_by == batch.claimed_by,
            )
            .values(status=ActivityStatus.SENDING, claim_expires_at=until)
        ).rowcount
        if marked != len(ids):
            transaction.rollback()
            return False
    return True


def mark_delivered(
    engine: sa.Engine, holder: str, delivered: Sequence[tuple[ClaimedActivity, str]], now: float
) -> int:
    """Record rows LeadSquared created, each with its ProspectActivityId; return how many were still held.

    Each one counts in bridge_end_to_end_seconds, from its webhook's receipt to now.
    """
    if not delivered:
        return 0
    marked: list[int] = []
    with engine.begin() as connection:
        for item, prospect_activity_id in delivered:
            held = _update_held(
                connection,
                holder,
                [item.id],
                status=ActivityStatus.DELIVERED,
                prospect_activity_id=prospect_activity_id,
                delivered_at=now,
                claimed_by=None,
                claim_expires_at=None,
                last_error=None,
            )
            if held:
                marked.append(item.id)
        received = _received_times(connection, marked)
    for account, received_at in received:
        END_TO_END_SECONDS.labels(account).observe(max(0.0, now - received_at))
    return len(marked)


def _received_times(connection: sa.Connection, ids: list[int]) -> list[tuple[str, float]]:
    """Return each activity's account and its webhook's receipt time: primary keys only, a batch at most."""
    if not ids:
        return []
    query = (
        sa.select(activities.c.account, events.c.received_at)
        .join(events, events.c.id == activities.c.event_id)
        .where(activities.c.id.in_(ids))
    )
    return [(row.account, row.received_at) for row in connection.execute(query)]


def mark_dead(
    engine: sa.Engine, holder: str, items: Sequence[ClaimedActivity], reason: str, count_attempt: bool = True
) -> int:
    """Give up on rows, keeping LeadSquared's message as the reason."""
    return _finish(engine, holder, items, ActivityStatus.DEAD, reason, count_attempt, next_attempt_at=None)


def mark_unknown(
    engine: sa.Engine,
    holder: str,
    items: Sequence[ClaimedActivity],
    reason: str,
    reconcile_at: float,
    count_attempt: bool = True,
) -> int:
    """Record rows whose fate is unknown: they are reconciled, never blindly reposted."""
    status = ActivityStatus.UNKNOWN
    return _finish(engine, holder, items, status, reason, count_attempt, next_attempt_at=reconcile_at)


def reschedule(
    engine: sa.Engine,
    holder: str,
    items: Sequence[ClaimedActivity],
    retry_at: float,
    reason: str | None,
    count_attempt: bool,
) -> int:
    """Put rows back in the queue, due at retry_at."""
    status = ActivityStatus.PENDING
    return _finish(engine, holder, items, status, reason, count_attempt, next_attempt_at=retry_at)


def mark_resolved(engine: sa.Engine, claim: LookupClaim, opportunity_id: str, now: float) -> int:
    """Give the activities their opportunity and make them due for delivery now.

    Attempts start again from zero: failed look-ups must not use up the
    attempts the delivery itself is allowed.
    """
    return _update(
        engine,
        claim,
        claim.items,
        status=ActivityStatus.PENDING,
        opportunity_id=opportunity_id,
        next_attempt_at=now,
        attempts=0,
        last_error=None,
    )


def retry_lookup(
    engine: sa.Engine,
    claim: LookupClaim,
    items: Sequence[WaitingActivity],
    retry_at: float,
    reason: str | None,
    count_attempt: bool,
) -> int:
    """Put activities back to wait for their look-up, due at retry_at."""
    values: dict[str, Any] = {
        "status": ActivityStatus.RESOLVING,
        "next_attempt_at": retry_at,
        "last_error": reason,
    }
    if count_attempt:
        values["attempts"] = activities.c.attempts + 1
    return _update(engine, claim, items, **values)


def mark_unresolved(
    engine: sa.Engine, claim: LookupClaim, items: Sequence[WaitingActivity], reason: str
) -> int:
    """Stop searching: the lead or opportunity was not found in time."""
    return _update(engine, claim, items, status=ActivityStatus.UNRESOLVED, last_error=reason)


def mark_lookup_dead(
    engine: sa.Engine, claim: LookupClaim, items: Sequence[WaitingActivity], reason: str
) -> int:
    """Give up on activities whose look-up failed for good (refused, or out of attempts)."""
    attempts = activities.c.attempts + 1
    return _update(engine, claim, items, status=ActivityStatus.DEAD, last_error=reason, attempts=attempts)


def _update(engine: sa.Engine, claim: LookupClaim, items: Sequence[WaitingActivity], **values: Any) -> int:
    """Update rows this worker still holds; a claim taken back after its lease is left alone."""
    if not items:
        return 0
    with engine.begin() as connection:
        return connection.execute(
            sa.update(activities)
            .where(
                activities.c.id.in_([item.id for item in items]),
                activities.c.status == ActivityStatus.LOOKING_UP,
                activities.c.claimed_by == claim.worker_id,
            )
            .values(claimed_by=None, claim_expires_at=None, **values)
        ).rowcount


def _finish(
    engine: sa.Engine,
    holder: str,
    items: Sequence[ClaimedActivity],
    status: ActivityStatus,
    reason: str | None,
    count_attempt: bool,
    next_attempt_at: float | None,
) -> int:
    if not items:
        return 0
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
        return _update_held(connection, holder, _ids(items), **values)


def _update_held(connection: sa.Connection, holder: str, ids: list[int], **values: Any) -> int:
    """Set these columns on the rows with these ids that holder still holds; return how many."""
    return connection.execute(
        sa.update(activities)
        .where(
            activities.c.id.in_(ids),
            activities.c.status.in_(HELD_FOR_DELIVERY),
            activities.c.claimed_by == holder,
        )
        .values(**values)
    ).rowcount


def _ids(items: Iterable[ClaimedActivity]) -> list[int]:
    return [item.id for item in items]
