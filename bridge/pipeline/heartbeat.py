"""The worker's heartbeat: a thread of its own writes it, so a long call or a busy loop never delays it.

Other workers take back this worker's claims once its heartbeat is older than
worker_stale_seconds. So that it never posts rows they may already have taken,
the worker starts no call once its last written beat is older than the stale
limit less one heartbeat interval (may_start_calls), until a beat succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from bridge.config.settings import DeliverySettings
from bridge.store import workers

log = logging.getLogger(__name__)


def may_start_calls(seconds_since_beat: float | None, policy: DeliverySettings) -> bool:
    """Decide whether a worker whose last written beat is this old may start a call (None: never beat)."""
    if seconds_since_beat is None:
        return False
    return seconds_since_beat < policy.worker_stale_seconds - policy.heartbeat_seconds


class Heartbeat:
    """Beats for one worker every heartbeat_seconds, in its own short transactions."""

    def __init__(
        self,
        engine: sa.Engine,
        worker_id: str,
        host: str,
        pid: int,
        policy: DeliverySettings,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.host = host
        self.pid = pid
        self.policy = policy
        self.monotonic = monotonic
        self.last_beat: float | None = None  # monotonic time of the last beat written
        self.failing = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Write the first beat now, then keep beating in the background."""
        if self.beat_once():
            try:
                workers.forget_old(self.engine)
            except sa.exc.SQLAlchemyError:
                log.warning("could not forget long-gone workers", extra={"action": "heartbeat"})
        self.thread.start()

    def stop(self) -> None:
        """Stop beating and record a clean stop; the worker must hold nothing by now."""
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=self.policy.heartbeat_seconds + 5)
        try:
            workers.mark_stopped(self.engine, self.worker_id)
        except sa.exc.SQLAlchemyError:
            # Its heartbeat goes stale instead: the same outcome, seconds later.
            log.warning("could not record the worker's stop", extra={"action": "heartbeat"})

    def fresh(self) -> bool:
        """Tell whether the last beat is recent enough to start a call."""
        last = self.last_beat
        return may_start_calls(None if last is None else self.monotonic() - last, self.policy)

    def beat_once(self) -> bool:
        """Write one beat; return whether it reached the store."""
        started = self.monotonic()
        try:
            workers.beat(self.engine, self.worker_id, self.host, self.pid)
        except sa.exc.SQLAlchemyError:
            if not self.failing:
                log.exception("heartbeat not written: retrying", extra={"action": "heartbeat"})
            self.failing = True
            return False
        # The beat took effect somewhere between the start and now: count the start, the safe side.
        self.last_beat = started
        if self.failing:
            log.warning("heartbeat written again", extra={"action": "heartbeat"})
        self.failing = False
        return True

    def _run(self) -> None:
        while not self.stopped.wait(self.policy.heartbeat_seconds):
            self.beat_once()
