"""The heartbeat's decisions: when a worker may start a call, and what a failed beat changes."""

from __future__ import annotations

from typing import Any, cast

import pytest
import sqlalchemy as sa

from bridge.config.settings import DeliverySettings
from bridge.pipeline.heartbeat import Heartbeat, may_start_calls
from bridge.store import workers
from tests.unit.fakes import FakeClock

POLICY = DeliverySettings(heartbeat_seconds=2.0, worker_stale_seconds=10.0)
NO_ENGINE = cast(sa.Engine, object())  # the fake store never touches it


@pytest.mark.parametrize(
    ("seconds_since_beat", "allowed"),
    [(None, False), (0.0, True), (4.0, True), (7.9, True), (8.0, False), (10.0, False), (60.0, False)],
)
def test_calls_start_only_while_no_other_worker_can_count_this_one_dead(
    seconds_since_beat: float | None, allowed: bool
) -> None:
    """A beat older than the stale limit less one interval stops new calls; none before a first beat."""
    assert may_start_calls(seconds_since_beat, POLICY) is allowed


class FakeStore:
    """The store's heartbeat writes, in memory; set fail to make them raise as a lost connection does."""

    def __init__(self) -> None:
        self.beats: list[str] = []
        self.fail = False

    def beat(self, _engine: Any, worker_id: str, _host: str, _pid: int) -> None:
        if self.fail:
            raise sa.exc.OperationalError("UPDATE workers", {}, Exception("connection refused"))
        self.beats.append(worker_id)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    """Replace the store's beat with the fake's."""
    fake = FakeStore()
    monkeypatch.setattr(workers, "beat", fake.beat)
    return fake


def test_a_worker_that_cannot_beat_stops_starting_calls_until_it_can(store: FakeStore) -> None:
    """Fresh after a beat; stale once beats fail for longer than the limit allows; fresh again after one."""
    clock = FakeClock(100.0)
    beating = Heartbeat(NO_ENGINE, "h:1:aa", "h", 1, POLICY, monotonic=clock)
    assert beating.fresh() is False
    assert beating.beat_once() is True and beating.fresh() is True
    store.fail = True
    for _ in range(4):
        clock.now += 2.0
        assert beating.beat_once() is False
    assert beating.fresh() is False
    store.fail = False
    assert beating.beat_once() is True and beating.fresh() is True
    assert store.beats == ["h:1:aa", "h:1:aa"]


def test_a_beat_counts_from_when_it_started_not_when_it_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow commit must not make the worker think its beat is newer than the store holds it."""
    clock = FakeClock(100.0)

    def slow_beat(*_args: Any) -> None:
        clock.now += 3.0

    beating = Heartbeat(NO_ENGINE, "h:1:aa", "h", 1, POLICY, monotonic=clock)
    monkeypatch.setattr(workers, "beat", slow_beat)
    beating.beat_once()
    assert beating.last_beat == 100.0
