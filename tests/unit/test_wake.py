"""Waking an idle worker: which way for which store, the doorbell, the listener's backoff, the setting."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.config.load import load_settings
from bridge.store.inbox import NOTIFY_COALESCE_SECONDS
from bridge.store.wake import (
    RECONNECT_BASE_SECONDS,
    RECONNECT_MAX_SECONDS,
    Doorbell,
    PostgresListener,
    SqliteWatcher,
    WakeMethod,
    Watcher,
    poll_timeout,
    reconnect_delay,
    wake_method,
)
from tests.conftest import TEST_CONFIG, write_config
from tests.unit.test_config import ENV, problems_of
from transforms import REGISTRY

POSTGRES = sa.make_url("postgresql+psycopg://bridge@db.internal:5432/bridge")


@pytest.mark.parametrize(
    ("mode", "url", "expected"),
    [
        ("notify", POSTGRES, WakeMethod.LISTEN),
        ("poll", POSTGRES, WakeMethod.POLL),
        ("notify", sa.make_url("sqlite:///var/bridge.db"), WakeMethod.DATA_VERSION),
        ("poll", sa.make_url("sqlite:///var/bridge.db"), WakeMethod.POLL),
        ("notify", sa.make_url("sqlite://"), WakeMethod.POLL),
        ("notify", sa.make_url("sqlite:///:memory:"), WakeMethod.POLL),
    ],
)
def test_each_store_wakes_its_own_way(mode: str, url: sa.URL, expected: WakeMethod) -> None:
    """PostgreSQL listens, a SQLite file is watched, and wake = "poll" or a private database only polls."""
    assert wake_method(mode, url) is expected


def test_polling_slows_down_only_while_wake_ups_work() -> None:
    """While the watcher listens the worker polls at the notified interval; when it breaks, fast again."""
    long_ago = math.inf
    assert poll_timeout(0.25, 1.0, listening=True, since_coalesced_ring=long_ago) == 1.0
    assert poll_timeout(0.25, 1.0, listening=False, since_coalesced_ring=long_ago) == 0.25
    # An operator who polls slower than the notified interval keeps the slower poll.
    assert poll_timeout(5.0, 1.0, listening=True, since_coalesced_ring=long_ago) == 5.0


def test_a_worker_looks_again_once_the_web_would_notify_again() -> None:
    """Events stored just after a notified one carry no notification: the worker looks when it ends."""
    assert poll_timeout(0.25, 1.0, True, since_coalesced_ring=0.0) == NOTIFY_COALESCE_SECONDS
    assert poll_timeout(0.25, 1.0, True, since_coalesced_ring=NOTIFY_COALESCE_SECONDS / 4) == pytest.approx(
        NOTIFY_COALESCE_SECONDS * 3 / 4
    )
    assert poll_timeout(0.25, 1.0, True, since_coalesced_ring=NOTIFY_COALESCE_SECONDS) == 1.0


def test_only_a_listener_looks_again_after_a_ring() -> None:
    """PostgreSQL coalesces notifications, so its worker looks again soon; SQLite sees every commit."""
    now = [50.0]
    listener = PostgresListener(Doorbell(threading.Condition(), clock=lambda: now[0]), POSTGRES)
    watcher = SqliteWatcher(Doorbell(threading.Condition(), clock=lambda: now[0]), "bridge.db")
    for each in (listener, watcher):
        each.listening.set()
        each.doorbell.ring()
    assert listener.poll_timeout(0.25, 1.0) == NOTIFY_COALESCE_SECONDS
    assert watcher.poll_timeout(0.25, 1.0) == 1.0


def test_the_doorbell_tells_how_long_ago_it_rang() -> None:
    """since_ring counts from the last ring on the doorbell's clock, and is infinite before the first."""
    now = [100.0]
    doorbell = Doorbell(threading.Condition(), clock=lambda: now[0])
    assert doorbell.since_ring() == math.inf
    doorbell.ring()
    now[0] = 100.004
    assert doorbell.since_ring() == pytest.approx(0.004)


def test_reconnecting_backs_off_exponentially_up_to_a_cap() -> None:
    """The first retry comes quickly, each next one waits twice as long, never more than the cap."""
    delays = [reconnect_delay(failures) for failures in range(1, 12)]
    assert delays[0] == RECONNECT_BASE_SECONDS
    assert delays[1] == 2 * RECONNECT_BASE_SECONDS
    assert delays == sorted(delays)
    assert delays[-1] == RECONNECT_MAX_SECONDS


