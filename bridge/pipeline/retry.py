"""When to try a failed call again: pure decisions, so tests drive them directly.

Delivery, look-ups and reconciliation all retry through retry_or_give_up:
one rule for how long a row may keep failing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bridge.config.settings import DeliverySettings


@dataclass(frozen=True)
class RetryAt:
    """Try again at this time."""

    at: float


@dataclass(frozen=True)
class GiveUp:
    """Stop trying; reason says which limit was reached."""

    reason: str


def decide(
    attempts: int,
    first_queued_at: float,
    now: float,
    policy: DeliverySettings,
    rng: random.Random | None = None,
) -> RetryAt | GiveUp:
    """Decide after a failed attempt (attempts counts it) whether and when to retry."""
    if attempts >= policy.max_attempts:
        return GiveUp(f"gave up after {attempts} attempts")
    ceiling = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** (attempts - 1))
    # Jitter: rows that failed together do not all come back in the same instant.
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    if now + delay - first_queued_at > policy.max_age_seconds:
        return GiveUp(f"gave up after {attempts} attempts: older than {policy.max_age_seconds:g} s")
    return RetryAt(now + delay)


class Attempted(Protocol):
    """A row that has been tried: how often, and since when it is owed."""

    @property
    def attempts(self) -> int: ...

    @property
    def created_at(self) -> float: ...


Row = TypeVar("Row", bound=Attempted)


@dataclass(frozen=True)
class RetryPlan(Generic[Row]):
    """Which failed rows go again (and when), and which are given up (and why)."""

    again: list[tuple[Row, float]]
    given_up: list[tuple[Row, str]]


def retry_or_give_up(
    rows: Sequence[Row],
    message: str,
    now: float,
    policy: DeliverySettings,
    rng: random.Random | None = None,
) -> RetryPlan[Row]:
    """Count the attempt that just failed for each row; retry it, or give it up past attempts or age."""
    plan: RetryPlan[Row] = RetryPlan([], [])
    for row in rows:
        decision = decide(row.attempts + 1, row.created_at, now, policy, rng)
        if isinstance(decision, GiveUp):
            plan.given_up.append((row, f"{message}; {decision.reason}"))
        else:
            plan.again.append((row, decision.at))
    return plan
