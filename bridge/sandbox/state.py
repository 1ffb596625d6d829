"""Thread-safe in-memory state of the LeadSquared sandbox."""

from __future__ import annotations

import bisect
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from flask import current_app

from bridge.sandbox.settings import FaultRates, SandboxSettings

EXTENSION_KEY = "lsq_sandbox"
LSQ_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class FaultKind(Enum):
    """What an injected fault does to the call it matches."""

    STATUS = "status"  # answer a fixed status and body; store nothing
    FAIL_ROWS = "fail_rows"  # store the other rows; report these as not created
    OMIT_ROWS = "omit_rows"  # store every row; leave these out of the answer
    DELAY = "delay_seconds"  # store normally, then answer late
    LOST_ANSWER = "lost_answer"  # store normally, then close the connection without an answer


# Row outcomes only make sense on the endpoint that posts rows.
ROW_FAULTS = (FaultKind.FAIL_ROWS, FaultKind.OMIT_ROWS)


@dataclass(frozen=True)
class FaultRule:
    """One registered fault: which calls it matches and what it does."""

    kind: FaultKind
    times: int = 1
    path: str | None = None
    opportunity_id: str | None = None
    status: int = 0
    body: Any = None
    rows: frozenset[int] = frozenset()
    message: str = ""
    delay_seconds: float = 0.0

    def matches(self, path: str, opportunity_id: str | None, posts_rows: bool) -> bool:
        """Say whether this rule applies to a call."""
        if self.kind in ROW_FAULTS and not posts_rows:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.opportunity_id is None or self.opportunity_id == opportunity_id


# LeadSquared's answer when its own servers fail; retrying the call later succeeds.
INTERNAL_ERROR_BODY = {
    "Status": "Error",
    "ExceptionType": "MXUnknownException",
    "ExceptionMessage": "An internal error occurred",
}
# What each random fault of FaultRates does; a 429 without a body gets the limit's message.
RANDOM_FAULTS = {
    "error": FaultRule(FaultKind.STATUS, status=500, body=INTERNAL_ERROR_BODY),
    "rate_limit": FaultRule(FaultKind.STATUS, status=429),
    "lost_answer": FaultRule(FaultKind.LOST_ANSWER),
}


@dataclass(frozen=True)
class StoredActivity:
    """An activity the sandbox accepted, with the row exactly as sent."""

    sequence: int
    opportunity_id: str
    prospect_activity_id: str
    created_on: str
    row: dict[str, Any]


@dataclass(frozen=True)
class SandboxOpportunity:
    """An opportunity of a seeded lead."""

    opportunity_id: str
    opportunity_type: int
    created_on: str


@dataclass(frozen=True)
class SandboxLead:
    """A lead seeded through POST /sandbox/leads, with its opportunities."""

    prospect_id: str
    email: str | None
    phone: str | None
    mobile: str | None
    created_on: str
    opportunities: tuple[SandboxOpportunity, ...]

    def field(self, name: str) -> str | None:
        """Return the value of a unique lead field the sandbox knows, else None."""
        return {"EmailAddress": self.email, "Phone": self.phone, "Mobile": self.mobile}.get(name)


# The unique lead fields the sandbox can search.
LEAD_FIELDS = ("EmailAddress", "Phone", "Mobile")


@dataclass(frozen=True)
class CallRecord:
    """One call received on a LeadSquared path, whatever it was answered."""

    arrived: float  # time.monotonic() when the handler started
    path: str
    opportunity_id: str | None
    rows: int
    status: int  # what the sandbox answered, or would have, had a lost answer left
    fault: FaultKind | None = None  # the injected fault that shaped the answer, if any


