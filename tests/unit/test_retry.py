"""When a failed delivery is tried again: backoff, jitter and the limits of retry.decide."""

from __future__ import annotations

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
