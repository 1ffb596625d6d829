"""One account's access to LeadSquared, and the one table from an outcome to what the bridge does.

Every call a stage makes (a delivery, a look-up, a read-back) goes through
its account's gate: a slot in the account's sliding window first, then the
call, then `judge()`, which looks the outcome up in REACTIONS and does the
part that concerns the whole account: a 401 pauses it, a 429 holds it off
for a full window. The gate's own probe of a paused account takes a slot too
and resumes the account when LeadSquared accepts its keys again. What a reaction means for
the stage's own rows (split, dead, due again) is the stage's business; which
reaction an outcome gets is decided here alone, so a new outcome is one row.
Every call goes through `call()`, which keeps it in the call history with the
time it waited for its slot, how long it took and what came back.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, TypeVar

from bridge.config.settings import AccountSettings, DeliverySettings
from bridge.leadsquared.client import LeadSquaredClient
from bridge.leadsquared.outcomes import (
    BadRequest,
    Found,
    LeadFound,
    NotFound,
    OpportunityFound,
    Outcome,
    Posted,
    RateLimited,
    Rejected,
    Retryable,
    ServerError,
    Unauthorized,
    Unknown,
)
from bridge.pipeline.call_metrics import count_call, outcome_name
from bridge.store.calls import CallRecord
from bridge.store.tables import CallKind

log = logging.getLogger(__name__)
AnOutcome = TypeVar("AnOutcome", bound=Outcome)


class Reaction(enum.StrEnum):
    """What the bridge does about an outcome."""

    SETTLE = "settle"  # LeadSquared answered: per-row results, a read's body, a look-up's find
    NOT_FOUND = "not_found"  # a look-up found no lead or opportunity (yet): search again later
    ISOLATE = "isolate"  # the body was refused: split a batch until the bad rows stand alone
    GIVE_UP = "give_up"  # no retry or split changes it: the rows are dead, with the message
    PAUSE = "pause"  # the keys were refused: pause the account; rows wait, no attempt counted
    HOLD_OFF = "hold_off"  # rate limited: no call for a full window; rows wait, no attempt counted
    RETRY = "retry"  # the call did not take effect: back off, count an attempt
    RECONCILE = "reconcile"  # a write may have taken effect: read back before posting again


ANY_EXCEPTION = ""  # the prefix every exception_type (or none) starts with

# One row per (outcome type, ExceptionType prefix); the longest prefix that the
# outcome's exception_type starts with wins, ANY_EXCEPTION matching them all.
REACTIONS: Mapping[tuple[type[Outcome], str], Reaction] = MappingProxyType(
    {
        (Posted, ANY_EXCEPTION): Reaction.SETTLE,
        (Found, ANY_EXCEPTION): Reaction.SETTLE,
        (OpportunityFound, ANY_EXCEPTION): Reaction.SETTLE,
        (LeadFound, ANY_EXCEPTION): Reaction.SETTLE,
        (NotFound, ANY_EXCEPTION): Reaction.NOT_FOUND,
        (BadRequest, ANY_EXCEPTION): Reaction.ISOLATE,
        # A 500 naming a validation or data problem is about a row: retrying repeats it,
        # so the batch is split until the row stands alone (MXInvalidDataTypeException,
        # MXInvalidActivityFieldsException, MXInvalidInputException fall under MXInvalid).
        (ServerError, "MXInvalid"): Reaction.ISOLATE,
        (ServerError, "MXMandatory"): Reaction.ISOLATE,
        (ServerError, "MXUnknownAttribute"): Reaction.ISOLATE,
        (ServerError, "MXDuplicate"): Reaction.ISOLATE,
        # Any other 500 (MXUnknownException "An internal error occurred", an unnamed type,
        # no body, an HTML page) says nothing against the rows: the whole batch goes again.
        (ServerError, ANY_EXCEPTION): Reaction.RETRY,
        (Rejected, ANY_EXCEPTION): Reaction.GIVE_UP,
        (Unauthorized, ANY_EXCEPTION): Reaction.PAUSE,
        (RateLimited, ANY_EXCEPTION): Reaction.HOLD_OFF,
        (Retryable, ANY_EXCEPTION): Reaction.RETRY,
        (Unknown, ANY_EXCEPTION): Reaction.RECONCILE,
    }
)


def reaction_to(outcome: Outcome) -> Reaction:
    """Return the reaction of the table's row for the outcome's type with the longest matching prefix."""
    exception_type = outcome.exception_type or ""
    matching = [
        (prefix, reaction)
        for (kind, prefix), reaction in REACTIONS.items()
        if kind is type(outcome) and exception_type.startswith(prefix)
    ]
    return max(matching, key=lambda row: len(row[0]))[1]


@dataclass(frozen=True)
class Verdict:
    """An outcome judged: the reaction, the message to record, and when held rows are due again."""

    reaction: Reaction
    message: str
    due_at: float  # now, or the end of a hold-off: when rows that wait may go again


def hold_off(outcome: RateLimited, account: AccountSettings) -> tuple[float, int | None]:
    """Return for how many seconds no call may go after a rate-limit answer, and the lower limit it named."""
    window = outcome.window_seconds or account.window_seconds
    lowered = outcome.limit if outcome.limit and outcome.limit < account.calls_per_window else None
    return window + account.window_margin_seconds, lowered


class AccountControls(Protocol):
    """The store's side of an account: its sliding window, hold-offs and pause.

    Every time crosses this line as a duration: the store keeps the account's
    times on the database server's clock, which this process's clock may
    disagree with by seconds.
    """

    def reserve_call(self, account: str, limit: int, window_seconds: float) -> float: ...

    def block_for(self, account: str, hold_seconds: float, lowered_limit: int | None) -> None: ...

    def pause(self, account: str, reason: str, probe_after_seconds: float) -> None: ...

    def resume(self, account: str) -> None: ...

    def postpone_probe(self, account: str, probe_after_seconds: float) -> None: ...


class CallLog(Protocol):
    """Where the gate keeps each call it made (bridge.store.calls.CallHistory)."""

    def record(self, call: CallRecord) -> None: ...


class Stopping(Protocol):
    """The worker's stop signal: wait() returns True once it is set (threading.Event)."""

    def wait(self, timeout: float | None = None) -> bool: ...


