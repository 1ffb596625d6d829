"""Wake an idle worker as soon as a webhook is stored, instead of at its next poll.

PostgreSQL: the web's insert of a new event calls pg_notify on EVENTS_CHANNEL
(bridge/store/inbox.py), sent at its commit, and a listener on a dedicated
connection rings the worker's doorbell. SQLite has no NOTIFY: a watcher reads PRAGMA data_version
on its own connection every DATA_VERSION_INTERVAL_SECONDS; the number changes
whenever another connection commits a change, and reading it takes no lock a
writer waits for. Either way polling stays: it is how due retries are found,
it covers the time a broken listener takes to reconnect, and it is the only
way where LISTEN cannot work (behind a transaction-mode pooler such as
PgBouncer, set [delivery] wake = "poll").
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import make_conninfo

from bridge.store.inbox import EVENTS_CHANNEL, NOTIFY_COALESCE_SECONDS
from bridge.store.tables import events

log = logging.getLogger(__name__)

# A commit on SQLite is noticed within this long; 50 reads a second cost next to nothing.
DATA_VERSION_INTERVAL_SECONDS = 0.02
# How long the listener waits for a notification before it looks at its stop signal again.
LISTEN_TIMEOUT_SECONDS = 0.2
RECONNECT_BASE_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0
# The listener's name in pg_stat_activity; a server that does not answer is
# given up on after 10 s, and a listener whose network silently died is noticed
# by TCP keepalives within about 25 s.
LISTENER_OPTIONS: dict[str, Any] = {
    "application_name": "lsq-bridge-wake",
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


class WakeMethod(Enum):
    """How an idle worker learns that a webhook was stored."""

    LISTEN = "listen"  # PostgreSQL LISTEN/NOTIFY, with polling as the fallback
    DATA_VERSION = "data_version"  # SQLite: watch PRAGMA data_version, with polling as the fallback
    POLL = "poll"  # only the poll interval


def wake_method(mode: str, url: sa.URL) -> WakeMethod:
    """Decide how to wake from the [delivery] wake setting and the store's URL."""
    if mode == "poll":
        return WakeMethod.POLL
    if url.get_backend_name() != "sqlite":
        return WakeMethod.LISTEN
    if not url.database or url.database == ":memory:":
        return WakeMethod.POLL  # no other connection can commit to a private in-memory database
    return WakeMethod.DATA_VERSION


def poll_timeout(
    poll_interval: float, notified_poll_interval: float, listening: bool, since_coalesced_ring: float
) -> float:
    """Return how long an idle worker waits for a ring before it polls.

    While the watcher listens, a stored webhook rings at once and polling only
    finds retries that came due: the longer of the two intervals will do. A
    watcher that is down (or polling alone) leaves the poll interval as it is.
    A web process sends no notification for the events it stores within
    NOTIFY_COALESCE_SECONDS of one it did notify: so after a notification the
    worker looks again once that long has passed since it rang.
    """
    timeout = max(poll_interval, notified_poll_interval) if listening else poll_interval
    if since_coalesced_ring < NOTIFY_COALESCE_SECONDS:
        timeout = min(timeout, NOTIFY_COALESCE_SECONDS - since_coalesced_ring)
    return timeout


def reconnect_delay(failures: int) -> float:
    """Return how long to wait before reconnecting after this many failures in a row."""
    return float(min(RECONNECT_MAX_SECONDS, RECONNECT_BASE_SECONDS * 2 ** max(0, failures - 1)))


class Doorbell:
    """A wake-up that is never lost: a ring while nobody waits makes the next wait return at once."""

    def __init__(self, condition: threading.Condition, clock: Callable[[], float] = time.monotonic) -> None:
        self.condition = condition
        self.clock = clock
        self.rung = False
        self.rung_at = -math.inf  # on clock
        self.waiting = 0  # how many threads wait on it right now

    def ring(self) -> None:
        """Tell the waiting worker, or the next one to wait, that work was stored."""
        with self.condition:
            self.rung = True
            self.rung_at = self.clock()
            self.condition.notify_all()

    def since_ring(self) -> float:
        """Return the seconds since the last ring (infinite before the first)."""
        return self.clock() - self.rung_at

    def wait(self, timeout: float) -> bool:
        """Wait until rung, notified otherwise, or timeout; return whether it was rung."""
        with self.condition:
            if not self.rung:
                self.waiting += 1
                try:
                    self.condition.wait(timeout)
                finally:
                    self.waiting -= 1
            rung, self.rung = self.rung, False
            return rung


