"""The account rate limiter: a sliding log of calls, one atomic reservation per call.

LeadSquared does not say how its window works, so the limiter assumes the
strictest reading: never more than the limit in *any* window, wherever it
starts. A sliding log guarantees that and still lets a full burst go at the
start of each window, which is most of a short backlog's time. Reservations
may lie in the future: the caller sleeps until its slot, so calls leave in
the order their slots were handed out.

Every time here is the database server's (dialect.server_now): the workers
that share an account may run on machines whose clocks disagree by seconds,
and a log of calls stamped by each one's own clock would let more than the
limit into a window. A caller gets back how long to wait, a duration, which
means the same on every machine whatever its clock says.
"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store.dialect import greatest, server_now, upsert
from bridge.store.tables import account_state, rate_calls


def ensure_account(connection: sa.Connection, account: str) -> None:
    """Create the account's state row if it is not there yet."""
    connection.execute(upsert(connection, account_state).values(account=account).on_conflict_do_nothing())


def reserve_call(engine: sa.Engine, account: str, limit: int, window_seconds: float) -> float:
    """Reserve the earliest slot for one call to the account; return the seconds until it may leave."""
    with engine.begin() as connection:
        ensure_account(connection, account)
        state = connection.execute(
            sa.select(
                account_state.c.calls_per_window,
                account_state.c.lowered_until,
                account_state.c.blocked_until,
            )
            .where(account_state.c.account == account)
            .with_for_update()
        ).one()
        # Read the clock only once the account is locked: time spent queueing for
        # the lock must not make the slot look earlier than it is.
        now = float(connection.execute(sa.select(server_now(connection))).scalar_one())
        if state.calls_per_window and state.lowered_until > now:
            limit = min(limit, state.calls_per_window)
        recent = (
            connection.execute(
                sa.select(rate_calls.c.at)
                .where(rate_calls.c.account == account, rate_calls.c.at > now - window_seconds)
                .order_by(rate_calls.c.at.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )
        slot = max(now, state.blocked_until)
        if recent:
            slot = max(slot, recent[0])
        if len(recent) >= limit:
            slot = max(slot, recent[limit - 1] + window_seconds)
        connection.execute(sa.insert(rate_calls).values(account=account, at=slot))
        connection.execute(
            sa.delete(rate_calls).where(
                rate_calls.c.account == account, rate_calls.c.at < now - 2 * window_seconds
            )
        )
    return float(slot) - now


LOWERED_LIMIT_SECONDS = 3600.0


def block_for(engine: sa.Engine, account: str, hold_seconds: float, lowered_limit: int | None) -> None:
    """After a rate-limit answer: no call for hold_seconds, and for an hour the limit LeadSquared named."""
    with engine.begin() as connection:
        ensure_account(connection, account)
        until = server_now(connection) + hold_seconds
        values: dict[str, object] = {"blocked_until": greatest(engine, account_state.c.blocked_until, until)}
        if lowered_limit is not None:
            values["calls_per_window"] = lowered_limit
            values["lowered_until"] = until + LOWERED_LIMIT_SECONDS
        connection.execute(
            sa.update(account_state).where(account_state.c.account == account).values(**values)
        )