def test_a_ring_while_nobody_waits_is_kept_for_the_next_wait() -> None:
    """A webhook stored while the worker was busy makes its next wait return at once, and only that one."""
    doorbell = Doorbell(threading.Condition())
    doorbell.ring()
    assert doorbell.wait(timeout=0) is True
    assert doorbell.wait(timeout=0) is False


def test_a_wait_nobody_rings_says_so() -> None:
    """A poll that times out, or another notify on the condition, is not taken for a ring."""
    condition = threading.Condition()
    doorbell = Doorbell(condition)
    assert doorbell.wait(timeout=0) is False
    assert not doorbell.rung


class _BreaksOnce(Watcher):
    """A watcher whose connection breaks on the first try, and which is stopped meanwhile."""

    method = WakeMethod.LISTEN

    def watch(self) -> None:
        self.stopping.set()  # so that the backoff's wait returns at once
        raise OSError("server closed the connection unexpectedly\n\tThis probably means ...")


def test_a_broken_listener_is_logged_and_polling_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    """A connection that breaks logs a warning with the first retry's delay and leaves the worker polling."""
    watcher = _BreaksOnce(Doorbell(threading.Condition()))
    watcher.listening.set()
    with caplog.at_level(logging.WARNING, logger="bridge.store.wake"):
        watcher.run()
    [record] = caplog.records
    assert record.getMessage().startswith("wake-ups lost: polling")
    assert record.__dict__["retry_in_seconds"] == RECONNECT_BASE_SECONDS
    assert record.__dict__["error"] == "OSError: server closed the connection unexpectedly"
    assert not watcher.listening.is_set()
    assert not watcher.doorbell.rung


class _Instant:
    """A stop signal whose waits return at once: the backoff's delays are logged, not slept."""

    def __init__(self) -> None:
        self.stopped = False

    def is_set(self) -> bool:
        return self.stopped

    def set(self) -> None:
        self.stopped = True

    def wait(self, timeout: float | None = None) -> bool:
        return self.stopped


class _Scripted(Watcher):
    """A watcher whose connection fails twice, comes up and breaks, then is stopped."""

    method = WakeMethod.LISTEN

    def __init__(self, doorbell: Doorbell) -> None:
        super().__init__(doorbell)
        self.script = ["fail", "fail", "up then fail", "stop"]

    def watch(self) -> None:
        step = self.script.pop(0)
        if step == "stop":
            self.stopping.set()
            return
        if step == "up then fail":
            self.connected()
        raise OSError("connection refused")


def test_the_backoff_starts_over_once_the_listener_was_up(caplog: pytest.LogCaptureFixture) -> None:
    """Each failure in a row waits longer; a connection that came up resets the delay to the first one."""
    watcher = _Scripted(Doorbell(threading.Condition()))
    watcher.stopping = _Instant()  # type: ignore[assignment]
    with caplog.at_level(logging.INFO, logger="bridge.store.wake"):
        watcher.run()
    delays = [r.__dict__["retry_in_seconds"] for r in caplog.records if "retry_in_seconds" in r.__dict__]
    assert delays == [RECONNECT_BASE_SECONDS, 2 * RECONNECT_BASE_SECONDS, RECONNECT_BASE_SECONDS]
    assert watcher.connections == 1 and watcher.doorbell.rung


def test_polling_alone_starts_no_thread() -> None:
    """With wake = "poll" nothing is started: the worker's poll interval is all there is."""
    watcher = Watcher(Doorbell(threading.Condition()))
    watcher.start()
    watcher.stop()
    assert watcher.thread is None


def test_wake_defaults_to_notify_and_accepts_poll(tmp_path: Path) -> None:
    """Without the key a worker is woken; wake = "poll" is taken as written."""
    assert load_settings(write_config(tmp_path), ENV, REGISTRY).delivery.wake == "notify"
    text = TEST_CONFIG.replace(
        "\npoll_interval_seconds = 0.05", '\npoll_interval_seconds = 0.05\nwake = "poll"'
    )
    assert load_settings(write_config(tmp_path, text), ENV, REGISTRY).delivery.wake == "poll"


def test_an_unknown_wake_mode_says_which_to_give(tmp_path: Path) -> None:
    """A wrong wake value names the key and both choices, with when to pick each."""
    text = TEST_CONFIG.replace(
        "\npoll_interval_seconds = 0.05", '\npoll_interval_seconds = 0.05\nwake = "listen"'
    )
    [problem] = problems_of(tmp_path, text)
    assert "delivery.wake: 'listen' is not a wake mode" in problem
    assert '"notify"' in problem and '"poll"' in problem and "PgBouncer" in problem
