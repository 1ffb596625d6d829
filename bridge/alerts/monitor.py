"""Where the conditions are looked at: every worker (a chore) and the admin process (a thread).

Each worker evaluates the conditions every few seconds between its rounds,
with a few indexed reads. A worker cannot say that every worker is dead, so
the admin process evaluates them too, from a thread of its own: its gunicorn
workers and every bridge worker may all see a change at once, and the
store's conditional write (bridge.store.alerts.record_change) lets one of
them write it. Each process that evaluates also posts, from its sender thread.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from bridge.alerts.conditions import (
    AccountReading,
    ActiveAlert,
    Change,
    Condition,
    Reading,
    changes,
    findings,
)
from bridge.alerts.messages import Context, alert_body, kind_of
from bridge.alerts.sender import AlertSender, Poster, post_json
from bridge.config.settings import Settings
from bridge.services import Services
from bridge.store import alerts as store

log = logging.getLogger(__name__)
# Rows of conditions this version knows; one a later version dropped is left alone.
KNOWN = frozenset(condition.value for condition in Condition)


class Evaluator:
    """Judges the conditions against the store and writes each start and clear once, with its alert."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings: Settings = services.settings
        self.accounts = sorted(services.settings.accounts)

    def evaluate(self) -> list[Change]:
        """Look at every condition once; return the changes this evaluator wrote."""
        engine, reader = self.services.engine, self.services.reader
        # The states first: a change is written over the version read here, so a reading
        # taken after another evaluator's change can never undo it. Reads go through the
        # reader, which on SQLite takes no write lock; only a change is written.
        stored = {(s.condition, s.subject): s for s in store.alert_states(reader)}
        active = {
            (alert.condition, alert.subject): alert
            for alert in (
                ActiveAlert(Condition(s.condition), s.subject, s.since or 0.0)
                for s in stored.values()
                if s.active and s.condition in KNOWN
            )
        }
        reading = self.read(reader)
        found = findings(reading, self.settings.alerts, active)
        written = []
        for change in changes(found, active):
            condition, subject = change.key
            seen = stored.get((condition.value, subject)) or store.StoredState(
                condition.value, subject, False, None, 0
            )
            account = None if condition is Condition.WORKERS_SILENT else subject
            rows = self.rows_of(change, account)
            context = Context(self.settings.alerts, self.settings.accounts, rows)
            body = alert_body(change, reading.now, context)
            since = change.since if change.starts else None
            if store.record_change(engine, seen, since, rows, kind_of(change), body, reading.now):
                written.append(change)
                fields = {"action": "alert", "condition": condition.value, "subject": subject}
                log.warning("alert %s", kind_of(change), extra=fields)
        return written

    def read(self, reader: sa.Engine) -> Reading:
        """Read what the conditions are judged on, on the database's clock."""
        now = store.database_now(reader)
        facts = store.account_facts(reader, self.accounts, now)
        accounts = [
            AccountReading(f.account, f.paused_at, f.limit_in_force, f.dead_last_hour, f.oldest_waiting_at)
            for f in facts
        ]
        return Reading(now, accounts, store.last_heartbeat(reader))

    def rows_of(self, change: Change, account: str | None) -> int:
        """Return the rows a message counts: dead ones for a dead-rows start, else those waiting."""
        if change.finding is not None and change.key[0] is Condition.DEAD_ACTIVITIES:
            return int(change.finding.value)
        return store.count_waiting(self.services.reader, account)


def alerts_off_notice(services: Services, process: str) -> bool:
    """Log once, at start, that alerts are off where no sink is set; return whether they are on."""
    alerts = services.settings.alerts
    if not alerts.enabled:
        log.info(
            f"alerts are off: {alerts.webhook_url_env} is not set",
            extra={"action": "alerts_off", "role": process},
        )
    return alerts.enabled


class AlertChore:
    """A worker's share of alerting: evaluate every few seconds between rounds; post from a thread."""

    def __init__(self, services: Services, worker_id: str, poster: Poster = post_json) -> None:
        self.enabled = alerts_off_notice(services, "worker")
        self.evaluator = Evaluator(services)
        self.every = services.settings.alerts.evaluate_every_seconds
        self.sender = AlertSender(
            services.engine, services.reader, services.settings.alerts, worker_id, poster
        )
        self.next_evaluation = 0.0

    def run_some(self, now: float) -> bool:
        """Evaluate the conditions when due; never counts as work (the worker's loop would spin)."""
        if not self.enabled or now < self.next_evaluation:
            return False
        if not self.sender.thread.is_alive() and not self.sender.stopping.is_set():
            self.sender.start()
        self.next_evaluation = now + self.every
        if self.evaluator.evaluate():
            self.sender.nudge()
        return False

    def close(self) -> None:
        """Stop the sender thread (the worker is stopping)."""
        self.sender.stop()


class AlertMonitor:
    """The admin process's evaluator: a thread that judges the conditions and posts, until stopped."""

    def __init__(self, services: Services, holder: str, poster: Poster = post_json) -> None:
        self.evaluator = Evaluator(services)
        self.every = services.settings.alerts.evaluate_every_seconds
        self.sender = AlertSender(services.engine, services.reader, services.settings.alerts, holder, poster)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="alert-monitor", daemon=True)

    def start(self) -> None:
        """Start evaluating and posting in the background."""
        self.sender.start()
        self.thread.start()

    def stop(self) -> None:
        """Stop evaluating and posting."""
        self.stopping.set()
        self.thread.join(10.0)
        self.sender.stop()

    def run(self) -> None:
        """Evaluate every evaluate_every_seconds until stopped; the store's trouble only skips a turn."""
        while not self.stopping.is_set():
            try:
                if self.evaluator.evaluate():
                    self.sender.nudge()
            except sa.exc.SQLAlchemyError:
                log.exception("alert monitor: store unavailable", extra={"action": "alert_store_error"})
            self.stopping.wait(self.every)


def start_admin_monitor(services: Services, holder: str) -> AlertMonitor | None:
    """Start the admin process's alert monitor where alerts are on; None where they are off."""
    if not alerts_off_notice(services, "admin"):
        return None
    monitor = AlertMonitor(services, holder)
    monitor.start()
    return monitor
