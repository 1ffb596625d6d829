"""The console's overview and needs-attention groups on a real store, from webhooks and a real worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.operate.filters import parse_activity_filter, parse_event_filter
from bridge.operate.queries import (
    AttentionGroup,
    Overview,
    accounts_overview,
    list_activities,
    list_events,
    needs_attention,
    overview,
)
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.accounts import pause_account
from bridge.store.limiter import block_for
from bridge.store.tables import (
    MAX_OPERATOR_TEXT,
    PausedBy,
    activities,
    event_duplicates,
    events,
    intake_refusals,
    lsq_calls,
)
from tests.support import (
    add_fault,
    body_of,
    count,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    settled,
)

URL = "/webhooks/razorpay"
HOUR = 3600.0
SOURCES = ["razorpay"]
NO_MAPPING = "no mapping for event type 'refund.created'"


def post(client: FlaskClient, event_id: str, opportunity_id: str | None, **options: Any) -> int:
    """Post one signed Razorpay payment event through the receiver; return the answer's status."""
    body = body_of(payment_event(f"pay_{event_id}", opportunity_id, **options))
    return client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code


def insert(services: Services, table: sa.Table, **row: Any) -> int | None:
    """Insert one row directly; return its id, where its key is one."""
    with services.engine.begin() as connection:
        inserted = connection.execute(sa.insert(table).values(**row)).inserted_primary_key
    key = inserted[0] if inserted is not None else None
    return key if isinstance(key, int) else None


def group_of(groups: list[AttentionGroup], status: str, reason: str) -> AttentionGroup:
    """Return the one group with this status and (masked) reason."""
    [group] = [g for g in groups if (g.status, g.reason) == (status, reason)]
    return group


