"""Fill a migrated store with what a year-old bridge holds, for the console's benchmark.

A million events over 30 days and six sources, most transformed, some ignored
(three unmapped types) or failed (two reasons); a million activities (some
events have two), nearly all delivered, with dead, unknown, unresolved and
pending ones among them; a call history of one call per ten activities and a
row per activity in it; redeliveries and refusal counts. Rows are made by the
database itself (INSERT ... SELECT over a generated series): seconds, not hours.
"""

from __future__ import annotations

import sqlalchemy as sa

from bench.backlog_seed import series

ACCOUNT = "main"
NOW = 1_800_000_000.0
SPAN = 30 * 86400.0
SOURCES = ("razorpay", "stripe", "cashfree", "digio", "onfido", "setu")
BODY = (
    b'{"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_X", "email": '
    b'"lead@example.com", "contact": "+919800000001", "notes": {"opportunity_id": "opp-1"}}}}}'
)
REQUEST = (
    '{"ActivityEvent": 201, "ActivityNote": "bench", "Fields": [{"SchemaName": "mx_Custom_1", "Value": "x"}]}'
)
HEADERS = '{"Content-Type": "application/json", "X-Razorpay-Signature": "[masked]"}'


def _case(number: str, shares: list[tuple[int, str]], default: str) -> str:
    """Return a SQL CASE picking a value by number % 1000, shares as (per mille upper bound, value)."""
    arms = " ".join(f"WHEN {number} % 1000 < {bound} THEN '{value}'" for bound, value in shares)
    return f"CASE {arms} ELSE '{default}' END"


def seed_events(bind: sa.Connection, count: int, now: float = NOW) -> None:
    """Insert count events spread over SPAN before now, over SOURCES, with their statuses and reasons."""
    status = _case("n", [(50, "ignored"), (80, "failed")], "transformed")
    event_type = _case(
        "n",
        [(20, "pan.verification.completed"), (40, "refund.created"), (50, "order.paid")],
        "payment.captured",
    )
    reason = (
        "CASE WHEN n % 1000 < 50 THEN 'no mapping for event type ''' || "
        f"({event_type}) || '''' WHEN n % 1000 < 65 THEN 'no opportunity id: the payload has nothing at "
        "payload.payment.entity.notes.opportunity_id' WHEN n % 1000 < 80 THEN 'mx_Custom_2 (amount): "
        "not a number' END"
    )
    source = "CASE n % 6 " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(SOURCES)) + " END"
    bind.execute(
        sa.text(
            "INSERT INTO events (source, idempotency_key, event_type, body, received_at, status, reason, "
            "headers) "
            f"SELECT {source}, 'evt_' || n, {event_type}, :body, {now - SPAN} + n * {SPAN / count}, "
            f"{status}, {reason}, :headers FROM {series(bind, count)} AS g"
        ),
        {"body": BODY, "headers": HEADERS},
    )


def seed_activities(bind: sa.Connection, count: int, opportunities: int) -> None:
    """Insert count activities: one for each transformed event, then a second for the oldest ones."""
    first = bind.execute(sa.text("SELECT count(*) FROM events WHERE status = 'transformed'")).scalar_one()
    _add_activities(bind, 0, min(first, count), opportunities)
    if count > first:
        _add_activities(bind, 1, count - first, opportunities)


def _add_activities(bind: sa.Connection, position: int, count: int, opportunities: int) -> None:
    """Give the oldest count transformed events an activity at this position, statuses mixed."""
    # e.id % 997, not % 1000: the events' own statuses were drawn from id % 1000.
    status = _case(
        "(e.id % 997)", [(10, "dead"), (15, "unknown"), (20, "unresolved"), (30, "pending")], "delivered"
    )
    error = (
        "CASE WHEN (e.id % 997) < 10 THEN 'LeadSquared did not create the activity: Invalid dropdown value' "
        "WHEN (e.id % 997) < 15 THEN 'LeadSquared did not answer within 30 s' "
        "WHEN (e.id % 997) < 20 THEN 'no lead with that EmailAddress' END"
    )
    delivered = f"({status}) = 'delivered'"
    bind.execute(
        sa.text(
            "INSERT INTO activities (event_id, activity_key, account, opportunity_id, request, status, "
            "attempts, created_at, next_attempt_at, prospect_activity_id, delivered_at, last_error) "
            "SELECT e.id, e.source || :colon || e.idempotency_key || :suffix, :account, "
            f"'opp-' || (e.id % {opportunities}), :request, {status}, 1, e.received_at, e.received_at, "
            f"CASE WHEN {delivered} THEN 'pa-{position}-' || e.id END, "
            f"CASE WHEN {delivered} THEN e.received_at + 2 END, {error} "
            "FROM (SELECT id, source, idempotency_key, received_at FROM events "
            "WHERE status = 'transformed' ORDER BY id LIMIT :limit) AS e"
        ),
        {"account": ACCOUNT, "request": REQUEST, "limit": count, "colon": ":", "suffix": f":{position}"},
    )


def seed_calls(bind: sa.Connection, per_call: int) -> None:
    """Insert one delivery call per per_call activities (in id order) and a row per activity in it."""
    bind.execute(
        sa.text(
            "INSERT INTO lsq_calls (id, account, kind, opportunity_id, started_at, duration_seconds, "
            "waited_seconds, http_status, outcome, reaction, rows) "
            f"SELECT (id - 1) / {per_call} + 1, account, 'delivery', opportunity_id, created_at + 1, "
            f"0.42, 0.1, 200, 'posted', 'settle', {per_call} FROM activities WHERE (id - 1) % {per_call} = 0"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO lsq_call_activities (call_id, activity_id, result) "
            f"SELECT (id - 1) / {per_call} + 1, id, prospect_activity_id FROM activities"
        )
    )
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval('lsq_calls_id_seq', (SELECT max(id) FROM lsq_calls))"))


def seed_duplicates(bind: sa.Connection, every: int) -> None:
    """Record a redelivery of every every-th event, a minute after it came."""
    bind.execute(
        sa.text(
            "INSERT INTO event_duplicates (event_id, source, received_at) "
            f"SELECT id, source, received_at + 60 FROM events WHERE id % {every} = 0"
        )
    )


def seed_refusals(bind: sa.Connection, now: float = NOW) -> None:
    """Count a few forged signatures per source in every hour of the span."""
    hours = int(SPAN // 3600)
    for source in SOURCES:
        bind.execute(
            sa.text(
                "INSERT INTO intake_refusals (source, minute, error, count) "
                f"SELECT :source, {now - SPAN} + n * 3600, 'bad_signature', 1 + n % 3 "
                f"FROM {series(bind, hours)} AS g"
            ),
            {"source": source},
        )


def seed_console(engine: sa.Engine, events: int, activities: int, now: float = NOW) -> None:
    """Fill the store: events, activities, call history, redeliveries and refusals, the newest at now.

    The console reads the last 24 hours and ages (since=1d) from the clock: a
    benchmark of its pages passes time.time(), or they would count no traffic.
    """
    with engine.begin() as bind:
        seed_events(bind, events, now)
        seed_activities(bind, activities, max(1, activities // 10))
        seed_calls(bind, 10)
        seed_duplicates(bind, 20)
        seed_refusals(bind, now)
