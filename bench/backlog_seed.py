"""Fill a migrated store fast: a history of finished work, and a backlog of pending activities.

Rows are made by the database itself (INSERT ... SELECT over a generated
series), not one by one through the bridge: a million rows take seconds.
Only the columns and statuses every schema since 0002 has are written, so the
same code fills the store of an older commit (bench.backlog --base).
"""

from __future__ import annotations

import sqlalchemy as sa

ACCOUNT = "main"  # bridge.example.toml's account
# The bench's "now": history is older, and the backlog is due.
NOW = 1_800_000_000.0
REQUEST = '{"ActivityEvent": 201, "ActivityNote": "bench", "Fields": []}'


def series(bind: sa.Connection, count: int) -> str:
    """Return a FROM clause yielding n = 1..count, in the bind's dialect."""
    if bind.dialect.name == "sqlite":
        counting = f"SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}"
        return f"(WITH RECURSIVE s(n) AS ({counting}) SELECT n FROM s)"
    return f"(SELECT generate_series(1, {count}) AS n)"


def add_events(bind: sa.Connection, tag: str, count: int, status: str, opportunities: int) -> None:
    """Insert count razorpay events with this status, received before NOW."""
    bind.execute(
        sa.text(
            "INSERT INTO events (source, idempotency_key, event_type, body, received_at, status) "
            f"SELECT 'razorpay', '{tag}-' || n, 'payment.captured', :body, {NOW} - 86400 + n * 0.001, "
            f"'{status}' FROM {series(bind, count)} AS g"
        ),
        {"body": b'{"event": "payment.captured"}'},
    )


def add_activities(
    bind: sa.Connection, tag: str, count: int, status: str, opportunities: int, due_spread: float
) -> None:
    """Insert count activities with this status over the opportunities, one per event of the same tag.

    Each row belongs to the event inserted with the same tag and number, due at
    NOW minus up to due_spread seconds (round-robin over opportunities, so an
    opportunity's rows are spread through the queue as a real backlog's are).
    """
    step = due_spread / max(count, 1)
    delivered = status == "delivered"
    bind.execute(
        sa.text(
            "INSERT INTO activities (event_id, activity_key, account, opportunity_id, request, status, "
            "attempts, created_at, next_attempt_at, prospect_activity_id, delivered_at) "
            "SELECT e.id, :key_prefix || g.n || :key_suffix, :account, 'opp-' || (g.n % :opportunities), "
            ":request, :status, :attempts, :start + g.n * :step, :start + g.n * :step, "
            "CASE WHEN :delivered THEN 'pa-' || g.n END, CASE WHEN :delivered THEN :start END "
            f"FROM {series(bind, count)} AS g JOIN events e "
            "ON e.source = 'razorpay' AND e.idempotency_key = :tag || '-' || g.n"
        ),
        {
            "key_prefix": f"razorpay:{tag}-",
            "key_suffix": ":0",
            "account": ACCOUNT,
            "opportunities": opportunities,
            "request": REQUEST,
            "status": status,
            "attempts": 1 if delivered else 0,
            "start": NOW - due_spread,
            "step": step,
            "delivered": delivered,
            "tag": tag,
        },
    )


def seed_history(engine: sa.Engine, count: int, opportunities: int) -> None:
    """Store count transformed events and their delivered activities."""
    with engine.begin() as bind:
        add_events(bind, "history", count, "transformed", opportunities)
        add_activities(bind, "history", count, "delivered", opportunities, 86400.0)


def seed_backlog(engine: sa.Engine, tag: str, count: int, opportunities: int) -> None:
    """Store count pending activities over the opportunities, all due, with their events."""
    with engine.begin() as bind:
        add_events(bind, tag, count, "transformed", opportunities)
        add_activities(bind, tag, count, "pending", opportunities, 3600.0)


def clear_backlog(engine: sa.Engine) -> None:
    """Delete every activity not delivered, and the events behind them: back to history only."""
    with engine.begin() as bind:
        bind.execute(sa.text("DELETE FROM activities WHERE status <> 'delivered'"))
        bind.execute(
            sa.text(
                "DELETE FROM events WHERE status = 'transformed' AND NOT EXISTS "
                "(SELECT 1 FROM activities a WHERE a.event_id = events.id)"
            )
        )
