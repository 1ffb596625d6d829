"""Account state: a 401 pauses an account until a probe succeeds; AccountStore is the gate's view of it."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from bridge.store.limiter import block_until, ensure_account, reserve_call
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


class AccountStore:
    """One process's access to every account's window, hold-off and pause in the store."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float]) -> None:
        self.engine = engine
        self.clock = clock

    def reserve_call(self, account: str, limit: int, window_seconds: float) -> float:
        """Reserve the account's earliest free slot; return when the call may leave."""
        return reserve_call(self.engine, account, limit, window_seconds, self.clock)

    def block_until(self, account: str, until: float, lowered_limit: int | None) -> None:
        """Let no call of the account go before until, at the lowered limit for a while."""
        block_until(self.engine, account, until, lowered_limit)

    def pause(self, account: str, reason: str, probe_at: float) -> None:
        """Stop claiming the account's activities until a probe succeeds."""
        pause_account(self.engine, account, reason, probe_at)

    def resume(self, account: str) -> None:
        """Let the account's deliveries go again."""
        resume_account(self.engine, account)

    def postpone_probe(self, account: str, probe_at: float) -> None:
        """Probe the paused account's keys again at probe_at."""
        postpone_probe(self.engine, account, probe_at)
