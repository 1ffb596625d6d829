"""What the fault benchmark saw: lost, doubled and dead activities, calls, windows, gaps; and its table."""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.drain import fewest_calls

BULK_PATH = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
KEY_FIELD = "mx_Custom_10"  # bridge.example.toml's key_field
SOURCE = "razorpay"

# Targets of issue 8: nothing lost, doubled or dead; few calls beyond the faults; no long stall.
CALLS_TARGET = 1.3
GAP_TARGET_SECONDS = 15.0


@dataclass(frozen=True)
class Scenario:
    """The backlog, the faults the sandbox injects, and the limit it enforces."""

    events: int = 1000
    opportunities: int = 100
    error_rate: float = 0.10
    rate_limit_rate: float = 0.05
    lost_answer_rate: float = 0.05
    seed: int = 8
    latency: float = 0.8
    calls_per_window: int = 25
    window_seconds: float = 5.0
    workers: int = 2
    senders: int = 8
    time_limit: float = 300.0

    @property
    def minimum_calls(self) -> int:
        """Return the fewest bulk calls that carry the backlog: one per opportunity per 25 rows."""
        return fewest_calls(self.events, self.opportunities)

    @property
    def ideal_seconds(self) -> float:
        """Return the time the minimum calls take at the limit's average rate."""
        return self.minimum_calls * self.window_seconds / self.calls_per_window


@dataclass(frozen=True)
class Outcome:
    """One run, counted from the sender's acks, the sandbox's log and the store."""

    store: str
    acked: int
    sender_retries: int
    ingest_seconds: float
    kills: list[str]
    lost: int
    doubled: int
    dead: int
    dead_reasons: dict[str, int]
    calls: int
    bulk_calls: int
    faults: dict[str, int]
    limit_429s: int
    busiest_window: int
    longest_gap: float
    drain_seconds: float
    finished: bool

    @property
    def faults_injected(self) -> int:
        """Return every call the sandbox faulted on purpose."""
        return sum(self.faults.values())


def key_of(row: dict[str, Any]) -> str | None:
    """Return the bridge's activity key carried in a posted row."""
    return next((f["Value"] for f in row.get("Fields", []) if f.get("SchemaName") == KEY_FIELD), None)


def expected_key(event_id: str) -> str:
    """Return the key the bridge gives the only activity of a payment.captured event."""
    return f"{SOURCE}:{event_id}:0"


def lost_and_doubled(acked: Sequence[str], received: dict[str, Any]) -> tuple[int, int]:
    """Count acked events with no activity in the sandbox, and activities beyond the first per key."""
    keys = Counter(key_of(activity["row"]) for activity in received["activities"])
    lost = sum(1 for event_id in acked if keys[expected_key(event_id)] == 0)
    doubled = sum(count - 1 for count in keys.values() if count > 1)
    return lost, doubled


