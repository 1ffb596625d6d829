"""Retention on a real store: old payloads erased, keys kept, redeliveries duplicates, in flight untouched."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.config.load import ConfigError
from bridge.operate.retention import DAY_SECONDS, Purger, purge_now, purge_plan
from bridge.pipeline.transform import transform_received
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.accounts import pause_account
from bridge.store.tables import (
    PausedBy,
    activities,
    event_duplicates,
    events,
    identifier_hashes,
    lsq_call_activities,
    lsq_calls,
)
from tests.conftest import make_services
from tests.support import body_of, count, payment_event, razorpay_headers, run_worker_until, settled

URL = "/webhooks/razorpay"


def post(client: FlaskClient, payment_id: str, event_id: str) -> int:
    """Post one signed payment through the webhook endpoint; return its HTTP status."""
    body = body_of(payment_event(payment_id, f"opp-{payment_id}"))
    return client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code


def event_of(services: Services, key: str) -> sa.Row[tuple[object, ...]]:
    """Return the events row of an idempotency key."""
    with services.engine.connect() as connection:
        row = connection.execute(sa.select(events).where(events.c.idempotency_key == key)).one()
    return row


def delivered_history(client: FlaskClient, services: Services) -> None:
    """Two payments delivered through the sandbox, the first sent twice."""
    assert post(client, "pay_R1", "evt_R1") == 202
    assert post(client, "pay_R1", "evt_R1") == 200
    assert post(client, "pay_R2", "evt_R2") == 202
    run_worker_until(services, settled(services))


def test_old_payloads_are_erased_and_a_redelivery_is_still_a_duplicate(
    client: FlaskClient, services: Services
) -> None:
    """After retain_payload_days body, headers, requests and hashes go; key, status and times stay."""
    delivered_history(client, services)
    before = event_of(services, "evt_R1")
    assert before.body and before.headers and count(services, identifier_hashes) > 0
    assert [plan.payloads for plan in purge_plan(services, time.time() + 31 * DAY_SECONDS)] == [2]
    done = purge_now(services, clock=lambda: time.time() + 31 * DAY_SECONDS, pause_seconds=0)
    assert (done.payloads, done.events) == (2, 0)
    after = event_of(services, "evt_R1")
    assert after.body == b"" and after.headers is None and after.payload_erasure == "retention"
    kept = ("id", "source", "idempotency_key", "event_type", "status", "received_at")
    assert [getattr(after, name) for name in kept] == [getattr(before, name) for name in kept]
    with services.engine.connect() as connection:
        requests = connection.execute(sa.select(activities.c.request, activities.c.status)).all()
    assert requests == [({}, "delivered"), ({}, "delivered")]
    assert count(services, identifier_hashes) == 0
    assert post(client, "pay_R1", "evt_R1") == 200  # the redelivery of an erased event is a duplicate
    answer = client.post(URL, data=b"{}", headers=razorpay_headers(b"{}", "evt_R2"))
    second = event_of(services, "evt_R2").id
    assert answer.status_code == 200 and answer.json == {"status": "duplicate", "event_id": second}


def test_events_in_flight_keep_their_payload_however_old(client: FlaskClient, services: Services) -> None:
    """A received event and one whose activity waits behind a paused account keep their payload."""
    pause_account(services.engine, "main", "held for the test", 3600.0, PausedBy.OPERATOR)
    assert post(client, "pay_F1", "evt_F1") == 202
    transform_received(services, time.time())  # its activity is pending behind the pause
    assert post(client, "pay_F2", "evt_F2") == 202  # never transformed: received
    with services.engine.begin() as connection:
        connection.execute(sa.update(events).values(received_at=time.time() - 500 * DAY_SECONDS))
    assert purge_plan(services, time.time()) == []
    done = purge_now(services, pause_seconds=0)
    assert done.rows == 0
    assert event_of(services, "evt_F1").body and event_of(services, "evt_F2").body
    assert count(services, activities, status="pending") == 1


def test_old_events_are_deleted_with_their_activities_calls_repeats_and_hashes(
    client: FlaskClient, services: Services
) -> None:
    """After retain_events_days nothing of a finished event is left, and newer events stay whole."""
    delivered_history(client, services)
    assert count(services, lsq_calls) >= 1 and count(services, event_duplicates) == 1
    with services.engine.begin() as connection:
        connection.execute(
            sa.update(events).where(events.c.idempotency_key == "evt_R1").values(received_at=1.0)
        )
        connection.execute(sa.update(lsq_calls).values(started_at=1.0))
    [plan] = purge_plan(services, time.time())
    assert (plan.source, plan.payloads, plan.events) == ("razorpay", 1, 1)
    done = purge_now(services, pause_seconds=0)
    assert (done.payloads, done.events, done.activities) == (1, 1, 1)
    assert count(services, events) == 1 and count(services, activities) == 1
    assert count(services, event_duplicates) == 0
    # The call also carried evt_R2's activity: it stays until that one goes too.
    assert count(services, lsq_call_activities) == 1 and count(services, lsq_calls) >= 1
    later = purge_now(services, clock=lambda: time.time() + 401 * DAY_SECONDS, pause_seconds=0)
    assert later.events == 1
    for table in (events, activities, lsq_call_activities, lsq_calls, event_duplicates, identifier_hashes):
        assert count(services, table) == 0, table.name


def test_a_source_keeps_its_own_days(client: FlaskClient, services: Services) -> None:
    """A source's retain_payload_days overrides [retention]: its payloads are due sooner."""
    delivered_history(client, services)
    settings = services.settings
    source = settings.sources["razorpay"]
    shorter = replace(settings, sources={"razorpay": replace(source, retain_payload_days=2)})
    own = Services(shorter, services.engine, services.registry)
    assert purge_plan(services, time.time() + 3 * DAY_SECONDS) == []
    assert [plan.payloads for plan in purge_plan(own, time.time() + 3 * DAY_SECONDS)] == [2]


def test_the_worker_chore_purges_in_rounds_and_then_looks_again_later(
    client: FlaskClient, services: Services
) -> None:
    """Purger erases what is due within its round, then waits IDLE_SECONDS before the next look."""
    delivered_history(client, services)
    purger = Purger(services, "worker-test", sleep=lambda _: None)
    later = time.time() + 31 * DAY_SECONDS
    assert purger.run_some(later) is True
    assert purger.purged.payloads == 2 and event_of(services, "evt_R2").body == b""
    assert purger.run_some(later + 1) is False  # nothing was left: the next look is minutes away
    assert purger.next_look > later + 60


def test_the_worker_refuses_to_start_without_the_erasure_key(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Events transformed without hashes could never be found by an erasure: the worker names the variable."""
    keyless = make_services(tmp_path, database_url, sandbox, BRIDGE_ERASURE_KEY="")
    with pytest.raises(ConfigError, match="BRIDGE_ERASURE_KEY is not set"):
        Worker(keyless)
    short = make_services(tmp_path, database_url, sandbox, BRIDGE_ERASURE_KEY="too-short")
    with pytest.raises(ConfigError, match="fewer than 16 characters"):
        Worker(short)
