"""An activity's attempt timeline: every LeadSquared call it rode in, and the probes its pause led to.

A probe checks an account's keys, not a row, so no activity rides in one; the
probes shown are those of the activity's account that followed a call of its
own answered by a pause, up to its next call or the probe that lifted the
pause: how the pause ended, or that it has not yet. Messages and results are
masked: LeadSquared may quote a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.observe.masking import mask_text
from bridge.pipeline.gate import Reaction
from bridge.store.tables import CallKind, lsq_call_activities, lsq_calls

# The newest calls of one activity shown: a row whose reconciliation is postponed again and
# again, for hours, rides in a call every few seconds.
CALLS_SHOWN = 200
# The account's calls read after a pausing call for its probes: while it is paused they are
# nearly all probes, one every probe interval; reading no further bounds a pause that an
# operator's resume ended, after which come only other rows' deliveries.
CALLS_AFTER_PAUSE = 50


@dataclass(frozen=True)
class CallSummary:
    """One LeadSquared call an activity rode in, or a probe that followed its pause."""

    id: int
    kind: str  # CallKind
    started_at: float
    duration_seconds: float
    waited_seconds: float  # waiting for a slot in the account's window, before it left
    http_status: int | None  # None: no answer came
    outcome: str  # the typed outcome: posted, unauthorized, rate_limited, ...
    reaction: str  # what the bridge did about it (gate.Reaction)
    exception_type: str | None
    message: str | None  # masked
    rows: int  # activities in the call
    result: str | None  # this activity's row: its ProspectActivityId or LeadSquared's message, masked


def activity_calls(connection: sa.Connection, activity_id: int, account: str) -> list[CallSummary]:
    """Return the activity's calls and the probes its pauses led to, oldest first."""
    own = _own_calls(connection, activity_id)
    probes: list[CallSummary] = []
    for position, call in enumerate(own):
        if call.reaction == Reaction.PAUSE:
            later = own[position + 1].started_at if position + 1 < len(own) else None
            probes += _probes(connection, account, call.started_at, later)
    return sorted([*own, *probes], key=lambda call: (call.started_at, call.id))


def _own_calls(connection: sa.Connection, activity_id: int) -> list[CallSummary]:
    query = (
        sa.select(lsq_calls, lsq_call_activities.c.result)
        .join(lsq_call_activities, lsq_call_activities.c.call_id == lsq_calls.c.id)
        .where(lsq_call_activities.c.activity_id == activity_id)
        .order_by(lsq_calls.c.started_at.desc(), lsq_calls.c.id.desc())
        .limit(CALLS_SHOWN)
    )
    return [_summary(row, row.result) for row in reversed(connection.execute(query).all())]


def _probes(connection: sa.Connection, account: str, after: float, before: float | None) -> list[CallSummary]:
    conditions = [lsq_calls.c.account == account, lsq_calls.c.started_at > after]
    if before is not None:
        conditions.append(lsq_calls.c.started_at < before)
    query = sa.select(lsq_calls).where(*conditions).order_by(lsq_calls.c.started_at).limit(CALLS_AFTER_PAUSE)
    probes = []
    for row in connection.execute(query):
        if row.kind == CallKind.PROBE:
            probes.append(_summary(row, None))
            if row.reaction == Reaction.SETTLE:
                break  # the keys were accepted: the pause is over
    return probes


def _summary(row: sa.Row[*tuple[Any, ...]], result: str | None) -> CallSummary:
    return CallSummary(
        id=row.id,
        kind=row.kind,
        started_at=row.started_at,
        duration_seconds=row.duration_seconds,
        waited_seconds=row.waited_seconds,
        http_status=row.http_status,
        outcome=row.outcome,
        reaction=row.reaction,
        exception_type=row.exception_type,
        message=_masked(row.message),
        rows=row.rows,
        result=_masked(result),
    )


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_text(text)
