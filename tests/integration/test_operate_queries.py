"""The operator's lists, counts and event pages on a real store, from webhooks the receiver took."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.operate.filters import (
    ActivityFilter,
    EventFilter,
    parse_activity_filter,
    parse_event_filter,
)
from bridge.operate.queries import (
    count_activities,
    count_events,
    event_detail,
    list_activities,
    list_events,
)
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.sources.headers import MASKED
from bridge.store.tables import activities, events
from tests.support import (
    activity_rows,
    add_fault,
    body_of,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    settled,
)

URL = "/webhooks/razorpay"
SOURCES = ["razorpay", "stripe"]


def post(client: FlaskClient, event_id: str, opportunity_id: str | None, **options: Any) -> None:
    """Post one signed Razorpay payment event through the receiver."""
    body = body_of(payment_event(f"pay_{event_id}", opportunity_id, **options))
    answer = client.post(URL, data=body, headers=razorpay_headers(body, event_id))
    assert answer.status_code in (200, 202), answer.text


def insert_event(services: Services, key: str, received_at: float, **columns: Any) -> int:
    """Store an event directly, as the receiver would have; return its id."""
    row = {
        "source": "razorpay",
        "idempotency_key": key,
        "event_type": "payment.captured",
        "body": b"{}",
        "received_at": received_at,
        "status": "transformed",
        **columns,
    }
    with services.engine.begin() as connection:
        return int(connection.execute(sa.insert(events).values(**row).returning(events.c.id)).scalar_one())


@pytest.fixture
def mixed(client: FlaskClient, services: Services) -> dict[str, int]:
    """Five webhooks, settled: two payments captured, one failed, an unmapped type, one without opportunity.

    Returns each one's event id by its key; a sixth event, from another source, is stored directly.
    """
    post(client, "evt_A", "opp-a")
    post(client, "evt_B", "opp-b", event="payment.failed")
    post(client, "evt_C", "opp-a", method="card")
    post(client, "evt_D", "opp-d", event="refund.created")
    post(client, "evt_E", None)
    run_worker_until(services, settled(services))
    insert_event(services, "evt_S", time.time(), source="stripe", event_type="charge.succeeded")
    return {row.idempotency_key: row.id for row in event_rows(services)}


def keys_of(services: Services, wanted: EventFilter) -> list[str]:
    """Return the keys of every event the filter lists, newest first, and check the count agrees."""
    page = list_events(services.engine, wanted, SOURCES, limit=50)
    assert page.next_after is None
    assert count_events(services.engine, wanted, SOURCES) == len(page.items)
    return [event.idempotency_key for event in page.items]


def test_each_event_filter_narrows_the_list_and_its_count(services: Services, mixed: dict[str, int]) -> None:
    """Source, type, status, times, opportunity, key, text and exact reason each list just their events."""
    received = {row.idempotency_key: row.received_at for row in event_rows(services)}
    assert keys_of(services, EventFilter()) == ["evt_S", "evt_E", "evt_D", "evt_C", "evt_B", "evt_A"]
    assert keys_of(services, EventFilter(source="stripe")) == ["evt_S"]
    assert keys_of(services, EventFilter(event_type="payment.failed")) == ["evt_B"]
    assert keys_of(services, parse_event_filter({"status": "ignored"}, time.time())) == ["evt_D"]
    assert keys_of(services, parse_event_filter({"status": "failed"}, time.time())) == ["evt_E"]
    between = EventFilter(since=received["evt_B"], until=received["evt_D"])
    assert keys_of(services, between) == ["evt_C", "evt_B"]
    assert keys_of(services, EventFilter(opportunity_id="opp-a")) == ["evt_C", "evt_A"]
    assert keys_of(services, EventFilter(key="evt_C")) == ["evt_C"]
    assert keys_of(services, EventFilter(source="stripe", key="evt_C")) == []
    assert keys_of(services, EventFilter(text="refund.created")) == ["evt_D"]
    assert keys_of(services, EventFilter(text="no opportunity id")) == ["evt_E"]
    assert keys_of(services, EventFilter(reason="no mapping for event type 'refund.created'")) == ["evt_D"]
    assert keys_of(services, EventFilter(reason="no mapping for event type")) == []


def test_a_list_row_counts_its_own_activities_and_repeats(
    client: FlaskClient, services: Services, mixed: dict[str, int]
) -> None:
    """Each event in a page says how many activities it became and how often it was sent again."""
    post(client, "evt_A", "opp-a")
    post(client, "evt_A", "opp-a")
    shown = {e.idempotency_key: e for e in list_events(services.engine, EventFilter(), SOURCES).items}
    assert (shown["evt_A"].activities, shown["evt_A"].duplicates) == (1, 2)
    assert (shown["evt_D"].activities, shown["evt_D"].duplicates) == (0, 0)
    assert shown["evt_D"].reason == "no mapping for event type 'refund.created'"
    assert (shown["evt_D"].status, shown["evt_D"].event_type) == ("ignored", "refund.created")


def test_each_activity_filter_narrows_the_list_and_its_count(
    services: Services, mixed: dict[str, int]
) -> None:
    """Account, status, source, opportunity, event, times and error text each list just their activities."""
    rows = {row.event_id: row for row in activity_rows(services)}
    first, second, third = (rows[mixed[key]] for key in ("evt_A", "evt_B", "evt_C"))
    with services.engine.begin() as connection:
        # One transform made all three at once: spread their creation times to filter by.
        for minutes, row in enumerate((first, second, third)):
            connection.execute(
                sa.update(activities).where(activities.c.id == row.id).values(created_at=1e9 + 60 * minutes)
            )
        connection.execute(
            sa.update(activities)
            .where(activities.c.id == second.id)
            .values(status="dead", last_error="LeadSquared did not create the activity: Invalid value")
        )

    def ids(wanted: ActivityFilter) -> list[int]:
        page = list_activities(services.engine, wanted)
        assert count_activities(services.engine, wanted) == len(page.items)
        return [activity.id for activity in page.items]

    assert ids(ActivityFilter()) == [third.id, second.id, first.id]
    assert ids(ActivityFilter(account="main")) == [third.id, second.id, first.id]
    assert ids(ActivityFilter(account="other")) == []
    assert ids(parse_activity_filter({"status": "dead"}, time.time())) == [second.id]
    assert ids(ActivityFilter(source="razorpay")) == [third.id, second.id, first.id]
    assert ids(ActivityFilter(source="stripe")) == []
    assert ids(ActivityFilter(opportunity_id="opp-a")) == [third.id, first.id]
    assert ids(ActivityFilter(event_id=mixed["evt_B"])) == [second.id]
    assert ids(ActivityFilter(since=1e9 + 60, until=1e9 + 120)) == [second.id]
    assert ids(ActivityFilter(since=1e9 + 60)) == [third.id, second.id]
    assert ids(ActivityFilter(text="Invalid value")) == [second.id]
    assert ids(ActivityFilter(last_error="LeadSquared did not create the activity: Invalid value")) == [
        second.id
    ]
    assert ids(ActivityFilter(last_error="Invalid value")) == []


def test_keyset_pages_neither_overlap_nor_skip_and_end(services: Services) -> None:
    """Seven events in pages of three: 3, 3 and 1, newest first, the last page saying it is the last."""
    now = time.time()
    made = [insert_event(services, f"evt_{n}", now + n) for n in range(7)]
    seen: list[int] = []
    after = None
    sizes = []
    while True:
        page = list_events(services.engine, EventFilter(), SOURCES, after=after, limit=3)
        seen += [event.id for event in page.items]
        sizes.append(len(page.items))
        if page.next_after is None:
            break
        after = page.next_after
    assert sizes == [3, 3, 1]
    assert seen == sorted(made, reverse=True)


def test_a_full_last_page_says_it_is_the_last(services: Services) -> None:
    """Six activities in pages of three: the second page is full and has no page after it."""
    event_id = insert_event(services, "evt_1", time.time())
    with services.engine.begin() as connection:
        connection.execute(
            sa.insert(activities),
            [
                {
                    "event_id": event_id,
                    "activity_key": f"k{n}",
                    "account": "main",
                    "request": {},
                    "status": "pending",
                    "created_at": 0.0,
                    "next_attempt_at": 0.0,
                }
                for n in range(6)
            ],
        )
    first = list_activities(services.engine, ActivityFilter(), limit=3)
    assert first.next_after == first.items[-1].id
    second = list_activities(services.engine, ActivityFilter(), after=first.next_after, limit=3)
    assert len(second.items) == 3 and second.next_after is None
    assert {a.id for a in first.items}.isdisjoint(a.id for a in second.items)


def test_an_event_page_has_its_headers_masked_payload_and_repeats(
    client: FlaskClient, services: Services
) -> None:
    """The signature stays masked, emails and phones in headers and payload are masked, repeats are timed."""
    body = body_of(payment_event("pay_29QQoUBi66xm2f", "opp-p"))
    headers = {**razorpay_headers(body, "evt_P"), "X-Customer": "lead@example.com"}
    assert client.post(URL, data=body, headers=headers).status_code == 202
    before = time.time()
    for _ in range(2):
        assert client.post(URL, data=body, headers=headers).status_code == 200
    run_worker_until(services, settled(services))
    [event] = event_rows(services)
    detail = event_detail(services.engine, event.id)
    assert detail is not None
    shown = {name.lower(): value for name, value in detail.headers.items()}
    assert (shown["x-razorpay-signature"], shown["x-customer"]) == (MASKED, "l***@example.com")
    assert shown["x-razorpay-event-id"] == "evt_P"
    entity = json.loads(detail.payload)["payload"]["payment"]["entity"]
    assert (entity["id"], entity["email"], entity["contact"]) == (
        "pay_29QQoUBi66xm2f",
        "l***@example.com",
        "*********0001",
    )
    assert detail.payload.startswith('{\n  "entity": "event"')
    assert "lead@example.com" not in detail.payload + str(detail.activities)
    assert len(detail.duplicates) == 2 and all(at >= before for at in detail.duplicates)
    assert detail.duplicates == sorted(detail.duplicates)
    assert (detail.summary.activities, detail.summary.duplicates) == (1, 2)
    [activity] = detail.activities
    assert activity.summary.status == "delivered" and activity.summary.prospect_activity_id
    assert activity.request["ActivityEvent"] == 201
    [call] = activity.calls
    assert (call.kind, call.http_status, call.outcome, call.rows) == ("delivery", 200, "posted", 1)
    assert call.result == activity.summary.prospect_activity_id


def test_an_activity_timeline_shows_the_401_the_probe_and_the_refused_row(
    client: FlaskClient, services: Services, sandbox: SandboxServer
) -> None:
    """A 401, the probe that lifted the pause, and the delivery that refused the row, its message masked."""
    add_fault(sandbox.url, path="ByOpportunityId", status=401, times=1)
    add_fault(sandbox.url, path="ByOpportunityId", fail_rows=[1], message="Invalid owner lead@example.com")
    post(client, "evt_R", "opp-r")
    run_worker_until(services, settled(services))
    [event] = event_rows(services)
    detail = event_detail(services.engine, event.id)
    assert detail is not None
    [activity] = detail.activities
    timeline = [(c.kind, c.http_status, c.outcome, c.reaction, c.result) for c in activity.calls]
    assert timeline == [
        ("delivery", 401, "unauthorized", "pause", None),
        ("probe", 200, "found", "settle", None),
        ("delivery", 200, "posted", "settle", "Invalid owner l***@example.com"),
    ]
    assert [c.rows for c in activity.calls] == [1, 0, 1]
    assert activity.summary.status == "dead"
    assert (
        activity.summary.last_error
        == "LeadSquared did not create the activity: Invalid owner l***@example.com"
    )
    assert all(c.duration_seconds >= 0 and c.waited_seconds >= 0 for c in activity.calls)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            b"txnid=T1&email=asha.rao%40example.com&phone=9800000001&amount=14999.00",
            "txnid=T1&email=a***%40example.com&phone=******0001&amount=14999.00",
        ),
        (b'{"note": "caf\xc3\xa9 \xff", "n": 1}', '{\n  "note": "caf\xe9 \ufffd",\n  "n": 1\n}'),
        (b"\xff\xfe not text", "\ufffd\ufffd not text"),
        (b"", ""),
    ],
    ids=["form", "json-bad-byte", "binary", "erased"],
)
def test_a_body_is_shown_as_text_whatever_it_holds(services: Services, body: bytes, shown: str) -> None:
    """A form is its masked text, a bad byte a replacement character, an erased body empty; nothing raises."""
    event_id = insert_event(services, "evt_F", time.time(), body=body)
    detail = event_detail(services.engine, event_id)
    assert detail is not None and detail.payload == shown
    assert (detail.headers, detail.duplicates, detail.activities) == ({}, [], [])


def test_no_such_event_has_no_page(services: Services) -> None:
    """An id no event has gives None."""
    assert event_detail(services.engine, 12345) is None
