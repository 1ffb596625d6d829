"""Find the opportunity of activities waiting for a look-up: the cache, else LeadSquared.

One claim holds every activity of an account waiting on the same search, so
one look-up serves them all. Each LeadSquared call takes a slot from the same
account limiter as deliveries (the two-step method costs two). A lead or
opportunity not found yet is searched again, less often as time passes, until
the look-up's wait_seconds have gone by: payments often arrive moments before
the CRM has the lead. LeadSquared failing is handled as for deliveries: 401
pauses the account, a rate limit waits a window, a 500 naming invalid data
dead-letters the look-up with LeadSquared's message, and any other 5xx and
timeouts back off and dead-letter after the delivery's max attempts or age.

Emails and phones appear in reasons and logs only masked.
"""

from __future__ import annotations

import logging
import re
from functools import partial

import sqlalchemy as sa

from bridge.config.settings import DeliverySettings
from bridge.leadsquared.activity import LeadLookup, mask_contact
from bridge.leadsquared.outcomes import ErrorOutcome, LeadFound, NotFound, OpportunityFound
from bridge.observe.metrics import DeadReason, count_dead
from bridge.pipeline.gate import Gate, Reaction
from bridge.pipeline.retry import retry_or_give_up
from bridge.store import lookups, transitions
from bridge.store.claims import LookupClaim, WaitingActivity
from bridge.store.tables import CallKind

log = logging.getLogger(__name__)
Searched = OpportunityFound | NotFound | ErrorOutcome


def resolve(gate: Gate, engine: sa.Engine, claim: LookupClaim) -> None:
    """Look the claim's opportunity up and move its activities on, to delivery or to wait.

    A bug that raises here counts as a failed attempt, so it dead-letters after
    the delivery's max attempts instead of looping forever. A store error is
    left to the claim's lease: the rows are taken again when it expires.
    """
    try:
        _resolve(gate, engine, claim)
    except sa.exc.SQLAlchemyError:
        raise
    except Exception as error:
        fields: dict[str, object] = {"action": "lookup", "account": claim.account, "rows": len(claim.items)}
        log.exception("look-up raised", extra=fields)
        _retry(gate, engine, claim, f"the look-up raised {type(error).__name__}", fields)


def _resolve(gate: Gate, engine: sa.Engine, claim: LookupClaim) -> None:
    lookup = claim.lookup
    cached = lookups.cached_opportunity(engine, claim.account, lookup, gate.clock())
    if cached is not None:
        _found(gate, engine, claim, cached, "cache")
        return
    outcome = search(gate, lookup, [item.id for item in claim.items])
    if outcome is None:  # the worker is stopping: hand the rows back untouched
        transitions.retry_lookup(engine, claim, claim.items, gate.clock(), None, count_attempt=False)
        return
    fields: dict[str, object] = {"action": "lookup", "account": claim.account, "rows": len(claim.items)}
    verdict = gate.judge(outcome, fields)
    message = _masked(verdict.message, lookup)
    if verdict.reaction is Reaction.SETTLE and isinstance(outcome, OpportunityFound):
        lookups.cache_opportunity(engine, claim.account, lookup, outcome.opportunity_id, gate.clock())
        _found(gate, engine, claim, outcome.opportunity_id, "leadsquared")
    elif verdict.reaction is Reaction.NOT_FOUND:
        _not_found(gate, engine, claim, message, fields)
    elif verdict.reaction in (Reaction.PAUSE, Reaction.HOLD_OFF):
        transitions.retry_lookup(engine, claim, claim.items, verdict.due_at, message, count_attempt=False)
    elif verdict.reaction in (Reaction.ISOLATE, Reaction.GIVE_UP):
        reason = f"LeadSquared refused the look-up of {lookup.describe()}: {message}"
        log.error(reason, extra={**fields, "outcome": "dead"})
        dead = transitions.mark_lookup_dead(engine, claim, claim.items, reason)
        count_dead(claim.account, DeadReason.LOOKUP_REFUSED, dead)
    else:  # RETRY; and a read whose answer was lost changed nothing, so it is simply made again
        _retry(gate, engine, claim, message, fields)


