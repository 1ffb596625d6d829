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
from typing import Any

from bridge.leadsquared import outcomes as lsq
from bridge.leadsquared.client import LeadSquaredClient
from bridge.pipeline.deliver import Deliverer
from bridge.pipeline.retry import RetryAt, decide
from bridge.store import outbox
from bridge.store.outbox import Batch

log = logging.getLogger(__name__)
PAGE_SIZE = 100
MAX_PAGES = 20


def reconcile(deliverer: Deliverer, batch: Batch) -> None:
    """Find the batch's activities in LeadSquared; record the found, requeue the rest."""
    client = deliverer.clients[batch.account]
    key_field = client.account.key_field
    wanted = {item.activity_key: item for item in batch.items}
    found: dict[str, str] = {}
    for event_code in sorted({int(item.request["ActivityEvent"]) for item in batch.items}):
        outcome = _find_keys(
            deliverer, client, batch.opportunity_id, event_code, key_field or "", set(wanted)
        )
        if not isinstance(outcome, dict):
            _retry_later(deliverer, batch, outcome)
            return
        found.update(outcome)
    now = deliverer.clock()
    outbox.mark_delivered(deliverer.engine, [(wanted[k], pid) for k, pid in found.items()], now)
    missing = [item for key, item in wanted.items() if key not in found]
    outbox.reschedule(
        deliverer.engine,
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
    deliverer: Deliverer,
    client: LeadSquaredClient,
    opportunity_id: str,
    event_code: int,
    key_field: str,
    keys: set[str],
) -> dict[str, str] | lsq.Outcome:
    found: dict[str, str] = {}
    for page in range(1, MAX_PAGES + 1):
        if not deliverer.wait_for_slot(client.account):
            return lsq.Retryable("the worker is stopping")
        answer = client.activities_of_opportunity(opportunity_id, event_code, page, PAGE_SIZE)
        if not isinstance(answer, lsq.Found):
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


def _retry_later(deliverer: Deliverer, batch: Batch, outcome: lsq.Outcome) -> None:
    message = getattr(outcome, "message", "the read-back failed")
    log.warning(
        f"reconciliation postponed: {message}", extra={"action": "reconcile", "account": batch.account}
    )
    now = deliverer.clock()
    attempts = max(item.attempts for item in batch.items)
    decision = decide(attempts, now, now, deliverer.policy)
    retry_at = decision.at if isinstance(decision, RetryAt) else now + deliverer.policy.backoff_max_seconds
    outbox.mark_unknown(deliverer.engine, batch.items, f"reconciliation postponed: {message}", retry_at)
