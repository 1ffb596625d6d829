"""The alert conditions as pure decisions: what holds now, and which alerts start or clear.

A Reading is what the store says at one moment; findings() turns it into the
conditions that hold, and changes() compares them with the alerts already
active, so that an alert starts once and clears once. A counted condition
clears only once its value is back at half its threshold or below, so a
count hovering at the threshold does not start and clear it over and over.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridge.config.settings import AlertSettings

WORKERS_SUBJECT = "workers"  # the subject of workers_silent: the bridge as a whole
HOUR_SECONDS = 3600.0


class Condition(enum.StrEnum):
    """Something a person must hear of, per account unless said otherwise."""

    ACCOUNT_PAUSED = "account_paused"  # LeadSquared refused the keys (401): nothing is delivered
    DEAD_ACTIVITIES = "dead_activities"  # more than dead_per_hour gone dead within an hour
    OLDEST_PENDING = "oldest_pending"  # an activity has waited longer than oldest_pending_minutes
    WORKERS_SILENT = "workers_silent"  # no worker heartbeat for worker_silent_seconds (subject: workers)
    LIMIT_LOWERED = "limit_lowered"  # a rate-limit answer named a lower limit than configured


# (condition, subject): one alert's identity.
AlertKey = tuple[Condition, str]


@dataclass(frozen=True)
class AccountReading:
    """One account as the store sees it now."""

    account: str
    paused_at: float | None = None  # paused by a 401 since then; None: not paused by LeadSquared
    limit_in_force: int | None = None  # the lowered calls per window; None: the configured limit holds
    dead_last_hour: int = 0
    oldest_waiting_at: float | None = None  # when its oldest activity waiting for delivery was stored


@dataclass(frozen=True)
class Reading:
    """What the store says at one moment, on the database's clock."""

    now: float
    accounts: Sequence[AccountReading]
    last_beat_at: float | None  # the newest heartbeat of any worker; None: no worker ever ran


@dataclass(frozen=True)
class Finding:
    """A condition that holds now for a subject: since when, and what the message needs."""

    condition: Condition
    subject: str
    since: float
    value: float  # the number it is judged by: dead rows, minutes waited, seconds silent, the limit


@dataclass(frozen=True)
class ActiveAlert:
    """An alert that started and has not cleared."""

    condition: Condition
    subject: str
    since: float


@dataclass(frozen=True)
class Change:
    """An alert to start (finding set) or to clear (finding None)."""

    key: AlertKey
    finding: Finding | None
    since: float  # for a start, when the condition began; for a clear, when its alert started

    @property
    def starts(self) -> bool:
        """Tell whether this change starts the alert (else it clears it)."""
        return self.finding is not None


def findings(
    reading: Reading, settings: AlertSettings, active: Mapping[AlertKey, ActiveAlert]
) -> dict[AlertKey, Finding]:
    """Return the conditions that hold now, each keyed by (condition, subject)."""
    found: list[Finding] = []
    for account in reading.accounts:
        found += account_findings(account, reading.now, settings, active)
    silent = workers_silent(reading, settings)
    if silent is not None:
        found.append(silent)
    return {(f.condition, f.subject): f for f in found if settings.watches(f.condition.value)}


def account_findings(
    account: AccountReading, now: float, settings: AlertSettings, active: Mapping[AlertKey, ActiveAlert]
) -> list[Finding]:
    """Return the conditions that hold for one account."""
    name = account.account
    found = []
    if account.paused_at is not None:
        found.append(Finding(Condition.ACCOUNT_PAUSED, name, account.paused_at, 0))
    if account.limit_in_force is not None:
        found.append(Finding(Condition.LIMIT_LOWERED, name, now, account.limit_in_force))
    dead_threshold = _threshold(settings.dead_per_hour, (Condition.DEAD_ACTIVITIES, name) in active)
    if account.dead_last_hour > dead_threshold:
        found.append(Finding(Condition.DEAD_ACTIVITIES, name, now - HOUR_SECONDS, account.dead_last_hour))
    if account.oldest_waiting_at is not None:
        waited_minutes = (now - account.oldest_waiting_at) / 60.0
        limit = _threshold(settings.oldest_pending_minutes, (Condition.OLDEST_PENDING, name) in active)
        if waited_minutes > limit:
            found.append(Finding(Condition.OLDEST_PENDING, name, account.oldest_waiting_at, waited_minutes))
    return found


def _threshold(threshold: float, already_active: bool) -> float:
    """Return the value to be above: the threshold to start, half of it to stay started."""
    return threshold / 2 if already_active else threshold


def workers_silent(reading: Reading, settings: AlertSettings) -> Finding | None:
    """Return the finding that no worker has beaten for worker_silent_seconds, if so."""
    if reading.last_beat_at is None:
        return None  # no worker ever ran against this store: nothing stopped
    silent_seconds = reading.now - reading.last_beat_at
    if silent_seconds <= settings.worker_silent_seconds:
        return None
    return Finding(Condition.WORKERS_SILENT, WORKERS_SUBJECT, reading.last_beat_at, silent_seconds)


def changes(found: Mapping[AlertKey, Finding], active: Mapping[AlertKey, ActiveAlert]) -> list[Change]:
    """Return the alerts to start (found, not active) and to clear (active, no longer found)."""
    starts = [Change(key, finding, finding.since) for key, finding in found.items() if key not in active]
    clears = [Change(key, None, alert.since) for key, alert in active.items() if key not in found]
    return sorted(starts + clears, key=lambda change: (change.key[0].value, change.key[1]))