def search(gate: Gate, lookup: LeadLookup, activity_ids: list[int]) -> Searched | None:
    """Ask LeadSquared, one limiter slot per call; None when the worker stops while waiting.

    Each call is kept in the history of the activities waiting on the search.
    """
    client = gate.client
    if not gate.take_slot():
        return None
    if lookup.method == "unique_field":
        by_field = partial(
            client.opportunity_by_lead_field, lookup.lead_field, lookup.value, lookup.opportunity_type
        )
        return gate.call(CallKind.LOOKUP, by_field, None, activity_ids)
    if lookup.lead_field == "EmailAddress":
        lead = gate.call(CallKind.LOOKUP, partial(client.lead_by_email, lookup.value), None, activity_ids)
    else:  # Phone or Mobile: config refuses any other field for this method
        lead = gate.call(CallKind.LOOKUP, partial(client.lead_by_phone, lookup.value), None, activity_ids)
    if not isinstance(lead, LeadFound):
        return lead
    if not gate.take_slot():
        return None
    of_lead = partial(client.opportunity_of_lead, lead.lead_id, lookup.opportunity_type)
    return gate.call(CallKind.LOOKUP, of_lead, None, activity_ids)


def not_found_retry_at(item: WaitingActivity, now: float, policy: DeliverySettings) -> float | None:
    """Return when to search again for a lead not found yet, or None once its wait is over.

    The pause grows with the time already waited (half of it, within the
    delivery backoff's base and cap), so a lead created moments after the
    payment is found quickly and one that never comes costs few calls. The
    last search happens at the deadline itself.
    """
    if now >= item.wait_until:
        return None
    waited = now - item.created_at
    pause = min(policy.backoff_max_seconds, max(policy.backoff_base_seconds, waited / 2))
    return min(item.wait_until, now + pause)


def _found(gate: Gate, engine: sa.Engine, claim: LookupClaim, opportunity_id: str, where: str) -> None:
    moved = transitions.mark_resolved(engine, claim, opportunity_id, gate.clock())
    fields = {"action": "lookup", "account": claim.account, "outcome": "found", "rows": moved}
    log.info(f"opportunity found for {claim.lookup.describe()}", extra={**fields, "found_in": where})


def _not_found(
    gate: Gate, engine: sa.Engine, claim: LookupClaim, message: str, fields: dict[str, object]
) -> None:
    now = gate.clock()
    searched = claim.lookup.describe()
    expired = []
    for item in claim.items:
        retry_at = not_found_retry_at(item, now, gate.policy)
        if retry_at is None:
            expired.append(item)
        else:
            transitions.retry_lookup(
                engine, claim, [item], retry_at, f"{message}; searching again", count_attempt=False
            )
    if expired:
        wait = max(item.wait_seconds for item in expired)
        reason = f"not found within {wait:g} s: {message} (searched {searched})"
        transitions.mark_unresolved(engine, claim, expired, reason)
        log.warning(reason, extra={**fields, "outcome": "unresolved", "unresolved": len(expired)})
    else:
        log.info(f"{message}: searching again", extra={**fields, "outcome": "not_found"})


def _retry(
    gate: Gate, engine: sa.Engine, claim: LookupClaim, message: str, fields: dict[str, object]
) -> None:
    log.warning(message, extra={**fields, "outcome": "retry"})
    plan = retry_or_give_up(claim.items, message, gate.clock(), gate.policy)
    for item, at in plan.again:
        transitions.retry_lookup(engine, claim, [item], at, message, count_attempt=True)
    for item, reason in plan.given_up:
        why = f"looking up {claim.lookup.describe()}: {reason}"
        dead = transitions.mark_lookup_dead(engine, claim, [item], why)
        count_dead(claim.account, DeadReason.LOOKUP_GAVE_UP, dead)


def _masked(message: str, lookup: LeadLookup) -> str:
    """Mask the searched value should LeadSquared's message echo it."""
    if not lookup.value:
        return message
    masked = mask_contact(lookup.value)
    # A function, not a template: a backslash in the masked value is text, not a group reference.
    return re.sub(re.escape(lookup.value), lambda _: masked, message, flags=re.IGNORECASE)