def fault_counts(calls: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Count the injected faults by what the sandbox did: 500, 429 or lost answer."""
    counted: Counter[str] = Counter()
    for call in calls:
        if call.get("fault") == "lost_answer":
            counted["lost answer"] += 1
        elif call.get("fault") is not None:
            counted[str(call["status"])] += 1
    return {name: counted[name] for name in ("500", "429", "lost answer")}


def busiest_window(arrivals: Sequence[float], window: float) -> int:
    """Return the most calls that arrived within any window-long span."""
    ordered = sorted(arrivals)
    return max((bisect.bisect_left(ordered, at + window) - i for i, at in enumerate(ordered)), default=0)


def delivering_times(calls: Sequence[dict[str, Any]]) -> list[float]:
    """Return when each bulk call that stored rows arrived (a lost answer stored them too)."""
    return sorted(
        call["at"]
        for call in calls
        if call["path"] == BULK_PATH and (call["status"] == 200 or call.get("fault") == "lost_answer")
    )


def longest_gap(calls: Sequence[dict[str, Any]]) -> float:
    """Return the longest time from the first call on with no delivery, up to the last delivery."""
    if not calls:
        return 0.0
    marks = [min(call["at"] for call in calls), *delivering_times(calls)]
    return max((later - earlier for earlier, later in itertools.pairwise(marks)), default=0.0)


def drain_seconds(calls: Sequence[dict[str, Any]]) -> float:
    """Return the time from the first call to the last delivery."""
    delivered = delivering_times(calls)
    return delivered[-1] - min(call["at"] for call in calls) if delivered else 0.0


def verdict(ok: bool) -> str:
    """Mark a figure that meets its target, or one that misses it."""
    return "ok" if ok else "**missed**"


def render(scenario: Scenario, outcomes: Sequence[Outcome], command: str, commit: str) -> str:
    """Render the runs as a Markdown section, one column per store."""
    head = "| | " + " | ".join(o.store for o in outcomes) + " | target |"
    lines = [
        describe(scenario, command, commit),
        "",
        head,
        "|" + "---|" * (len(outcomes) + 2),
    ]

    def row(name: str, values: Sequence[str], target: str = "") -> None:
        lines.append(f"| {name} | " + " | ".join(values) + f" | {target} |")

    row("events acked", [f"{o.acked:,}" for o in outcomes], f"{scenario.events:,}")
    row("sender retries (non-2xx or no answer)", [str(o.sender_retries) for o in outcomes])
    row("lost / doubled / dead", [f"{o.lost} / {o.doubled} / {o.dead}" for o in outcomes], "0 / 0 / 0")
    row("faults injected (500 / 429 / lost answer)", [faults_text(o) for o in outcomes])
    row("calls (bulk + read-backs + probes)", [calls_text(scenario, o) for o in outcomes], calls_target())
    row("429s from the limit itself", [str(o.limit_429s) for o in outcomes], "0")
    row("most calls in any 5 s", [str(o.busiest_window) for o in outcomes], f"<= {scenario.calls_per_window}")
    row("longest gap with no delivery", [gap_text(o) for o in outcomes], f"<= {GAP_TARGET_SECONDS:g} s")
    row("drain: first call to last delivery", [drain_text(scenario, o) for o in outcomes])
    row("ingest: first post to last ack", [f"{o.ingest_seconds:.1f} s" for o in outcomes])
    row("kills", ["; ".join(o.kills) for o in outcomes])
    for outcome in outcomes:
        if outcome.dead_reasons:
            reasons = "; ".join(f"{n} x {reason}" for reason, n in outcome.dead_reasons.items())
            lines.append(f"\nDead on {outcome.store}: {reasons}")
        if not outcome.finished:
            lines.append(f"\n{outcome.store}: not settled within {scenario.time_limit:g} s.")
    return "\n".join(lines) + "\n"


def describe(scenario: Scenario, command: str, commit: str) -> str:
    """Say what the run did, in one paragraph."""
    return (
        f"`{command}` at {commit}: {scenario.events:,} payment webhooks over {scenario.opportunities}"
        f" opportunities, posted by {scenario.senders} senders retrying with backoff until a 2xx;"
        f" {scenario.workers} workers; the sandbox answers after {scenario.latency:g} s, allows"
        f" {scenario.calls_per_window} calls per {scenario.window_seconds:g} s, and fails bulk calls at"
        f" random (seed {scenario.seed}): {scenario.error_rate:.0%} 500 MXUnknownException,"
        f" {scenario.rate_limit_rate:.0%} extra 429, {scenario.lost_answer_rate:.0%} lost answers (rows"
        " stored, connection closed). The whole gunicorn (master and workers) and one worker are"
        " SIGKILLed mid-burst and restarted. The ideal drain is the minimum calls at the limit's rate."
    )


def calls_target() -> str:
    """Word the calls target."""
    return f"<= {CALLS_TARGET:g} x (minimum + faults)"


def faults_text(outcome: Outcome) -> str:
    """Show the faults injected, in all and by kind."""
    return f"{outcome.faults_injected} ({' / '.join(str(n) for n in outcome.faults.values())})"


def calls_text(scenario: Scenario, outcome: Outcome) -> str:
    """Show the calls against the minimum plus the faults, with the ratio."""
    allowance = scenario.minimum_calls + outcome.faults_injected
    ratio = outcome.calls / allowance
    return (
        f"{outcome.calls} ({outcome.bulk_calls} bulk) = {ratio:.2f} x ({scenario.minimum_calls} +"
        f" {outcome.faults_injected}) {verdict(ratio <= CALLS_TARGET)}"
    )


def gap_text(outcome: Outcome) -> str:
    """Show the longest gap and whether it meets the target."""
    return f"{outcome.longest_gap:.1f} s {verdict(outcome.longest_gap <= GAP_TARGET_SECONDS)}"


def drain_text(scenario: Scenario, outcome: Outcome) -> str:
    """Show the drain time against the ideal."""
    return f"{outcome.drain_seconds:.1f} s (ideal {scenario.ideal_seconds:g} s)"
