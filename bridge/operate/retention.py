"""Retention: finished events' payloads erased after retain_payload_days, their records deleted later.

The rows that are not events go too (bridge/store/housekeeping.py): the
look-up cache's expired entries, which hold a lead's email or phone, old
alerts and jobs, and the audit log after retain_audit_days.

The worker runs Purger as a chore: a few small batches a round, each its own
short transaction, with a pause between them in which the webhooks' inserts
take the store (on SQLite a transaction holds the write lock), and a look
every few minutes when nothing is due. `lsq-bridge purge` runs the same
batches at once, and `--dry-run` counts what they would take.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import sqlalchemy as sa

from bridge.config.settings import Settings
from bridge.services import Services
from bridge.store import housekeeping, retention
from bridge.store.housekeeping import Ages, Due
from bridge.store.retention import Cutoff
from bridge.store.tables import PayloadErasure

log = logging.getLogger(__name__)
DAY_SECONDS = 86400.0
# Events a batch erases or deletes: each deletion takes their activities, call rows, repeats and
# digests with it. Deleting 100 of a million-event SQLite store held its write lock 10-20 ms (200:
# 16-35 ms, on two busy cores), which is how long a webhook arriving meanwhile waits at most.
BATCH_SIZE = 100
# Between two batches the store is left to the webhooks, for at least three times as long as the
# batch held it (so a purge takes at most a quarter of the store's write time) and at least 50 ms:
# a SQLite writer that found the lock taken sleeps in its busy handler and must find it free when
# it wakes. bench/purge.py measures what is left of ingest.
PAUSE_SECONDS = 0.05
PAUSE_PER_BUSY_SECOND = 3.0
# Work one chore round does at most before the worker's loop transforms and claims again.
ROUND_BUDGET_SECONDS = 0.25
# How often an idle purge looks again once nothing is due: payloads fall due by the day.
IDLE_SECONDS = 300.0


def payload_cutoffs(settings: Settings, sources: Sequence[str], now: float) -> list[Cutoff]:
    """Return each stored source's cutoff for payloads: its own days, else [retention]'s."""
    return [Cutoff(name, now - settings.payload_days(name) * DAY_SECONDS) for name in sources]


def events_cutoffs(settings: Settings, sources: Sequence[str], now: float) -> list[Cutoff]:
    """Return each stored source's cutoff for events: its own days, else [retention]'s."""
    return [Cutoff(name, now - settings.events_days(name) * DAY_SECONDS) for name in sources]


@dataclass
class Purged:
    """What purging did so far."""

    payloads: int = 0  # events whose body and headers were erased by age
    completed: int = 0  # erasures on request whose last activities finished and were erased too
    events: int = 0  # events deleted, with their activities
    activities: int = 0
    calls: int = 0  # LeadSquared calls deleted by age
    lookups: int = 0  # expired look-up cache entries deleted
    alerts: int = 0  # sent or abandoned alerts deleted by age
    jobs: int = 0  # ended operator jobs deleted by age
    audit_entries: int = 0  # audit entries older than retain_audit_days deleted

    def add(self, other: Purged) -> None:
        """Add another batch's counts to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def rows(self) -> int:
        """Return how many events, calls and other rows were touched (activities go with their events)."""
        return sum(getattr(self, name) for name in _COUNTS if name != "activities")

    @property
    def other_rows(self) -> int:
        """Return how many rows besides events and calls were deleted."""
        return self.lookups + self.alerts + self.jobs + self.audit_entries


_COUNTS = tuple(counter.name for counter in fields(Purged))


def ages(settings: Settings, now: float) -> Ages:
    """Return the times before which the rows besides events are due."""
    retention_settings = settings.retention
    return Ages(
        now=now,
        records_before=now - retention_settings.retain_events_days * DAY_SECONDS,
        audit_before=now - retention_settings.retain_audit_days * DAY_SECONDS,
    )


def purge_batch(engine: sa.Engine, settings: Settings, now: float, size: int = BATCH_SIZE) -> Purged:
    """Do the first kind of work that is due, one batch in one transaction; an empty Purged when none is.

    One transaction for the search and the change: on SQLite each takes the
    write lock, and a webhook waits behind every one of them.
    """
    with engine.connect() as connection:
        sources = retention.stored_sources(connection)
    # A call carries no source: those older than the shortest keeping, that no kept activity rode in.
    days = min([settings.events_days(name) for name in sources] + [settings.retention.retain_events_days])
    with engine.begin() as connection:
        pending = retention.pending_erasures_finished(connection, size)
        if pending:
            return Purged(completed=retention.complete_erasures(connection, pending))
        due = retention.payloads_due(connection, payload_cutoffs(settings, sources, now), size)
        if due:
            return Purged(payloads=retention.erase_payloads(connection, due, PayloadErasure.RETENTION, now))
        old = retention.events_due(connection, events_cutoffs(settings, sources, now), size)
        if old:
            deleted, activity_rows = retention.delete_events(connection, old)
            return Purged(events=deleted, activities=activity_rows)
        calls = retention.delete_old_calls(connection, now - days * DAY_SECONDS, size)
        if calls:
            return Purged(calls=calls)
        return _housekeeping_batch(connection, ages(settings, now), size)


