"""Activities waiting for their opportunity to be looked up, and the cache of what look-ups found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bridge.leadsquared.activity import LeadLookup
from bridge.store.outbox import Claim, claim_group
from bridge.store.tables import ActivityStatus, account_state, activities, opportunity_cache


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


def claim_lookup(
    engine: sa.Engine, worker_id: str, now: float, lease_seconds: float, accounts: Sequence[str]
) -> LookupClaim | None:
    """Claim the activities waiting on the search whose turn came first, due or not.

    Rows not yet due ride along: a later event for the same lead is served by
    the same call instead of waiting for a call of its own.
    """
    if not accounts:
        return None
    paused = sa.select(account_state.c.account).where(account_state.c.paused)
    waiting = activities.c.status == ActivityStatus.RESOLVING
    due = sa.and_(
        waiting,
        activities.c.next_attempt_at <= now,
        activities.c.account.in_(accounts),
        activities.c.account.not_in(paused),
    )
    columns = [activities.c.id, activities.c.attempts, activities.c.created_at, activities.c.lookup]
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.LOOKING_UP, None)
    group = claim_group(engine, due, waiting, activities.c.lookup_key, columns, claim, [activities.c.lookup])
    if group is None:
        return None
    items = [
        WaitingActivity(row.id, row.attempts, row.created_at, float(row.lookup["wait_seconds"]))
        for row in group.rows
    ]
    return LookupClaim(group.head.account, worker_id, LeadLookup.from_json(group.head.lookup), items)


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


def cached_opportunity(engine: sa.Engine, account: str, lookup: LeadLookup, now: float) -> str | None:
    """Return the opportunity id a recent look-up found for this search, if it has not expired."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(opportunity_cache.c.opportunity_id).where(
                opportunity_cache.c.account == account,
                opportunity_cache.c.lead_field == lookup.lead_field,
                opportunity_cache.c.lookup_value == lookup.value,
                opportunity_cache.c.opportunity_type == lookup.opportunity_type,
                opportunity_cache.c.expires_at > now,
            )
        ).scalar_one_or_none()
    return None if found is None else str(found)


def cache_opportunity(
    engine: sa.Engine, account: str, lookup: LeadLookup, opportunity_id: str, now: float
) -> None:
    """Remember what a look-up found for cache_seconds, for every worker process."""
    if lookup.cache_seconds <= 0:
        return
    dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
    values = {"opportunity_id": opportunity_id, "expires_at": now + lookup.cache_seconds}
    statement = dialect.insert(opportunity_cache).values(
        account=account,
        lead_field=lookup.lead_field,
        lookup_value=lookup.value,
        opportunity_type=lookup.opportunity_type,
        **values,
    )
    with engine.begin() as connection:
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    opportunity_cache.c.account,
                    opportunity_cache.c.lead_field,
                    opportunity_cache.c.lookup_value,
                    opportunity_cache.c.opportunity_type,
                ],
                set_=values,
            )
        )
        # Expired entries are never read again; dropping them keeps the table small.
        connection.execute(sa.delete(opportunity_cache).where(opportunity_cache.c.expires_at < now))