def test_three_events_of_an_unmapped_type_are_one_group_that_lists_exactly_them(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """Ignored, failed and dead rows group by reason, each group's params listing exactly its rows."""
    add_fault(sandbox.url, path="ByOpportunityId", fail_rows=[1], message="Invalid owner lead@example.com")
    for n in range(3):
        assert post(client, f"evt_U{n}", "opp-u", event="refund.created") == 202
    assert post(client, "evt_O", "opp-u", event="order.paid") == 202
    assert post(client, "evt_N1", None) == 202
    assert post(client, "evt_N2", None) == 202
    assert post(client, "evt_X", "opp-x") == 202
    run_worker_until(services, settled(services))
    groups = needs_attention(services.engine)
    assert sorted((g.subject, g.status, g.count) for g in groups) == [
        ("activity", "dead", 1),
        ("event", "failed", 2),
        ("event", "ignored", 1),
        ("event", "ignored", 3),
    ]
    unmapped = group_of(groups, "ignored", NO_MAPPING)
    assert (unmapped.subject, unmapped.count) == ("event", 3)
    assert unmapped.params == {"status": "ignored", "reason": NO_MAPPING}
    listed = list_events(services.engine, parse_event_filter(unmapped.params, time.time()), SOURCES).items
    assert sorted(e.idempotency_key for e in listed) == ["evt_U0", "evt_U1", "evt_U2"]
    assert unmapped.latest_at == max(e.received_at for e in listed)
    dead = group_of(groups, "dead", "LeadSquared did not create the activity: Invalid owner l***@example.com")
    assert dead.params["last_error"].endswith("l***@example.com")  # stored masked, so linked masked
    [activity] = list_activities(services.engine, parse_activity_filter(dead.params, time.time())).items
    assert activity.status == "dead" and activity.opportunity_id == "opp-x"
    assert [g.latest_at for g in groups] == sorted((g.latest_at for g in groups), reverse=True)
    assert len(needs_attention(services.engine, limit=2)) == 2


def test_stuck_activities_and_long_reasons_still_list_their_rows(services: Services) -> None:
    """Unknown and unresolved rows group by masked error; a long reason is stored cut and matched exactly."""
    now = time.time()
    long_reason = "the stripe transform raised ValueError: " + "x" * 3000
    event_id = insert(
        services, events, source="razorpay", idempotency_key="evt_L", event_type="t", body=b"{}",
        received_at=now - 1, status="failed", reason=long_reason,
    )  # fmt: skip
    for n, (status, error) in enumerate(
        [("unknown", "timed out after 5 s"), ("unresolved", "not found within 1800 s: Phone 9800000001")]
    ):
        insert(
            services, activities, event_id=event_id, activity_key=f"k{n}", account="main", request={},
            status=status, created_at=now + n, next_attempt_at=now, last_error=error,
        )  # fmt: skip
    groups = needs_attention(services.engine)
    assert [(g.subject, g.status) for g in groups] == [
        ("activity", "unresolved"),
        ("activity", "unknown"),
        ("event", "failed"),
    ]
    assert groups[0].reason == "not found within 1800 s: Phone ******0001"
    failed = groups[2]
    assert failed.params == {"status": "failed", "reason": long_reason[:MAX_OPERATOR_TEXT]}
    [listed] = list_events(services.engine, parse_event_filter(failed.params, now), SOURCES).items
    assert listed.id == event_id
    for group in groups[:2]:
        [row] = list_activities(services.engine, parse_activity_filter(group.params, now)).items
        assert row.status == group.status


def test_the_overview_counts_traffic_calls_the_queue_a_pause_a_lowered_limit_and_a_live_worker(
    client: FlaskClient, services: Services
) -> None:
    """A known day of deliveries, the worker's calls and heartbeat, and an operator's pause all add up."""
    started = time.time()
    insert(
        services, events, source="razorpay", idempotency_key="evt_old", event_type="t", body=b"{}",
        received_at=started - 2.5 * HOUR, status="transformed",
    )  # fmt: skip
    insert(services, event_duplicates, event_id=1, source="razorpay", received_at=started - 5 * HOUR)
    insert(services, intake_refusals, source="razorpay", minute=started - 3 * HOUR, error="bad_json", count=4)
    assert [
        post(client, "evt_1", "opp-1"),
        post(client, "evt_2", "opp-2"),
        post(client, "evt_1", "opp-1"),
    ] == [
        202,
        202,
        200,
    ]
    body = body_of(payment_event("pay_F", "opp-f"))
    assert (
        client.post(URL, data=body, headers=razorpay_headers(body, "evt_F", secret="forged")).status_code
        == 401
    )
    seen: list[Overview] = []

    def delivered_and_seen_alive() -> bool:
        seen.append(overview(services.engine, services.settings, time.time()))
        return settled(services)() and any(w.alive for w in seen[-1].workers)

    worker = run_worker_until(services, delivered_and_seen_alive)
    [alive] = [w for w in seen[-1].workers if w.alive]
    assert (alive.worker_id, alive.beat_at >= alive.started_at >= started - 1) == (worker.worker_id, True)

    pause_account(
        services.engine, "main", "paused by an operator for lead@example.com", 60, by=PausedBy.OPERATOR
    )
    block_for(services.engine, "main", 0, lowered_limit=10)
    now = time.time()
    event_id = event_rows(services)[-1].id
    insert(
        services, activities, event_id=event_id, activity_key="due", account="main", request={},
        status="pending", created_at=now - 600, next_attempt_at=now - 120,
    )  # fmt: skip
    shown = overview(services.engine, services.settings, now)

    [account] = shown.accounts
    assert account.name == "main"
    assert {s: n for s, n in account.by_status.items() if n} == {"delivered": 2, "pending": 1}
    assert account.oldest_pending_age is not None and 120 <= account.oldest_pending_age < 121
    assert account.calls_last_5_minutes == count(services, lsq_calls, account="main") == 2
    assert (account.limit_configured, account.limit_in_force, account.window_seconds) == (25, 10, 5.0)
    assert (account.paused, account.paused_by) == (True, "operator")
    assert account.paused_reason == "paused by an operator for l***@example.com"
    assert account.paused_since is not None and started - 1 <= account.paused_since <= now + 1
    [source] = shown.sources
    assert (source.name, source.accepted_hour, source.accepted_day) == ("razorpay", 2, 3)
    assert (source.duplicate_hour, source.duplicate_day, source.refused_hour, source.refused_day) == (
        1,
        2,
        1,
        5,
    )
    assert len(source.hourly) == 24 and source.hourly[-1].start == pytest.approx(now - HOUR)
    counted = [(n, h.accepted, h.duplicate, h.refused) for n, h in enumerate(source.hourly)]
    assert [hour for hour in counted if hour[1:] != (0, 0, 0)] == [
        (18, 0, 1, 0),
        (20, 0, 0, 4),
        (21, 1, 0, 0),
        (23, 2, 1, 1),
    ]
    assert [w.alive for w in shown.workers] == [False]  # stopped cleanly since


def test_an_account_counts_what_it_delivered_in_the_last_day_and_every_unfinished_row(
    services: Services,
) -> None:
    """A delivery two days old is left out of delivered; pending and dead rows count whatever their age."""
    now = time.time()
    event_id = insert(
        services, events, source="razorpay", idempotency_key="evt_D", event_type="t", body=b"{}",
        received_at=now - 3 * 86400, status="transformed",
    )  # fmt: skip
    for number, (status, delivered_at) in enumerate(
        [("delivered", now - 2 * 86400), ("delivered", now - 60), ("pending", None), ("dead", None)]
    ):
        insert(
            services, activities, event_id=event_id, activity_key=f"d{number}", account="main", request={},
            status=status, created_at=now - 3 * 86400, next_attempt_at=now, delivered_at=delivered_at,
        )  # fmt: skip
    [account] = accounts_overview(services.engine, services.settings, now)
    assert {s: n for s, n in account.by_status.items() if n} == {"delivered": 1, "pending": 1, "dead": 1}
