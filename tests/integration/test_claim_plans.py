"""The claim queries read an index in their own order, on both stores, with or without statistics.

The statements checked are the ones the store really sends, caught on their
way to the driver, then given to the database's EXPLAIN with the same values.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.store import claims, lookups, outbox
from bridge.store.dialect import is_sqlite
from bridge.store.engine import make_engine
from bridge.store.inbox import Inbox, received_events
from bridge.store.statistics import analyze_all, analyze_changed
from bridge.store.tables import ActivityStatus, EventStatus, account_state, activities, events

HISTORY = 20_000  # delivered rows, enough that a full scan is never the cheap plan
LOOKUP = {
    "lead_field": "EmailAddress",
    "value": "a@b.c",
    "opportunity_type": 1,
    "method": "opportunities",
    "cache_seconds": 0,
    "wait_seconds": 60,
}


def seed(engine: sa.Engine, now: float) -> None:
    """Store a history of finished events and rows, a little due work of every kind, and a paused account."""
    event = Inbox(engine).insert("razorpay", "evt_plans", None, b"{}", now)

    def row(number: int, status: ActivityStatus, account: str = "main") -> dict[str, Any]:
        waiting = status == ActivityStatus.RESOLVING
        return {
            "event_id": event.event_id,
            "activity_key": f"{status}-{account}-{number}",
            "account": account,
            "opportunity_id": None if waiting else f"opp-{number % 500}",
            "request": {"ActivityEvent": 201},
            "status": status,
            "created_at": now - 100_000 + number,
            "next_attempt_at": now - 100_000 + number,
            "lookup": LOOKUP if waiting else None,
            "lookup_key": f"lead-{number % 50}" if waiting else None,
        }

    rows = [row(n, ActivityStatus.DELIVERED) for n in range(HISTORY)]
    for status in (ActivityStatus.PENDING, ActivityStatus.UNKNOWN, ActivityStatus.RESOLVING):
        rows += [row(n, status) for n in range(200)] + [row(n, status, "paused") for n in range(50)]
    history = [
        {
            "source": "razorpay",
            "idempotency_key": f"evt_done_{number}",
            "body": b"{}",
            "received_at": now - 100_000 + number,
            "status": EventStatus.TRANSFORMED,
        }
        for number in range(HISTORY)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(events), history)
        connection.execute(sa.insert(activities), rows)
        connection.execute(sa.insert(account_state).values(account="paused", paused=True))


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh, migrated store."""
    opened = make_engine(database_url)
    yield opened
    opened.dispose()


def sent_statements(engine: sa.Engine, now: float) -> list[tuple[str, Any]]:
    """Run every claim and sweep once; return the statements they sent that read the queues."""
    sent: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", catch)
    try:
        assert outbox.claim_unknown(engine, "w", now, 30, ["paused", "main", "other"]) is not None
        assert outbox.claim_batch(engine, "w", now, 30, ["paused", "main", "other"]) is not None
        assert lookups.claim_lookup(engine, "w", now, 30, ["paused", "main"]) is not None
        claims.release_expired(engine, now)
        with engine.begin() as connection:
            received_events(connection, 100)
    finally:
        sa.event.remove(engine, "before_cursor_execute", catch)
    return [(s, p) for s, p in sent if "activities" in s or "events" in s]


def plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    """Return the database's plan for a statement with these values, one line per step."""
    explain = "EXPLAIN QUERY PLAN " if is_sqlite(engine) else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        connection.rollback()
    return "\n".join(str(row[-1] if is_sqlite(engine) else row[0]) for row in rows)


@pytest.mark.parametrize("statistics", ["none", "analyzed"])
def test_every_claim_query_reads_an_index_in_order(engine: sa.Engine, statistics: str) -> None:
    """No claim or sweep scans a queue table or sorts it, whether or not the planner has statistics."""
    now = time.time()
    seed(engine, now)
    if statistics == "analyzed":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    statements = sent_statements(engine, now)
    assert len(statements) >= 10
    for statement, parameters in statements:
        steps = plan(engine, statement, parameters)
        assert "Seq Scan on activities" not in steps and "Seq Scan on events" not in steps, steps
        assert "SCAN activities" not in steps and "SCAN events" not in steps, steps
        assert "TEMP B-TREE" not in steps, steps
        # PostgreSQL with no statistics guesses a handful of received events and
        # sorts them after a bitmap scan; it walks the index in order once it has them.
        if statistics == "analyzed" or "FROM activities" in statement:
            assert "Sort" not in steps, steps
        assert "ix_activities_" in steps or "ix_events_" in steps or "PRIMARY KEY" in steps or "pkey" in steps


def test_the_head_query_starts_at_its_index(engine: sa.Engine) -> None:
    """The query for a batch's first row reads ix_activities_due by status, account and due time."""
    now = time.time()
    seed(engine, now)
    sent = sent_statements(engine, now)
    heads = [(s, p) for s, p in sent if "LIMIT" in s.upper() and "next_attempt_at," in s]
    assert heads
    for statement, parameters in heads:
        steps = plan(engine, statement, parameters)
        if is_sqlite(engine):
            assert "USING INDEX ix_activities_due (status=? AND account=? AND next_attempt_at<?)" in steps
        else:
            assert "Index Scan using ix_activities_due on activities" in steps, steps


def test_a_paused_or_busy_account_never_holds_back_another(engine: sa.Engine) -> None:
    """The oldest due opportunity of the given, unpaused accounts is claimed, whatever is older elsewhere."""
    now = time.time()
    seed(engine, now)
    with engine.begin() as connection:
        connection.execute(
            sa.update(activities)
            .where(activities.c.account == "main", activities.c.activity_key == "pending-main-7")
            .values(account="second", next_attempt_at=now - 200_000)
        )
    first = outbox.claim_batch(engine, "w", now, 30, ["paused", "main", "second"])
    assert first is not None and (first.account, len(first.items)) == ("second", 1)
    nxt = outbox.claim_batch(engine, "w", now, 30, ["paused", "main", "second"])
    assert nxt is not None and (nxt.account, nxt.opportunity_id) == ("main", "opp-0")
    assert outbox.claim_batch(engine, "w", now, 30, ["paused"]) is None


# The server's activity counters (last_analyze) are not copied with a template database.
@pytest.mark.migrated_here
def test_migrating_gathers_statistics_and_the_worker_only_after_big_changes(engine: sa.Engine) -> None:
    """PostgreSQL's tables are analyzed at migration and again once a tenth changed; SQLite keeps none."""
    if is_sqlite(engine):
        assert analyze_all(engine) == [] and analyze_changed(engine) == []
        with engine.connect() as connection:
            assert not sa.inspect(connection).has_table("sqlite_stat1")
        return
    with engine.connect() as connection:
        analyzed = connection.execute(
            sa.text("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        ).scalar_one()
    assert analyzed >= 5  # every table of the store, by the fixture's migration
    seed(engine, time.time())
    assert "activities" in wait_for_changed(engine)
    assert analyze_changed(engine) == []


def wait_for_changed(engine: sa.Engine) -> list[str]:
    """Return what analyze_changed analyzed once the server's counters show the seeded rows.

    A server process reports its counts within about a second of going idle.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        analyzed = analyze_changed(engine)
        if analyzed:
            return analyzed
        time.sleep(0.2)
    return []
