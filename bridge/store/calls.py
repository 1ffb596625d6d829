"""The history of LeadSquared calls: one row per call, and which activities rode in it.

Written by the gate after each answer (bridge/pipeline/gate.py); read by an
event's timeline in the console, its overview's counts and, later, the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from bridge.store.tables import CallKind, lsq_call_activities, lsq_calls


@dataclass(frozen=True)
class CallRecord:
    """One LeadSquared call as it is kept: never a URL, a header or a key."""

    account: str
    kind: CallKind
    started_at: float
    duration_seconds: float
    outcome: str  # the typed outcome, snake case: posted, rate_limited, unauthorized, ...
    reaction: str  # what the bridge did about it
    http_status: int | None = None
    exception_type: str | None = None
    message: str | None = None
    opportunity_id: str | None = None
    waited_seconds: float = 0.0
    # The activities in the call, each with LeadSquared's answer for its row where it gave one.
    activities: Sequence[tuple[int, str | None]] = field(default_factory=tuple)


class CallHistory:
    """Writes calls to the store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, call: CallRecord) -> None:
        """Keep one call, and its activities with their rows' results."""
        record_call(self.engine, call)


def record_call(engine: sa.Engine, call: CallRecord) -> int:
    """Insert the call and its activities in one transaction; return the call's id."""
    with engine.begin() as connection:
        call_id = connection.execute(
            sa.insert(lsq_calls)
            .values(
                account=call.account,
                kind=call.kind.value,
                opportunity_id=call.opportunity_id,
                started_at=call.started_at,
                duration_seconds=call.duration_seconds,
                waited_seconds=call.waited_seconds,
                http_status=call.http_status,
                outcome=call.outcome,
                reaction=call.reaction,
                exception_type=call.exception_type,
                message=call.message,
                rows=len(call.activities),
            )
            .returning(lsq_calls.c.id)
        ).scalar_one()
        if call.activities:
            connection.execute(
                sa.insert(lsq_call_activities),
                [{"call_id": call_id, "activity_id": a, "result": r} for a, r in call.activities],
            )
    return int(call_id)
