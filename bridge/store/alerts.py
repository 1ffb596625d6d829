"""The alerts' store: what the conditions are judged on, each condition's state, and the alerts to post.

A start or clear and its message are written in one transaction, over the
state's version the evaluator read: when several evaluators (every worker,
the admin process) see the same change at once, one writes it and the others
change nothing, so the alert goes out once. Times are the database's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.store.dialect import server_now, upsert
from bridge.store.tables import (
    ActivityStatus,
    PausedBy,
    account_state,
    activities,
    alert_outbox,
    alert_state,
    workers,
)

# Activities waiting for LeadSquared: due for delivery, or for their opportunity's look-up.
WAITING = (ActivityStatus.PENDING, ActivityStatus.RESOLVING)
HOUR_SECONDS = 3600.0


@dataclass(frozen=True)
class AccountFacts:
    """What the conditions read of one account."""

    account: str
    paused_at: float | None  # paused by a 401 (not by an operator) since then
    limit_in_force: int | None  # the limit a rate-limit answer lowered it to, while lowered
    dead_last_hour: int  # gone dead with their last try due within the hour
    oldest_waiting_at: float | None  # created_at of its waiting activity due longest


@dataclass(frozen=True)
class StoredState:
    """One condition's state for one subject."""

    condition: str
    subject: str
    active: bool
    since: float | None
    version: int


@dataclass(frozen=True)
class OutgoingAlert:
    """An alert not yet posted (nor given up on)."""

    id: int
    condition: str
    subject: str
    body: dict[str, Any]
    attempts: int
    next_attempt_at: float
    claim_expires_at: float


def database_now(engine: sa.Engine) -> float:
    """Return the database's clock."""
    with engine.connect() as connection:
        return float(connection.execute(sa.select(server_now(connection))).scalar_one())


def account_facts(reader: sa.Engine, accounts: Sequence[str], now: float) -> list[AccountFacts]:
    """Read each account's pause, lowered limit, dead count of the hour and oldest waiting row."""
    with reader.connect() as connection:
        states = {
            row.account: row
            for row in connection.execute(
                sa.select(account_state).where(account_state.c.account.in_(list(accounts)))
            )
        }
        facts = []
        for name in accounts:
            state = states.get(name)
            paused_at = limit = None
            if state is not None:
                if state.paused and state.paused_by == PausedBy.LEADSQUARED:
                    paused_at = state.paused_at or now
                if state.calls_per_window and state.lowered_until > now:
                    limit = int(state.calls_per_window)
            facts.append(
                AccountFacts(
                    account=name,
                    paused_at=paused_at,
                    limit_in_force=limit,
                    dead_last_hour=_dead_within_hour(connection, name, now),
                    oldest_waiting_at=_oldest_waiting(connection, name),
                )
            )
    return facts


def _dead_within_hour(connection: sa.Connection, account: str, now: float) -> int:
    # A dead row keeps the next_attempt_at of its last try: within a lease of when it died.
    # (status, account, next_attempt_at) is ix_activities_due's prefix: a range scan of the hour.
    return int(
        connection.execute(
            sa.select(sa.func.count()).where(
                activities.c.status == ActivityStatus.DEAD,
                activities.c.account == account,
                activities.c.next_attempt_at > now - HOUR_SECONDS,
            )
        ).scalar_one()
    )


def _oldest_waiting(connection: sa.Connection, account: str) -> float | None:
    # The row due longest: the first entry of ix_activities_due for the status and account, one
    # index probe however big the backlog. A row waits due from its creation unless it failed
    # and backs off, so in a stuck queue (paused, held off, no worker) it is the oldest. Ordered
    # by id instead, PostgreSQL walked the primary key through a million delivered rows before
    # the first pending one (419 ms, python -m bench.alerts).
    oldest = None
    for status in WAITING:
        created = connection.execute(
            sa.select(activities.c.created_at)
            .where(activities.c.status == status, activities.c.account == account)
            .order_by(activities.c.next_attempt_at, activities.c.id)
            .limit(1)
        ).scalar()
        if created is not None and (oldest is None or created < oldest):
            oldest = float(created)
    return oldest


def last_heartbeat(reader: sa.Engine) -> float | None:
    """Return the newest heartbeat (or clean stop) of any worker; None where none ever ran."""
    with reader.connect() as connection:
        newest = connection.execute(sa.select(sa.func.max(workers.c.beat_at))).scalar()
    return None if newest is None else float(newest)


