"""When a failed delivery is tried again: backoff, jitter and the limits of retry.decide."""

from __future__ import annotations

import random

import pytest

from bridge.config.settings import DeliverySettings
from bridge.pipeline.retry import GiveUp, RetryAt, decide


def test_retry_backs_off_exponentially_with_jitter_and_gives_up() -> None:
    """Delays grow and are capped, jitter stays within the ceiling, limits end retrying."""
    policy = DeliverySettings(
        max_attempts=5, max_age_seconds=100, backoff_base_seconds=2, backoff_max_seconds=10
    )
    delays = []
    for attempts in range(1, 5):
        decision = decide(attempts, first_queued_at=0, now=0, policy=policy)
        assert isinstance(decision, RetryAt)
        delays.append(decision.at)
    ceilings = [2, 4, 8, 10]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert isinstance(decide(5, 0, 0, policy), GiveUp)
    too_old = decide(1, first_queued_at=0, now=99.5, policy=policy)
    assert isinstance(too_old, GiveUp) and "older than" in too_old.reason


POLICY = DeliverySettings(max_attempts=5, max_age_seconds=100, backoff_base_seconds=2, backoff_max_seconds=10)


class Extreme(random.Random):
    """A random source whose uniform() always answers one end of its range: the low or the high one."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        """Return b for the high end, a for the low one."""
        return b if self.high else a


def delay(attempts: int, rng: random.Random, policy: DeliverySettings = POLICY, now: float = 0) -> float:
    """Return how long after now decide() schedules the next try; fail if it gives up."""
    decision = decide(attempts, first_queued_at=now, now=now, policy=policy, rng=rng)
    assert isinstance(decision, RetryAt), decision
    return decision.at - now


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 2), (2, 4), (3, 8), (4, 10)])
def test_the_ceiling_doubles_from_the_base_up_to_the_maximum(attempts: int, ceiling: float) -> None:
    """The highest delay is base * 2^(attempts-1) capped at backoff_max, the lowest half of it."""
    assert delay(attempts, Extreme(high=True)) == ceiling
    assert delay(attempts, Extreme(high=False)) == ceiling / 2


def test_seeded_jitter_stays_within_half_the_ceiling_and_the_ceiling() -> None:
    """A thousand seeded draws of attempt 3 lie in [4, 8] and are spread out, not one value."""
    rng = random.Random(20251127)
    delays = [delay(3, rng) for _ in range(1000)]
    assert min(delays) >= 4 and max(delays) <= 8
    assert max(delays) - min(delays) > 3


def test_the_same_seed_gives_the_same_schedule() -> None:
    """Two random sources seeded alike make identical decisions: the jitter comes only from rng."""
    first, second = random.Random(7), random.Random(7)
    assert [delay(n, first) for n in range(1, 5)] == [delay(n, second) for n in range(1, 5)]


def test_the_next_try_is_an_absolute_time_after_now() -> None:
    """RetryAt.at is now plus the delay, not the delay alone."""
    decision = decide(2, first_queued_at=1000, now=1010, policy=POLICY, rng=Extreme(high=True))
    assert decision == RetryAt(1014)


@pytest.mark.parametrize("attempts", [5, 6, 50])
def test_reaching_max_attempts_gives_up_whatever_the_age(attempts: int) -> None:
    """At or past max_attempts the decision is GiveUp naming the attempts, even for a fresh row."""
    decision = decide(attempts, first_queued_at=0, now=0, policy=POLICY, rng=Extreme(high=False))
    assert decision == GiveUp(f"gave up after {attempts} attempts")


def test_a_retry_landing_exactly_at_the_max_age_is_still_made() -> None:
    """A try scheduled at first_queued_at + max_age_seconds is allowed; one beyond it gives up."""
    # Attempt 1's highest delay is 2 s, so a row queued at 0 retried at 98 lands at exactly 100.
    at_the_limit = decide(1, first_queued_at=0, now=98, policy=POLICY, rng=Extreme(high=True))
    past_it = decide(1, first_queued_at=0, now=98.5, policy=POLICY, rng=Extreme(high=True))
    assert at_the_limit == RetryAt(100)
    assert past_it == GiveUp("gave up after 1 attempts: older than 100 s")


def test_the_age_counts_the_jittered_delay() -> None:
    """The same row at the same moment retries with a short delay and gives up with a long one."""
    short = decide(2, first_queued_at=0, now=97, policy=POLICY, rng=Extreme(high=False))
    long = decide(2, first_queued_at=0, now=97, policy=POLICY, rng=Extreme(high=True))
    assert short == RetryAt(99)
    assert isinstance(long, GiveUp) and "older than 100 s" in long.reason
