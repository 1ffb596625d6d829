"""When to try a failed delivery again: a pure decision, so tests can drive it directly."""

from __future__ import annotations

import random
from dataclasses import dataclass

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
