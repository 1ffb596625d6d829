"""What each LeadSquared call adds to the metrics: its outcome, duration, wait, and a delivery's rows.

The gate counts every call here as it records it in the call history
(bridge/pipeline/gate.py, Gate.call), so the metrics and the history agree.
"""

from __future__ import annotations

import re
from collections import Counter

from bridge.leadsquared.outcomes import Outcome, Posted
from bridge.observe import metrics
from bridge.store.tables import CallKind


def outcome_name(outcome: Outcome) -> str:
    """Return the outcome's type in snake case, as the call history keeps it: RateLimited is rate_limited."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(outcome).__name__).lower()


def count_call(
    account: str, kind: CallKind, outcome: Outcome, duration: float, waited: float, rows: int
) -> None:
    """Count one call in the metrics: its outcome, duration and wait, and a delivery's rows by their fate."""
    name = outcome_name(outcome)
    metrics.LSQ_CALLS.labels(account, kind.value, name).inc()
    metrics.LSQ_CALL_SECONDS.labels(account, kind.value).observe(duration)
    metrics.RATE_LIMIT_WAIT_SECONDS.labels(account).observe(waited)
    if kind is CallKind.DELIVERY:
        for fate, number in Counter(row_fates(outcome, rows)).items():
            metrics.LSQ_ROWS.labels(account, fate).inc(number)


def row_fates(outcome: Outcome, rows: int) -> list[str]:
    """Name what became of each row of a bulk call: created, refused, left_out, or the call's outcome."""
    if not isinstance(outcome, Posted):
        return [outcome_name(outcome)] * rows
    fates = []
    for number in range(1, rows + 1):
        row = outcome.rows.get(number)
        fates.append("left_out" if row is None else "created" if row.created else "refused")
    return fates