def count_waiting(reader: sa.Engine, account: str | None) -> int:
    """Return how many activities of the account (of every account: None) wait for LeadSquared."""
    statement = sa.select(sa.func.count()).where(activities.c.status.in_(WAITING))
    if account is not None:
        statement = statement.where(activities.c.account == account)
    with reader.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def alert_states(engine: sa.Engine) -> list[StoredState]:
    """Return every condition's state (a row per condition and subject that ever changed)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(alert_state)).all()
    return [StoredState(r.condition, r.subject, bool(r.active), r.since, r.version) for r in rows]


def record_change(
    engine: sa.Engine,
    seen: StoredState,
    since: float | None,
    rows: int,
    kind: str,
    body: dict[str, Any],
    now: float,
) -> bool:
    """Flip the state seen to its opposite and queue its alert; False where another evaluator already did."""
    with engine.begin() as connection:
        connection.execute(
            upsert(connection, alert_state)
            .values(condition=seen.condition, subject=seen.subject, active=False, changed_at=now, version=0)
            .on_conflict_do_nothing()
        )
        changed = connection.execute(
            sa.update(alert_state)
            .where(
                alert_state.c.condition == seen.condition,
                alert_state.c.subject == seen.subject,
                alert_state.c.active == seen.active,
                alert_state.c.version == seen.version,
            )
            .values(
                active=not seen.active,
                since=since if not seen.active else None,
                changed_at=now,
                rows=rows,
                version=seen.version + 1,
            )
        ).rowcount
        if changed != 1:
            return False
        connection.execute(
            sa.insert(alert_outbox).values(
                condition=seen.condition,
                subject=seen.subject,
                kind=kind,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return True


def unsent_alerts(engine: sa.Engine, limit: int = 50) -> list[OutgoingAlert]:
    """Return the oldest alerts neither posted nor given up on, in the order they were written."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(alert_outbox)
            .where(alert_outbox.c.sent_at.is_(None), alert_outbox.c.gave_up_at.is_(None))
            .order_by(alert_outbox.c.id)
            .limit(limit)
        ).all()
    return [
        OutgoingAlert(r.id, r.condition, r.subject, r.body, r.attempts, r.next_attempt_at, r.claim_expires_at)
        for r in rows
    ]


def claim_alert(engine: sa.Engine, alert_id: int, holder: str, lease_seconds: float) -> bool:
    """Take the alert to post it, if it is due and nobody holds it; return whether this holder has it."""
    with engine.begin() as connection:
        now = server_now(connection)
        return bool(
            connection.execute(
                sa.update(alert_outbox)
                .where(
                    alert_outbox.c.id == alert_id,
                    alert_outbox.c.sent_at.is_(None),
                    alert_outbox.c.gave_up_at.is_(None),
                    alert_outbox.c.next_attempt_at <= now,
                    alert_outbox.c.claim_expires_at <= now,
                )
                .values(claimed_by=holder, claim_expires_at=now + lease_seconds)
            ).rowcount
        )


def mark_sent(engine: sa.Engine, alert_id: int, holder: str) -> None:
    """Record that the sink took the alert."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(alert_outbox)
            .where(alert_outbox.c.id == alert_id, alert_outbox.c.claimed_by == holder)
            .values(
                sent_at=server_now(connection),
                attempts=alert_outbox.c.attempts + 1,
                claimed_by=None,
                claim_expires_at=0,
                last_error=None,
            )
        )


def mark_failed(
    engine: sa.Engine, alert_id: int, holder: str, error: str, retry_after_seconds: float | None
) -> None:
    """Record a post the sink did not take: due again after a while, or given up on (None)."""
    with engine.begin() as connection:
        now = server_now(connection)
        values: dict[str, Any] = {
            "attempts": alert_outbox.c.attempts + 1,
            "claimed_by": None,
            "claim_expires_at": 0,
            "last_error": error,
        }
        if retry_after_seconds is None:
            values["gave_up_at"] = now
        else:
            values["next_attempt_at"] = now + retry_after_seconds
        connection.execute(
            sa.update(alert_outbox)
            .where(alert_outbox.c.id == alert_id, alert_outbox.c.claimed_by == holder)
            .values(**values)
        )
