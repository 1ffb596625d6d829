"""Account state: a 401 pauses an account until a probe succeeds; AccountStore is the gate's view of it.

An operator may pause an account too: that pause is never lifted by a probe,
and a 401 arriving meanwhile does not turn it into one a probe would lift.
Probe and pause times are the database server's, like the limiter's: callers
pass durations, so workers whose clocks disagree still agree on when a probe is due.
"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store.dialect import server_now
from bridge.store.limiter import block_for, ensure_account, reserve_call
from bridge.store.tables import PausedBy, account_state

_NOT_BY_OPERATOR = sa.or_(account_state.c.paused_by.is_(None), account_state.c.paused_by != PausedBy.OPERATOR)


def pause_account(
    engine: sa.Engine,
    account: str,
    reason: str,
    probe_after_seconds: float,
    by: PausedBy = PausedBy.LEADSQUARED,
) -> bool:
    """Stop claiming the account's activities; return False where an operator's pause already holds it.

    A pause by LeadSquared (a 401) is probed probe_after_seconds from now; an
    operator's pause replaces any other and waits for a resume.
    """
    with engine.begin() as connection:
        ensure_account(connection, account)
        now = server_now(connection)
        statement = sa.update(account_state).where(account_state.c.account == account)
        if by is PausedBy.LEADSQUARED:
            statement = statement.where(sa.or_(sa.not_(account_state.c.paused), _NOT_BY_OPERATOR))
        changed = connection.execute(
            statement.values(
                paused=True,
                paused_reason=reason,
                paused_by=by.value,
                # Since the pause began: a resume clears it, a repeat keeps it.
                paused_at=sa.func.coalesce(account_state.c.paused_at, now),
                next_probe_at=now + probe_after_seconds,
            )
        ).rowcount
    return bool(changed)


def resume_account(engine: sa.Engine, account: str, operator: bool = False) -> bool:
    """Let the account's deliveries go again; return whether it was paused.

    A probe (operator=False) lifts only a pause LeadSquared caused; an
    operator lifts either.
    """
    with engine.begin() as connection:
        statement = sa.update(account_state).where(account_state.c.account == account, account_state.c.paused)
        if not operator:
            statement = statement.where(_NOT_BY_OPERATOR)
        changed = connection.execute(
            statement.values(paused=False, paused_reason=None, paused_by=None, paused_at=None)
        ).rowcount
    return bool(changed)


def postpone_probe(engine: sa.Engine, account: str, probe_after_seconds: float) -> None:
    """Check the paused account's keys again probe_after_seconds from now."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(account_state)
            .where(account_state.c.account == account)
            .values(next_probe_at=server_now(connection) + probe_after_seconds)
        )


def accounts_due_for_probe(engine: sa.Engine) -> list[str]:
    """Return the paused accounts whose probe time has come by the database's clock."""
    with engine.begin() as connection:
        return list(
            connection.execute(
                sa.select(account_state.c.account).where(
                    account_state.c.paused,
                    _NOT_BY_OPERATOR,
                    account_state.c.next_probe_at <= server_now(connection),
                )
            ).scalars()
        )


class AccountStore:
    """One process's access to every account's window, hold-off and pause in the store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def reserve_call(self, account: str, limit: int, window_seconds: float) -> float:
        """Reserve the account's earliest free slot; return the seconds until the call may leave."""
        return reserve_call(self.engine, account, limit, window_seconds)

    def block_for(self, account: str, hold_seconds: float, lowered_limit: int | None) -> None:
        """Let no call of the account go for hold_seconds, at the lowered limit for a while."""
        block_for(self.engine, account, hold_seconds, lowered_limit)

    def pause(self, account: str, reason: str, probe_after_seconds: float) -> None:
        """Stop claiming the account's activities until a probe succeeds."""
        pause_account(self.engine, account, reason, probe_after_seconds)

    def resume(self, account: str) -> None:
        """Let the account's deliveries go again."""
        resume_account(self.engine, account)

    def postpone_probe(self, account: str, probe_after_seconds: float) -> None:
        """Probe the paused account's keys again probe_after_seconds from now."""
        postpone_probe(self.engine, account, probe_after_seconds)