class Watcher:
    """Rings a doorbell whenever the store says something was committed; polls alone do nothing."""

    method = WakeMethod.POLL
    # Whether one signal may stand for several events (NOTIFY_COALESCE_SECONDS).
    coalesced = False

    def __init__(self, doorbell: Doorbell) -> None:
        self.doorbell = doorbell
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while the dedicated connection is up
        self.connections = 0  # how many times the dedicated connection came up
        self.failures = 0  # connection failures since it was last up

    def poll_timeout(self, poll_interval: float, notified_poll_interval: float) -> float:
        """Return how long the worker waits for a ring now (see poll_timeout)."""
        since = self.doorbell.since_ring() if self.coalesced else math.inf
        return poll_timeout(poll_interval, notified_poll_interval, self.listening.is_set(), since)

    def start(self) -> None:
        """Start watching in a background thread (nothing to start for polling)."""
        if self.method is WakeMethod.POLL:
            return
        self.thread = threading.Thread(target=self.run, name="wake", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop watching and close the dedicated connection."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def run(self) -> None:
        """Watch until stopped; on a broken connection fall back to polling and reconnect with backoff."""
        while not self.stopping.is_set():
            try:
                self.watch()
            except Exception as error:  # whatever broke the connection, polling carries on meanwhile
                self.listening.clear()
                self.failures += 1
                delay = reconnect_delay(self.failures)
                log.warning(
                    "wake-ups lost: polling until the store's listener reconnects",
                    extra={
                        "action": "wake",
                        "method": self.method.value,
                        "error": _first_line(error),
                        "retry_in_seconds": delay,
                    },
                )
                self.stopping.wait(delay)

    def watch(self) -> None:
        """Hold the dedicated connection and ring on each change until stopped; raise when it breaks."""
        raise NotImplementedError("polling alone watches nothing")

    def connected(self) -> None:
        """Note the connection is up; ring once, for what was stored while nobody listened."""
        self.connections += 1
        self.failures = 0
        self.listening.set()
        if self.connections > 1:
            log.warning("wake-ups restored", extra={"action": "wake", "method": self.method.value})
        else:
            log.info("waking on store changes", extra={"action": "wake", "method": self.method.value})
        self.doorbell.ring()


class PostgresListener(Watcher):
    """LISTEN on a dedicated autocommit connection; ring on every notification."""

    method = WakeMethod.LISTEN
    coalesced = True

    def __init__(self, doorbell: Doorbell, url: sa.URL) -> None:
        super().__init__(doorbell)
        # libpq's own URL form: the SQLAlchemy driver name means nothing to it. Never logged.
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def watch(self) -> None:
        """LISTEN, then ring per notification until stopped or the connection breaks."""
        conninfo = make_conninfo(self.conninfo, **LISTENER_OPTIONS)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {EVENTS_CHANNEL}")
            self.connected()
            while not self.stopping.is_set():
                for _notification in connection.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                    self.doorbell.ring()
                if connection.closed:
                    raise ConnectionError("the listener's connection was closed")


class SqliteWatcher(Watcher):
    """Read PRAGMA data_version on a dedicated connection; ring when another connection stored an event.

    data_version changes on every commit of any other connection, the worker's
    own included: ringing on each would send the worker round again after its
    every claim, competing with the call it just dispatched for the database
    lock. So a change is only a cue to read the newest event id, as the
    PostgreSQL notification only comes with a new event.
    """

    method = WakeMethod.DATA_VERSION

    def __init__(self, doorbell: Doorbell, database: str) -> None:
        super().__init__(doorbell)
        self.database = database

    def watch(self) -> None:
        """Compare data_version every DATA_VERSION_INTERVAL_SECONDS until stopped."""
        connection = sqlite3.connect(self.database, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            seen_version, seen_event = _data_version(connection), _newest_event(connection)
            self.connected()
            while not self.stopping.wait(DATA_VERSION_INTERVAL_SECONDS):
                version = _data_version(connection)
                if version == seen_version:
                    continue
                seen_version, newest = version, _newest_event(connection)
                if newest > seen_event:
                    seen_event = newest
                    self.doorbell.ring()
        finally:
            connection.close()


def watcher_for(engine: sa.Engine, mode: str, doorbell: Doorbell) -> Watcher:
    """Return the watcher that wakes a worker on this store with this [delivery] wake setting."""
    method = wake_method(mode, engine.url)
    if method is WakeMethod.LISTEN:
        return PostgresListener(doorbell, engine.url)
    if method is WakeMethod.DATA_VERSION:
        assert engine.url.database is not None
        return SqliteWatcher(doorbell, engine.url.database)
    return Watcher(doorbell)


def _data_version(connection: sqlite3.Connection) -> Any:
    return connection.execute("PRAGMA data_version").fetchone()[0]


def _newest_event(connection: sqlite3.Connection) -> int:
    return int(connection.execute(_NEWEST_EVENT).fetchone()[0] or 0)


_NEWEST_EVENT = f"SELECT max(id) FROM {events.name}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
