"""The audit log: every operator action and login, who did it, from where, to what, and how many rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.observe.masking import mask_text
from bridge.store.tables import audit_log


@dataclass(frozen=True)
class AuditEntry:
    """One thing an operator did (or tried: a failed login)."""

    at: float
    actor: str  # "console", "api" or "cli:<user>"
    action: str  # replay, retry, resolve, pause, resume, cancel, login, login_failed, ...
    target: str | None = None  # an id, an account, or a filter as its query string
    rows: int | None = None
    detail: str | None = None
    address: str | None = None  # the client address of a console or API request


def write_audit(engine: sa.Engine, entry: AuditEntry) -> None:
    """Append one entry to the audit log."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(audit_log).values(
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                # A filter an operator typed, or a detail naming an event type, may hold an identifier.
                target=None if entry.target is None else mask_text(entry.target),
                rows=entry.rows,
                detail=None if entry.detail is None else mask_text(entry.detail),
                address=entry.address,
            )
        )


def count_since(engine: sa.Engine, action: str, address: str | None, since: float) -> int:
    """Count the entries of an action from one address since a time (failed logins, for throttling)."""
    query = sa.select(sa.func.count()).where(
        audit_log.c.action == action,
        audit_log.c.address == address if address is not None else audit_log.c.address.is_(None),
        audit_log.c.at >= since,
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def latest_entries(engine: sa.Engine, limit: int = 50, before_id: int | None = None) -> list[sa.Row[Any]]:
    """Return the newest entries first, before_id for the next page."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    with engine.connect() as connection:
        return list(connection.execute(query))
