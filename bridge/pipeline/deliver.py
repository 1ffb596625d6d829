"""Post one claimed batch through its account's gate, and record every row's fate.

settle() is the decision, pure: from the gate's verdict on one call to what
becomes of each row. deliver() makes the call and writes what settle() says.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa

from bridge.config.settings import DeliverySettings
from bridge.leadsquared.outcomes import Outcome, Posted
from bridge.observe.metrics import DeadReason, count_dead
from bridge.pipeline.gate import Gate, Reaction, Verdict
from bridge.pipeline.retry import retry_or_give_up
from bridge.store import outbox, transitions
from bridge.store.claims import Batch, ClaimedActivity
from bridge.store.tables import CallKind

log = logging.getLogger(__name__)
Key = TypeVar("Key", bound=Hashable)


@dataclass
class Settlement:
    """What one call did to a batch's rows, decided before anything is written."""

    decided_at: float
    delivered: list[tuple[ClaimedActivity, str]] = field(default_factory=list)  # with ProspectActivityId
    dead: list[tuple[ClaimedActivity, str]] = field(default_factory=list)  # with the reason
    unknown: list[tuple[ClaimedActivity, str, float]] = field(default_factory=list)  # reason, read back at
    # Due again at a time, with the reason, counting an attempt or not (a pause or hold-off does not).
    due_again: list[tuple[ClaimedActivity, float, str, bool]] = field(default_factory=list)
    halves: list[list[ClaimedActivity]] = field(default_factory=list)  # posted again at once, each alone
    # Why the dead rows died, as the metrics count it: every dead row of one call dies of one cause.
    dead_reason: DeadReason = DeadReason.GAVE_UP


def settle(
    items: Sequence[ClaimedActivity],
    outcome: Outcome,
    verdict: Verdict,
    now: float,
    policy: DeliverySettings,
    read_back_after: float,
) -> Settlement:
    """Decide each row's fate after one bulk call; read_back_after: seconds before an unknown is read back."""
    settlement = Settlement(now)
    message = verdict.message
    reaction = verdict.reaction
    if reaction is Reaction.SETTLE and isinstance(outcome, Posted):
        _settle_rows(settlement, items, outcome, now)
        settlement.dead_reason = DeadReason.ROW_REFUSED
    elif reaction is Reaction.ISOLATE and len(items) > 1:
        middle = len(items) // 2
        settlement.halves = [list(items[:middle]), list(items[middle:])]
    elif reaction in (Reaction.ISOLATE, Reaction.GIVE_UP):
        settlement.dead = [(item, message) for item in items]
        isolated = reaction is Reaction.ISOLATE
        settlement.dead_reason = DeadReason.BAD_REQUEST if isolated else DeadReason.REJECTED
    elif reaction in (Reaction.PAUSE, Reaction.HOLD_OFF):
        settlement.due_again = [(item, verdict.due_at, message, False) for item in items]
    elif reaction is Reaction.RETRY:
        plan = retry_or_give_up(items, message, now, policy)
        # The batch goes again as one call: its rows share the latest time any of them drew,
        # where each row's own jitter would have them claimed, and posted, apart.
        again_at = max((at for _, at in plan.again), default=now)
        settlement.due_again = [(item, again_at, message, True) for item, _ in plan.again]
        settlement.dead = plan.given_up
    else:  # RECONCILE, and anything a post should never get: read back, never repost blindly
        # Read back only after LeadSquared has had time to finish the call.
        settlement.unknown = [(item, message, now + read_back_after) for item in items]
    return settlement


def _settle_rows(
    settlement: Settlement, items: Sequence[ClaimedActivity], outcome: Posted, now: float
) -> None:
    for number, item in enumerate(items, start=1):
        row = outcome.rows.get(number)
        if row is None:
            settlement.unknown.append((item, "LeadSquared's answer left this row out", now))
        elif row.created:
            settlement.delivered.append((item, row.prospect_activity_id or ""))
        else:
            reason = f"LeadSquared did not create the activity: {row.message or 'no reason given'}"
            settlement.dead.append((item, reason))


