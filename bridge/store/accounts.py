"""Account pauses: a 401 stops an account's deliveries until a probe succeeds."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store.limiter import ensure_account
from bridge.store.tables import account_state


def pause_account(engine: sa.Engine, account: str, reason: str, probe_at: float) -> None:
    """Stop claiming the account's activities; probe its keys at probe_at."""
    with engine.begin() as connection:
        ensure_account(connection, account)
        connection.execute(
            sa.update(account_state)
            .where(account_state.c.account == account)
            .values(paused=True, paused_reason=reason, next_probe_at=probe_at)
        )


def resume_account(engine: sa.Engine, account: str) -> None:
    """Let the account's deliveries go again."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(account_state)
            .where(account_state.c.account == account)
            .values(paused=False, paused_reason=None)
        )


def postpone_probe(engine: sa.Engine, account: str, probe_at: float) -> None:
    """Set when the paused account's keys are checked next."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(account_state).where(account_state.c.account == account).values(next_probe_at=probe_at)
        )


def accounts_due_for_probe(engine: sa.Engine, now: float) -> list[str]:
    """Return the paused accounts whose probe time has come."""
    with engine.begin() as connection:
        return list(
            connection.execute(
                sa.select(account_state.c.account).where(
                    account_state.c.paused, account_state.c.next_probe_at <= now
                )
            ).scalars()
        )
