"""Settle unknown outcomes by reading the opportunity's activities back.

LeadSquared's bulk call takes no idempotency key, so after a timeout or a
worker that died mid-call the bridge cannot know whether the activities
exist. Where the account names a `key_field`, every activity carries the
bridge's own key in it: an activity found with its key is delivered, one not
found is posted again. Without a key field nothing is reposted blindly; the
rows stay `unknown` for an operator.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import sqlalchemy as sa

from bridge.leadsquared.outcomes import Found, Outcome
from bridge.observe.metrics import DeadReason, count_dead
from bridge.pipeline.gate import Gate, Reaction
from bridge.pipeline.retry import retry_or_give_up
from bridge.store import transitions
from bridge.store.claims import Batch
from bridge.store.tables import CallKind

log = logging.getLogger(__name__)
PAGE_SIZE = 100
MAX_PAGES = 20


def reconcile(gate: Gate, engine: sa.Engine, batch: Batch) -> None:
    """Find the batch's activities in LeadSquared; record the found, requeue the rest."""
    key_field = gate.account.key_field or ""
    holder = batch.claimed_by
    wanted = {item.activity_key: item for item in batch.items}
    found: dict[str, str] = {}
    for event_code in sorted({int(item.request["ActivityEvent"]) for item in batch.items}):
        ids = [item.id for item in batch.items if int(item.request["ActivityEvent"]) == event_code]
        outcome = _find_keys(gate, batch.opportunity_id, event_code, key_field, set(wanted), ids)
        if outcome is None:  # the worker is stopping: hand the rows back untouched
            reason = "reconciliation postponed: the worker stopped"
            transitions.mark_unknown(engine, holder, batch.items, reason, gate.clock(), count_attempt=False)
            return
        if not isinstance(outcome, dict):
            _postpone(gate, engine, batch, outcome)
            return
        found.update(outcome)
    now = gate.clock()
    transitions.mark_delivered(engine, holder, [(wanted[k], pid) for k, pid in found.items()], now)
    missing = [item for key, item in wanted.items() if key not in found]
    transitions.reschedule(
        engine,
        holder,
        missing,
        now,
        "not found in LeadSquared after an unknown outcome: posting again",
        count_attempt=False,
    )
    log.info(
        "reconciled unknown outcomes",
        extra={
            "action": "reconcile",
            "account": batch.account,
            "found": len(found),
            "reposted": len(missing),
        },
    )


def _find_keys(
    gate: Gate, opportunity_id: str, event_code: int, key_field: str, keys: set[str], activity_ids: list[int]
) -> dict[str, str] | Outcome | None:
    """Return the ProspectActivityId of each key found, the outcome of a failed read, or None on stop.

    Each read is kept in the history of the activities it looks for (activity_ids).
    """
    found: dict[str, str] = {}
    for page in range(1, MAX_PAGES + 1):
        if not gate.take_slot():
            return None
        read = partial(gate.client.activities_of_opportunity, opportunity_id, event_code, page, PAGE_SIZE)
        answer = gate.call(CallKind.RECONCILE, read, opportunity_id, activity_ids)
        if not isinstance(answer, Found):
            return answer
        items = _items(answer.body)
        for item in items:
            key = key_of(item, key_field)
            if key in keys:
                found[key] = str(item.get("ProspectActivityId") or item.get("Id") or "")
        if len(found) == len(keys) or len(items) < PAGE_SIZE:
            break
    return found


def key_of(item: dict[str, Any], key_field: str) -> str | None:
    """Return the key field's value in a listed activity, flat or inside its fields.

    LeadSquared's opportunity lists are flat (`mx_Custom_1` at the top); which
    shape this call's items take on a real tenant is unconfirmed, so the
    `Fields` / `ActivityFields` forms (a list of SchemaName/Value pairs, or a
    mapping) are read too. A key missed here would mean a duplicate.
    """
    if isinstance(item.get(key_field), str):
        return str(item[key_field])
    for nested in (item.get("Fields"), item.get("ActivityFields"), item.get("Data")):
        if isinstance(nested, dict) and isinstance(nested.get(key_field), str):
            return str(nested[key_field])
        if isinstance(nested, list):
            for field in nested:
                if isinstance(field, dict) and field.get("SchemaName") == key_field:
                    value = field.get("Value")
                    return value if isinstance(value, str) else None
    return None


def _items(body: Any) -> list[dict[str, Any]]:
    items = body.get("List") if isinstance(body, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


def _postpone(gate: Gate, engine: sa.Engine, batch: Batch, outcome: Outcome) -> None:
    """Read back later; a row that cannot be settled within its attempts or age is dead, never reposted."""
    fields = {"action": "reconcile", "account": batch.account}
    verdict = gate.judge(outcome, fields)
    reason = f"reconciliation postponed: {verdict.message}"
    log.warning(reason, extra=fields)
    holder = batch.claimed_by
    if verdict.reaction in (Reaction.PAUSE, Reaction.HOLD_OFF):
        transitions.mark_unknown(engine, holder, batch.items, reason, verdict.due_at, count_attempt=False)
        return
    plan = retry_or_give_up(batch.items, reason, gate.clock(), gate.policy)
    for item, at in plan.again:
        transitions.mark_unknown(engine, holder, [item], reason, at)
    for item, given_up in plan.given_up:
        # It may exist in LeadSquared: posting it again could double it, so an operator decides.
        message = f"outcome still unknown, check LeadSquared: {given_up}"
        dead = transitions.mark_dead(engine, holder, [item], message)
        count_dead(batch.account, DeadReason.UNSETTLED, dead)