@dataclass(eq=False)
class SandboxState:
    """Activities, call log, rate windows and faults, behind one lock."""

    fault_rates: FaultRates = field(default_factory=FaultRates)
    fault_seed: int | None = None
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _activities: list[StoredActivity] = field(default_factory=list)
    _by_opportunity: dict[str, list[StoredActivity]] = field(default_factory=dict)
    _calls: list[CallRecord] = field(default_factory=list)
    _arrivals: dict[str, list[float]] = field(default_factory=dict)
    _faults: list[tuple[FaultRule, int]] = field(default_factory=list)
    _leads: list[SandboxLead] = field(default_factory=list)
    _rates: FaultRates = field(init=False)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        """Start with the rates and seed the sandbox was given."""
        self._rates = self.fault_rates
        self._random = random.Random(self.fault_seed)

    def admit(self, access_key: str, arrived: float, limit: int, window: float) -> bool:
        """Count an authenticated call and say whether it fits the window."""
        with self._lock:
            log = self._arrivals.setdefault(access_key, [])
            # Threads reach the lock out of arrival order, so keep the log sorted
            # and count only calls that arrived before this one.
            bisect.insort(log, arrived)
            del log[: bisect.bisect_left(log, arrived - 2 * window)]
            earlier = bisect.bisect_left(log, arrived) - bisect.bisect_right(log, arrived - window)
            return earlier < limit

    def record_call(self, call: CallRecord) -> None:
        """Append a call to the log."""
        with self._lock:
            self._calls.append(call)

    def add_fault(self, rule: FaultRule) -> int:
        """Queue a fault rule; return how many rules are pending."""
        with self._lock:
            self._faults.append((rule, rule.times))
            return len(self._faults)

    def set_fault_rates(self, rates: FaultRates, seed: int | None) -> None:
        """Fail bulk calls at random at these rates from now on, drawing from a fresh seed."""
        with self._lock:
            self._rates = rates
            self._random = random.Random(seed)

    def current_fault_rates(self) -> FaultRates:
        """Return the rates random faults are drawn at."""
        with self._lock:
            return self._rates

    def take_fault(self, path: str, opportunity_id: str | None, posts_rows: bool) -> FaultRule | None:
        """Consume one use of the first rule matching a call; else draw a random fault for bulk calls."""
        with self._lock:
            for index, (rule, remaining) in enumerate(self._faults):
                if rule.matches(path, opportunity_id, posts_rows):
                    if remaining > 1:
                        self._faults[index] = (rule, remaining - 1)
                    else:
                        del self._faults[index]
                    return rule
            return self._draw_fault() if posts_rows else None

    def _draw_fault(self) -> FaultRule | None:
        """Draw one number and map it onto the rates, laid end to end."""
        draw = self._random.random()
        for name, share in self._rates.shares().items():
            if draw < share:
                return RANDOM_FAULTS[name]
            draw -= share
        return None

    def store(self, opportunity_id: str, rows: list[dict[str, Any]]) -> list[StoredActivity]:
        """Store rows as activities of an opportunity."""
        created_on = datetime.now(UTC).strftime(LSQ_DATETIME_FORMAT)
        with self._lock:
            stored = [
                StoredActivity(
                    sequence=len(self._activities) + offset,
                    opportunity_id=opportunity_id,
                    prospect_activity_id=str(uuid.uuid4()),
                    created_on=created_on,
                    row=row,
                )
                for offset, row in enumerate(rows)
            ]
            self._activities.extend(stored)
            self._by_opportunity.setdefault(opportunity_id, []).extend(stored)
            return stored

    def activities_of(self, opportunity_id: str, event_code: int | None) -> list[StoredActivity]:
        """List an opportunity's activities, newest first."""
        with self._lock:
            found = self._by_opportunity.get(opportunity_id, [])
            return [
                activity
                for activity in reversed(found)
                if event_code is None or activity.row["ActivityEvent"] == event_code
            ]

    def add_lead(self, lead: SandboxLead) -> None:
        """Seed a lead with its opportunities."""
        with self._lock:
            self._leads.append(lead)

    def leads_matching(self, lead_field: str, value: str) -> list[SandboxLead]:
        """Return the leads whose field equals value (emails without case), newest first."""

        def normalized(text: str | None) -> str | None:
            if text is None:
                return None
            return text.strip().lower() if lead_field == "EmailAddress" else text.strip()

        with self._lock:
            wanted = normalized(value)
            return [lead for lead in reversed(self._leads) if normalized(lead.field(lead_field)) == wanted]

    def lead(self, prospect_id: str) -> SandboxLead | None:
        """Return the lead with this ProspectID, if seeded."""
        with self._lock:
            return next((lead for lead in self._leads if lead.prospect_id == prospect_id), None)

    def snapshot(self) -> tuple[list[StoredActivity], list[CallRecord]]:
        """Copy the activities and the call log, both in arrival order."""
        with self._lock:
            calls = sorted(self._calls, key=lambda call: call.arrived)
            return list(self._activities), calls

    def reset(self) -> None:
        """Forget activities, calls, rate windows, faults and leads; restore the starting fault rates."""
        with self._lock:
            self._rates = self.fault_rates
            self._random = random.Random(self.fault_seed)
            self._activities.clear()
            self._by_opportunity.clear()
            self._calls.clear()
            self._arrivals.clear()
            self._faults.clear()
            self._leads.clear()


@dataclass(frozen=True)
class Sandbox:
    """What a sandbox app carries: its settings and its state."""

    settings: SandboxSettings
    state: SandboxState


def current_sandbox() -> Sandbox:
    """Return the sandbox of the app handling the current request."""
    sandbox: Sandbox = current_app.extensions[EXTENSION_KEY]
    return sandbox