def deliver(gate: Gate, engine: sa.Engine, batch: Batch, latecomers: bool = True) -> None:
    """Post the batch and record the outcome; on shutdown, hand it back unsent.

    Just before the call the rows are marked sending, only if this worker
    still holds them: a batch taken back (its heartbeat went stale, its lease
    expired) belongs to another worker and is dropped unsent. A worker whose
    own heartbeat is failing starts no call and hands the batch back. A fresh
    claim first takes in the rows of its opportunity that came due while it
    waited for its slot (latecomers); the halves of a split batch do not,
    so that splitting narrows down to the bad row.
    """
    refusal: list[str] = []

    def record_sending() -> bool:
        nonlocal batch
        until = gate.clock() + gate.policy.claim_lease_seconds
        if not gate.fresh():
            refusal.append("stale")
            return False
        if latecomers:
            batch = outbox.claim_latecomers(engine, batch, gate.clock(), until)
        if not transitions.mark_sending(engine, batch, until):
            refusal.append("taken")
        return not refusal

    sent = gate.take_slot(before_send=record_sending)
    fields = {"action": "deliver", "account": batch.account, "rows": len(batch.items)}
    if not sent:
        if refusal == ["taken"]:
            log.warning("claim taken back by another worker: batch dropped unsent", extra=fields)
        # Only the rows this worker still holds are handed back (latecomers included), unsent.
        transitions.reschedule(engine, batch.claimed_by, batch.items, gate.clock(), None, count_attempt=False)
        return
    rows = [item.request for item in batch.items]
    outcome = gate.call(
        CallKind.DELIVERY,
        lambda: gate.client.post_activities(batch.opportunity_id, rows),
        batch.opportunity_id,
        [item.id for item in batch.items],
    )
    verdict = gate.judge(outcome, fields)
    settlement = settle(
        batch.items, outcome, verdict, gate.clock(), gate.policy, gate.account.timeout_seconds
    )
    _log(verdict, settlement, fields)
    write(engine, batch.claimed_by, settlement, batch.account)
    for half in settlement.halves:
        deliver(gate, engine, batch.subset(half), latecomers=False)


def write(engine: sa.Engine, holder: str, settlement: Settlement, account: str) -> None:
    """Record a settlement of one account's rows in the store, one transaction per group that share a fate.

    Rows holder no longer holds are left as another worker made them.
    """
    transitions.mark_delivered(engine, holder, settlement.delivered, settlement.decided_at)
    for (dead_reason,), rows in _grouped((item, (reason,)) for item, reason in settlement.dead):
        count_dead(account, settlement.dead_reason, transitions.mark_dead(engine, holder, rows, dead_reason))
    for (unknown_reason, at), rows in _grouped((item, (why, at)) for item, why, at in settlement.unknown):
        transitions.mark_unknown(engine, holder, rows, unknown_reason, at)
    due_again = ((item, (at, why, counted)) for item, at, why, counted in settlement.due_again)
    for (due_at, due_reason, counted), rows in _grouped(due_again):
        transitions.reschedule(engine, holder, rows, due_at, due_reason, count_attempt=counted)


def _grouped(
    keyed: Iterable[tuple[ClaimedActivity, Key]],
) -> list[tuple[Key, list[ClaimedActivity]]]:
    groups: dict[Key, list[ClaimedActivity]] = defaultdict(list)
    for item, key in keyed:
        groups[key].append(item)
    return list(groups.items())


def _log(verdict: Verdict, settlement: Settlement, fields: Mapping[str, object]) -> None:
    if verdict.reaction is Reaction.SETTLE:
        log.info(
            "batch posted",
            extra={
                **fields,
                "outcome": "posted",
                "delivered": len(settlement.delivered),
                "unknown": len(settlement.unknown),
                "failed": len(settlement.dead),
            },
        )
    elif settlement.halves:
        log.warning("bad request: splitting the batch", extra={**fields, "outcome": "split"})
    elif verdict.reaction in (Reaction.ISOLATE, Reaction.GIVE_UP):
        log.error(verdict.message, extra={**fields, "outcome": "dead"})
    elif verdict.reaction is Reaction.RECONCILE:
        log.warning(verdict.message, extra={**fields, "outcome": "unknown"})
    elif verdict.reaction is Reaction.RETRY:
        log.warning(verdict.message, extra={**fields, "outcome": "retry"})
