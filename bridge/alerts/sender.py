"""Posting alerts: one bounded HTTP post per alert, retried with backoff, from a thread of its own.

The sender never holds a store transaction while it posts: it claims an
alert (a short transaction), posts it with a timeout, then records the
result (another). A slow or dead sink costs this thread time, never the
pipeline's. An alert is posted only after every earlier alert of the same
condition and subject went out (or was given up on), so a "resolved" never
overtakes its "started". A post is described in errors by its status or
the exception's class only: the URL carries the sink's key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa

from bridge.config.settings import AlertSettings
from bridge.store import alerts as store

log = logging.getLogger(__name__)
# How often an idle sender looks for alerts that other processes wrote or that came due again.
LOOK_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class PostResult:
    """What the sink did with one post: took it, or why not."""

    ok: bool
    error: str = ""  # "HTTP 500", "Timeout", "ConnectionError": never the URL


# Posts one JSON body to the sink within a timeout.
Poster = Callable[[str, dict[str, Any], float], PostResult]


def post_json(url: str, body: dict[str, Any], timeout_seconds: float) -> PostResult:
    """Post the body to the sink; a 2xx is taken, anything else is a failure to retry."""
    try:
        answer = requests.post(url, json=body, timeout=timeout_seconds, allow_redirects=False)
    except requests.RequestException as error:
        return PostResult(False, type(error).__name__)
    if 200 <= answer.status_code < 300:
        return PostResult(True)
    return PostResult(False, f"HTTP {answer.status_code}")


def retry_after(attempts: int, settings: AlertSettings) -> float | None:
    """Return the wait before the next post after this many failed ones, or None to give up."""
    if attempts >= settings.max_attempts:
        return None
    return float(min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** (attempts - 1)))


def postable(unsent: Sequence[store.OutgoingAlert], now: float) -> list[store.OutgoingAlert]:
    """Return the alerts due now that no earlier unsent alert of the same condition and subject precedes."""
    seen: set[tuple[str, str]] = set()
    due = []
    for alert in unsent:  # in the order they were written
        key = (alert.condition, alert.subject)
        if key in seen:
            continue
        seen.add(key)
        if alert.next_attempt_at <= now and alert.claim_expires_at <= now:
            due.append(alert)
    return due


class AlertSender:
    """Posts the store's unsent alerts to the sink, one at a time, until stopped."""

    def __init__(
        self,
        engine: sa.Engine,
        reader: sa.Engine,
        settings: AlertSettings,
        holder: str,
        poster: Poster = post_json,
        look_every_seconds: float = LOOK_EVERY_SECONDS,
    ) -> None:
        self.engine = engine
        # Looking for alerts, every second, goes through the reader: on SQLite it takes no write lock.
        self.reader = reader
        self.settings = settings
        self.holder = holder
        self.poster = poster
        self.look_every_seconds = look_every_seconds
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.run, name="alert-sender", daemon=True)

    def start(self) -> None:
        """Start posting in the background."""
        self.thread.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop after the post in progress, if any."""
        self.stopping.set()
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout_seconds)

    def nudge(self) -> None:
        """Look for alerts at once: one was just written."""
        self.wake.set()

    def run(self) -> None:
        """Post whatever is due, then wait for a nudge or the next look, until stopped."""
        while not self.stopping.is_set():
            try:
                self.send_due()
            except sa.exc.SQLAlchemyError:
                log.exception("alert sender: store unavailable", extra={"action": "alert_store_error"})
            self.wake.wait(self.look_every_seconds)
            self.wake.clear()

    def send_due(self) -> int:
        """Post every alert due now, each condition's in order; return how many the sink took."""
        url = self.settings.webhook_url
        if not url:
            return 0
        sent = 0
        lease = self.settings.timeout_seconds * 2 + 5
        # Pass after pass: a condition's next alert becomes postable once the one before it went.
        while not self.stopping.is_set():
            now = store.database_now(self.reader)
            claimed = [
                alert
                for alert in postable(store.unsent_alerts(self.reader), now)
                if store.claim_alert(self.engine, alert.id, self.holder, lease)
            ]
            if not claimed:
                return sent
            sent += sum(self.send_one(alert, url) for alert in claimed)
        return sent

    def send_one(self, alert: store.OutgoingAlert, url: str) -> int:
        """Post one claimed alert and record the result; return 1 if the sink took it."""
        result = self.poster(url, alert.body, self.settings.timeout_seconds)
        fields = {"condition": alert.condition, "subject": alert.subject, "attempt": alert.attempts + 1}
        if result.ok:
            store.mark_sent(self.engine, alert.id, self.holder)
            log.info("alert posted", extra={"action": "alert_sent", **fields})
            return 1
        wait = retry_after(alert.attempts + 1, self.settings)
        store.mark_failed(self.engine, alert.id, self.holder, result.error, wait)
        if wait is None:
            extra = {"action": "alert_given_up", "error": result.error, **fields}
            log.error("alert given up on", extra=extra)
        else:
            log.warning(
                "alert not taken by the sink: will post again",
                extra={"action": "alert_retry", "error": result.error, "retry_in": wait, **fields},
            )
        return 0
