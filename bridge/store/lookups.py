"""Activities waiting for their opportunity to be looked up, and the cache of what look-ups found."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from bridge.leadsquared.activity import LeadLookup
from bridge.store.claims import Claim, LookupClaim, WaitingActivity, claim_group
from bridge.store.dialect import upsert
from bridge.store.tables import ActivityStatus, account_state, activities, opportunity_cache


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
    due = sa.and_(waiting, activities.c.next_attempt_at <= now, activities.c.account.not_in(paused))
    columns = [activities.c.id, activities.c.attempts, activities.c.created_at, activities.c.lookup]
    claim = Claim(worker_id, now + lease_seconds, ActivityStatus.LOOKING_UP, None)
    group = claim_group(
        engine, accounts, due, waiting, activities.c.lookup_key, columns, claim, [activities.c.lookup]
    )
    if group is None:
        return None
    items = [
        WaitingActivity(row.id, row.attempts, row.created_at, float(row.lookup["wait_seconds"]))
        for row in group.rows
    ]
    return LookupClaim(group.head.account, worker_id, LeadLookup.from_json(group.head.lookup), items)


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
    values = {"opportunity_id": opportunity_id, "expires_at": now + lookup.cache_seconds}
    statement = upsert(engine, opportunity_cache).values(
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
