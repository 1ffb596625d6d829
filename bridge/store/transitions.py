"""Every status change of a claimed activity after its claim: delivered, dead, unknown, due again.

Delivery rows (claimed, sending, reconciling) are updated by id; look-up rows
only while this worker still holds them, so a claim taken back after its lease
is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from bridge.store.claims import Batch, ClaimedActivity, LookupClaim, WaitingActivity, update_rows
from bridge.store.tables import ActivityStatus, activities


def mark_sending(engine: sa.Engine, batch: Batch, until: float) -> None:
    """Record, before the call, that these rows are on their way to LeadSquared."""
    with engine.begin() as connection:
        update_rows(connection, _ids(batch.items), status=ActivityStatus.SENDING, claim_expires_at=until)


def mark_delivered(engine: sa.Engine, delivered: Sequence[tuple[ClaimedActivity, str]], now: float) -> None:
    """Record rows LeadSquared created, each with its ProspectActivityId."""
    if not delivered:
        return
    with engine.begin() as connection:
        for item, prospect_activity_id in delivered:
            update_rows(
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
    engine: sa.Engine,
    items: Sequence[ClaimedActivity],
    reason: str,
    reconcile_at: float,
    count_attempt: bool = True,
) -> None:
    """Record rows whose fate is unknown: they are reconciled, never blindly reposted."""
    _finish(engine, items, ActivityStatus.UNKNOWN, reason, count_attempt, next_attempt_at=reconcile_at)


def reschedule(
    engine: sa.Engine,
    items: Sequence[ClaimedActivity],
    retry_at: float,
    reason: str | None,
    count_attempt: bool,
) -> None:
    """Put rows back in the queue, due at retry_at."""
    _finish(engine, items, ActivityStatus.PENDING, reason, count_attempt, next_attempt_at=retry_at)


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
        update_rows(connection, _ids(items), **values)


def _ids(items: Iterable[ClaimedActivity]) -> list[int]:
    return [item.id for item in items]