def _housekeeping_batch(connection: sa.Connection, due: Ages, size: int) -> Purged:
    """Delete one batch of the first kind of row besides events that is due; an empty Purged when none is."""
    lookups = housekeeping.delete_expired_lookups(connection, due.now, size)
    if lookups:
        return Purged(lookups=lookups)
    alerts = housekeeping.delete_old_alerts(connection, due.records_before, size)
    if alerts:
        return Purged(alerts=alerts)
    jobs = housekeeping.delete_old_jobs(connection, due.records_before, size)
    if jobs:
        return Purged(jobs=jobs)
    return Purged(audit_entries=housekeeping.delete_old_audit(connection, due.audit_before, size))


@dataclass(frozen=True)
class SourcePlan:
    """What a purge would take of one source now."""

    source: str
    payloads: int  # finished events whose body and headers would be erased
    events: int  # finished events that would be deleted, with their activities and calls


def purge_plan(services: Services, now: float) -> list[SourcePlan]:
    """Count, per source, what a purge would erase and delete now: the dry run."""
    settings = services.settings
    with services.reader.connect() as connection:
        sources = retention.stored_sources(connection)
        payloads = retention.count_payloads_due(connection, payload_cutoffs(settings, sources, now))
        deleted = retention.count_events_due(connection, events_cutoffs(settings, sources, now))
    names = sorted(set(payloads) | set(deleted))
    return [SourcePlan(name, payloads[name], deleted[name]) for name in names]


def other_rows_plan(services: Services, now: float) -> Due:
    """Count the rows besides events a purge would delete now: the dry run's second part."""
    with services.reader.connect() as connection:
        return housekeeping.count_due(connection, ages(services.settings, now))


def purge_now(
    services: Services,
    clock: Callable[[], float] = time.time,
    progress: Callable[[Purged], None] = lambda _: None,
    pause_seconds: float = PAUSE_SECONDS,
) -> Purged:
    """Purge everything due, batch after batch with a pause between, calling progress after each."""
    total = Purged()
    while True:
        started = time.monotonic()
        batch = purge_batch(services.engine, services.settings, clock())
        if not batch.rows:
            return total
        total.add(batch)
        progress(total)
        time.sleep(pause_after(time.monotonic() - started, pause_seconds))


def pause_after(busy_seconds: float, least: float = PAUSE_SECONDS) -> float:
    """Return how long to leave the store to others after a batch that took busy_seconds."""
    return max(least, PAUSE_PER_BUSY_SECOND * busy_seconds) if least else 0.0


@dataclass
class Purger:
    """The worker's purge chore: due batches in short rounds, a look every IDLE_SECONDS when none are."""

    services: Services
    worker_id: str
    sleep: Callable[[float], None] = time.sleep
    next_look: float = 0.0
    purged: Purged = field(default_factory=Purged)

    def run_some(self, now: float) -> bool:
        """Purge batches, each followed by its pause, for about ROUND_BUDGET_SECONDS; say if any was due."""
        if now < self.next_look:
            return False
        started = time.monotonic()
        did = Purged()
        while True:
            batch_started = time.monotonic()
            batch = purge_batch(self.services.engine, self.services.settings, now)
            did.add(batch)
            if not batch.rows:
                self.next_look = now + IDLE_SECONDS
                break
            # Paused after every batch, the last of a round too: the next round may start at once.
            self.sleep(pause_after(time.monotonic() - batch_started))
            if time.monotonic() - started >= ROUND_BUDGET_SECONDS:
                break
        if did.rows:
            self.purged.add(did)
            log.info(
                "purged",
                extra={
                    "action": "purge",
                    "payloads_erased": did.payloads,
                    "erasures_completed": did.completed,
                    "events_deleted": did.events,
                    "activities_deleted": did.activities,
                    "calls_deleted": did.calls,
                    "lookups_deleted": did.lookups,
                    "alerts_deleted": did.alerts,
                    "jobs_deleted": did.jobs,
                    "audit_entries_deleted": did.audit_entries,
                },
            )
        return bool(did.rows)