class Gate:
    """One account's calls: a slot in its window before each, the account's reaction after."""

    def __init__(
        self,
        client: LeadSquaredClient,
        controls: AccountControls,
        policy: DeliverySettings,
        stopping: Stopping,
        clock: Callable[[], float],
        fresh: Callable[[], bool] = lambda: True,
        calls: CallLog | None = None,
    ) -> None:
        self.client = client
        self.controls = controls
        self.policy = policy
        self.stopping = stopping
        self.clock = clock
        # Whether the worker's heartbeat is recent enough that no other worker may count it dead.
        self.fresh = fresh
        self.calls = calls
        # Per thread: seconds waited for slots since this thread's last call, which that call records.
        self._waits = threading.local()

    @property
    def account(self) -> AccountSettings:
        """Return the account this gate calls."""
        return self.client.account

    def take_slot(self, before_send: Callable[[], bool] | None = None) -> bool:
        """Reserve a call in the account's window and sleep until it; False if stopping.

        before_send runs once, at the first slot reached; when it returns False
        the call must not go, and take_slot returns False too.

        The limiter counts a call at its slot, so the call must leave at its
        slot: when anything (a slow commit, a busy core) made us late, the slot
        is given up and a fresh one reserved, rather than sending out of turn.
        The store answers how long to wait, on the database's clock; lateness is
        that wait against the time this process measured passing, so an offset
        of this machine's clock changes nothing.
        """
        account = self.account
        window = account.window_seconds + account.window_margin_seconds
        late_tolerance = account.window_margin_seconds / 2
        began = self.clock()
        while True:
            wait = self.controls.reserve_call(account.name, account.calls_per_window, window)
            reserved_at = self.clock()
            if self.stopping.wait(max(0.0, wait)):
                return False
            if before_send is not None:
                if not before_send():
                    return False
                before_send = None
            if (self.clock() - reserved_at) - wait <= late_tolerance:
                self._waits.seconds = getattr(self._waits, "seconds", 0.0) + self.clock() - began
                return True

    def call(
        self,
        kind: CallKind,
        make: Callable[[], AnOutcome],
        opportunity_id: str | None = None,
        activity_ids: Sequence[int] = (),
    ) -> AnOutcome:
        """Make one call (after its slot was taken) and keep it in the call history."""
        waited, self._waits.seconds = getattr(self._waits, "seconds", 0.0), 0.0
        started_at = self.clock()
        outcome = make()
        duration = max(0.0, self.clock() - started_at)
        count_call(self.account.name, kind, outcome, duration, waited, len(activity_ids))
        if self.calls is not None:
            self.calls.record(
                CallRecord(
                    account=self.account.name,
                    kind=kind,
                    started_at=started_at,
                    duration_seconds=duration,
                    outcome=outcome_name(outcome),
                    reaction=reaction_to(outcome).value,
                    http_status=outcome.status,
                    exception_type=outcome.exception_type,
                    message=outcome.message,
                    opportunity_id=opportunity_id,
                    waited_seconds=waited,
                    activities=row_results(outcome, activity_ids),
                )
            )
        return outcome

    def judge(self, outcome: Outcome, fields: Mapping[str, object]) -> Verdict:
        """Look the outcome up in REACTIONS; pause or hold off the account where it says so."""
        reaction = reaction_to(outcome)
        now = self.clock()
        due_at = now
        if reaction is Reaction.PAUSE:
            self._pause(outcome, fields)
        elif reaction is Reaction.HOLD_OFF:
            assert isinstance(outcome, RateLimited), "only a rate-limit answer holds an account off"
            due_at = self._hold_off(outcome, fields, now)
        return Verdict(reaction, outcome.message, due_at)

    def probe(self) -> None:
        """Check a paused account's keys: resume it when LeadSquared accepts them, else probe later."""
        if not self.take_slot():
            return
        outcome = self.call(CallKind.PROBE, self.client.probe)
        name = self.account.name
        if reaction_to(outcome) is Reaction.SETTLE:
            self.controls.resume(name)
            log.warning(
                "account keys accepted again: deliveries resumed", extra={"action": "resume", "account": name}
            )
            return
        self.controls.postpone_probe(name, self.policy.probe_interval_seconds)
        level = logging.CRITICAL if isinstance(outcome, Unauthorized) else logging.WARNING
        log.log(
            level,
            f"account still paused: {outcome.message}",
            extra={"action": "probe", "account": name, "alarm": True},
        )

    def _pause(self, outcome: Outcome, fields: Mapping[str, object]) -> None:
        log.critical(
            "LeadSquared refused the account's keys: deliveries paused until a probe succeeds",
            extra={**fields, "outcome": "paused", "alarm": True},
        )
        self.controls.pause(self.account.name, outcome.message, self.policy.probe_interval_seconds)

    def _hold_off(self, outcome: RateLimited, fields: Mapping[str, object], now: float) -> float:
        hold_seconds, lowered = hold_off(outcome, self.account)
        log.warning(
            "rate limited: waiting a full window",
            extra={**fields, "outcome": "rate_limited", "lowered_limit": lowered},
        )
        self.controls.block_for(self.account.name, hold_seconds, lowered)
        # The rows' own due time is on this process's clock, as claims are.
        return now + hold_seconds


def row_results(outcome: Outcome, activity_ids: Sequence[int]) -> list[tuple[int, str | None]]:
    """Pair each activity of a call with its row's answer: the ProspectActivityId, or why it was refused."""
    if not isinstance(outcome, Posted):
        return [(activity_id, None) for activity_id in activity_ids]
    results: list[tuple[int, str | None]] = []
    for number, activity_id in enumerate(activity_ids, start=1):
        row = outcome.rows.get(number)
        if row is None:
            results.append((activity_id, "left out of LeadSquared's answer"))
        elif row.created:
            results.append((activity_id, row.prospect_activity_id))
        else:
            results.append((activity_id, row.message or "not created, no reason given"))
    return results
