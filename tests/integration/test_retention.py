"""Retention on a real store: old payloads erased, keys kept, redeliveries duplicates, in flight untouched."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.config.load import ConfigError
from bridge.leadsquared.activity import LeadLookup
from bridge.operate.retention import DAY_SECONDS, Purger, other_rows_plan, purge_now, purge_plan
from bridge.pipeline.transform import transform_received
from bridge.pipeline.worker import Worker
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.accounts import pause_account
from bridge.store.audit import AuditEntry, write_audit
from bridge.store.jobs import insert_job
from bridge.store.lookups import cache_opportunity
from bridge.store.tables import (
    JobStatus,
    PausedBy,
    activities,
    alert_outbox,
    audit_log,
    event_duplicates,
    events,
    identifier_hashes,
    lsq_call_activities,
    lsq_calls,
    operator_jobs,
    opportunity_cache,
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


def by_phone(phone: str) -> LeadLookup:
    """A phone look-up kept in the cache for 15 minutes."""
    return LeadLookup("Phone", phone, 0, "lead_then_opportunities", cache_seconds=900.0, wait_seconds=0.0)


def queue_alert(services: Services, created_at: float, sent: bool) -> None:
    """Queue one alert made at created_at, sent already or still waiting for the sink."""
    with services.engine.begin() as connection:
        connection.execute(
            sa.insert(alert_outbox).values(
                condition="dead_activities",
                subject="main",
                kind="started",
                body={"text": "dead activities"},
                created_at=created_at,
                next_attempt_at=created_at,
                sent_at=created_at + 1 if sent else None,
            )
        )


def ended_job(services: Services, finished_at: float | None) -> None:
    """Queue an operator job, ended (done) at finished_at, or left queued where that is None."""
    queued_at = finished_at or time.time()
    job = insert_job(services.engine, "replay", {"source": "razorpay"}, "cli:asha", 3, queued_at)
    if finished_at is not None:
        with services.engine.begin() as connection:
            connection.execute(
                sa.update(operator_jobs)
                .where(operator_jobs.c.id == job.id)
                .values(status=JobStatus.DONE, finished_at=finished_at)
            )


def test_expired_lookups_old_alerts_jobs_and_audit_entries_go_and_the_rest_stays(services: Services) -> None:
    """A purge deletes each kind of row besides events that is due, counts it first, and keeps the others.

    An expired cache entry holds a lead's phone in clear and serves nobody; an
    alert still waiting for its sink and a job still queued stay however old.
    """
    now = time.time()
    long_ago = now - 401 * DAY_SECONDS
    # The last look-ups before they stopped: each write drops what expired before it, not after.
    cache_opportunity(services.engine, "main", by_phone("+919812345678"), "opp-new", now)
    cache_opportunity(services.engine, "main", by_phone("+919876543210"), "opp-old", now - 3600)
    queue_alert(services, long_ago, sent=True)
    queue_alert(services, long_ago, sent=False)
    queue_alert(services, now, sent=True)
    ended_job(services, long_ago)
    ended_job(services, None)
    ended_job(services, now)
    for at in (long_ago, long_ago + 1, now):
        write_audit(services.engine, AuditEntry(at=at, actor="console", action="login_failed"))

    due = other_rows_plan(services, now)
    assert (due.lookups, due.alerts, due.jobs, due.audit_entries) == (1, 1, 1, 2)
    done = purge_now(services, clock=lambda: now, pause_seconds=0)
    assert (done.lookups, done.alerts, done.jobs, done.audit_entries) == (1, 1, 1, 2)
    assert done.other_rows == 5 and done.events == 0
    with services.engine.connect() as connection:
        cached = connection.execute(sa.select(opportunity_cache.c.lookup_value)).scalars().all()
        alerts_left = connection.execute(sa.select(alert_outbox.c.created_at, alert_outbox.c.sent_at)).all()
        jobs_left = connection.execute(sa.select(operator_jobs.c.status)).scalars().all()
    assert cached == ["+919812345678"]
    assert sorted((created == now, sent is not None) for created, sent in alerts_left) == [
        (False, False),
        (True, True),
    ]
    assert sorted(jobs_left) == ["done", "queued"]
    assert count(services, audit_log) == 1
    assert other_rows_plan(services, now).rows == 0


def test_the_audit_log_keeps_its_own_days(services: Services) -> None:
    """retain_audit_days, not retain_events_days, says when an audit entry goes."""
    now = time.time()
    write_audit(services.engine, AuditEntry(at=now - 100 * DAY_SECONDS, actor="api", action="replay"))
    settings = services.settings
    shorter = replace(settings, retention=replace(settings.retention, retain_audit_days=90))
    own = Services(shorter, services.engine, services.registry)
    assert other_rows_plan(services, now).audit_entries == 0
    assert other_rows_plan(own, now).audit_entries == 1
    assert purge_now(own, clock=lambda: now, pause_seconds=0).audit_entries == 1
    assert count(services, audit_log) == 0
