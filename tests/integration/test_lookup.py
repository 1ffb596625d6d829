"""Opportunity look-ups: the worker finds the opportunity in the sandbox over HTTP, then delivers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.cli.workbench import dry_run
from bridge.config.load import configured_kinds, load_settings
from bridge.leadsquared.activity import Activity, LeadLookup
from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox
from bridge.services import Services
from bridge.store import claims, lookups, outbox, transitions
from bridge.store.engine import make_engine
from bridge.store.inbox import Inbox
from bridge.store.tables import account_state, opportunity_cache
from tests.conftest import TEST_CONFIG, make_services, write_config
from tests.support import (
    activity_rows,
    add_fault,
    body_of,
    count,
    event_rows,
    payment_event,
    razorpay_headers,
    run_worker_until,
    sandbox_received,
    settled,
)
from transforms import REGISTRY

PATH_LINE = 'opportunity_id_path = "payload.payment.entity.notes.opportunity_id"'
BY_FIELD = "GetOpportunitiesByUniqueLeadField"
BULK = "ByOpportunityId"
EMAIL = "ravi.kumar@example.com"
PHONE = "+919800000001"


def lookup_config(**options: Any) -> str:
    """Return the test configuration with the Razorpay source finding opportunities by a look-up."""
    settings: dict[str, Any] = {
        "lead_field": '"EmailAddress"',
        "path": '"payload.payment.entity.email"',
        "opportunity_type": 12002,
        "wait_seconds": 30,
    }
    settings.update({k: f'"{v}"' if isinstance(v, str) else v for k, v in options.items()})
    table = ", ".join(f"{key} = {value}" for key, value in settings.items())
    return TEST_CONFIG.replace(PATH_LINE, f"opportunity_lookup = {{ {table} }}")


def lookup_services(tmp_path: Path, database_url: str, sandbox: SandboxServer, **options: Any) -> Services:
    """Open the bridge's services with a look-up configured."""
    return make_services(tmp_path, database_url, sandbox, lookup_config(**options))


def seed_lead(sandbox_url: str, **lead: Any) -> None:
    """Create a lead with its opportunities in the sandbox."""
    answer = requests.post(f"{sandbox_url}/sandbox/leads", json=lead, timeout=10)
    assert answer.status_code == 201, answer.text


def accept(client: FlaskClient, payment_id: str, email: str | None = EMAIL, phone: str = PHONE) -> None:
    """Post one signed payment.captured for a customer, with no opportunity id in it."""
    event = payment_event(payment_id, None)
    event["payload"]["payment"]["entity"].update(email=email, contact=phone)
    body = body_of(event)
    answer = client.post("/webhooks/razorpay", data=body, headers=razorpay_headers(body, f"evt_{payment_id}"))
    assert answer.status_code == 202, answer.json


def calls(sandbox_url: str) -> list[tuple[str, int]]:
    """Return each LeadSquared call the sandbox received as (operation, status)."""
    return [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in sandbox_received(sandbox_url)["calls"]]


def test_a_known_lead_is_delivered_to_its_newest_opportunity_of_the_type(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """One GetOpportunitiesByUniqueLeadField call finds the newest 12002 opportunity; the row goes there."""
    seed_lead(
        sandbox.url,
        email="Ravi.Kumar@Example.com",
        opportunities=[
            {"id": "opp-old", "type": 12002, "created_on": "2025-01-01 10:00:00"},
            {"id": "opp-new", "type": 12002, "created_on": "2025-06-01 10:00:00"},
            {"id": "opp-other-type", "type": 12000, "created_on": "2025-12-01 10:00:00"},
        ],
    )
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_1")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id, row.attempts) == ("delivered", "opp-new", 0)
    [activity] = sandbox_received(sandbox.url)["activities"]
    assert activity["opportunity_id"] == "opp-new"


@pytest.mark.parametrize(
    ("lead_field", "path", "lead_call"),
    [
        ("EmailAddress", "payload.payment.entity.email", "Leads.GetByEmailaddress"),
        ("Phone", "payload.payment.entity.contact", "RetrieveLeadByPhoneNumber"),
    ],
)
def test_the_two_step_method_finds_the_lead_then_its_opportunity(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, lead_field: str, path: str, lead_call: str
) -> None:
    """lead_then_opportunities makes a lead call and a GetOpportunitiesOfLead call, then delivers."""
    seed_lead(sandbox.url, email=EMAIL, phone=PHONE, opportunities=[{"id": "opp-2", "type": 12002}])
    seed_lead(sandbox.url, email="other@example.com", opportunities=[{"id": "opp-x", "type": 12002}])
    services = lookup_services(
        tmp_path, database_url, sandbox, method="lead_then_opportunities", lead_field=lead_field, path=path
    )
    accept(create_app(services).test_client(), "pay_2")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(lead_call, 200), ("GetOpportunitiesOfLead", 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-2")


def test_a_lead_created_after_the_first_lookup_is_found_by_a_later_one(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """The payment arrives before the lead: the activity waits, the lead appears, then it is delivered."""
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_3")
    seeded: list[bool] = []

    def lead_appears_then_settles() -> bool:
        if not seeded:
            if calls(sandbox.url):
                [row] = activity_rows(services)
                assert row.status in ("resolving", "looking_up")
                seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-late", "type": 12002}])
                seeded.append(True)
            return False
        return settled(services)()

    run_worker_until(services, lead_appears_then_settles)
    made = calls(sandbox.url)
    assert made[-1] == (BULK, 200)
    assert len(made) >= 3 and set(made[:-1]) == {(BY_FIELD, 200)}
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-late")


def test_a_lead_never_created_is_unresolved_after_the_wait(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """After wait_seconds without a lead the activity is unresolved, its reason naming the masked email."""
    caplog.set_level("INFO")
    services = lookup_services(tmp_path, database_url, sandbox, wait_seconds=0.5)
    accept(create_app(services).test_client(), "pay_4")
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    assert row.status == "unresolved"
    assert row.opportunity_id is None
    assert "not found within 0.5 s" in row.last_error
    assert "EmailAddress r***@example.com (opportunity type 12002" in row.last_error
    made = calls(sandbox.url)
    assert len(made) >= 2 and set(made) == {(BY_FIELD, 200)}
    assert EMAIL not in row.last_error and EMAIL not in caplog.text


def test_a_cached_opportunity_saves_the_second_lookup(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A second payment of the same customer reuses the cached opportunity: no second look-up call."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-c", "type": 12002}])
    services = lookup_services(tmp_path, database_url, sandbox)
    client = create_app(services).test_client()
    accept(client, "pay_5a")
    run_worker_until(services, settled(services))
    accept(client, "pay_5b", email="RAVI.KUMAR@example.com")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 200), (BULK, 200), (BULK, 200)]
    assert [(r.status, r.opportunity_id) for r in activity_rows(services)] == [("delivered", "opp-c")] * 2
    assert count(services, opportunity_cache, lookup_value=EMAIL) == 1


def test_one_lookup_serves_every_activity_waiting_on_the_same_lead(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Three payments of one customer, with no cache: one look-up, then one bulk call of three rows."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-g", "type": 12002}])
    services = lookup_services(tmp_path, database_url, sandbox, cache_seconds=0)
    client = create_app(services).test_client()
    for number in range(3):
        accept(client, f"pay_6{number}")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 200), (BULK, 200)]
    assert [c["rows"] for c in sandbox_received(sandbox.url)["calls"]] == [0, 3]
    assert {r.status for r in activity_rows(services)} == {"delivered"}
    assert count(services, opportunity_cache) == 0


def test_a_payment_without_the_looked_up_value_fails_with_the_reason(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """No email at the configured path: the event fails naming the path, and nothing is called."""
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_7", email=None)
    run_worker_until(services, settled(services))
    [event] = event_rows(services)
    assert event.status == "failed"
    assert "no lead to look up: the payload has nothing at payload.payment.entity.email" in event.reason
    assert activity_rows(services) == []
    assert calls(sandbox.url) == []


def test_a_server_error_on_the_lookup_is_retried(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """Two 503s on the look-up are retried; the delivery then starts with its attempts untouched."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-r", "type": 12002}])
    add_fault(sandbox.url, path=BY_FIELD, status=503, times=2, body={"Message": "Service Unavailable"})
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_8")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 503), (BY_FIELD, 503), (BY_FIELD, 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id, row.attempts) == ("delivered", "opp-r", 0)


def test_an_internal_error_on_the_lookup_is_retried_not_dead(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A 500 MXUnknownException on a look-up is LeadSquared's trouble: searched again, then delivered."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-u", "type": 12002}])
    body = {
        "Status": "Error",
        "ExceptionType": "MXUnknownException",
        "ExceptionMessage": "An internal error occurred",
    }
    add_fault(sandbox.url, path=BY_FIELD, status=500, times=1, body=body)
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_u")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 500), (BY_FIELD, 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-u")


def test_a_lookup_that_keeps_failing_is_dead_after_the_delivery_attempts(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A 500 that never clears dead-letters the activity after max_attempts (3 here), with the reason."""
    add_fault(sandbox.url, path=BY_FIELD, status=500, times=10, body={"Message": "Internal error"})
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_9")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 500)] * 3
    [row] = activity_rows(services)
    assert row.status == "dead"
    assert "gave up after 3 attempts" in row.last_error and "r***@example.com" in row.last_error


def test_unauthorized_on_a_lookup_pauses_the_account(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A 401 on the look-up pauses the account as for deliveries; after a good probe it goes on."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-u", "type": 12002}])
    add_fault(sandbox.url, path=BY_FIELD, status=401)
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_10")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [
        (BY_FIELD, 401),
        ("UserByAccessKey.Get", 200),
        (BY_FIELD, 200),
        (BULK, 200),
    ]
    [row] = activity_rows(services)
    assert (row.status, row.attempts) == ("delivered", 0)
    with services.engine.connect() as connection:
        assert connection.execute(sa.select(account_state.c.paused)).scalar_one() is False


def test_a_rate_limited_lookup_waits_and_lowers_the_limit(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A 429 naming a lower limit on the look-up blocks the account and lowers its rate, as for deliveries."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-l", "type": 12002}])
    body = {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": "API calls exceeded the limit of 10 in 1 second(s)",
    }
    add_fault(sandbox.url, path=BY_FIELD, status=429, body=body)
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_11")
    run_worker_until(services, settled(services))
    assert calls(sandbox.url) == [(BY_FIELD, 429), (BY_FIELD, 200), (BULK, 200)]
    [row] = activity_rows(services)
    assert (row.status, row.attempts) == ("delivered", 0)
    with services.engine.connect() as connection:
        assert connection.execute(sa.select(account_state.c.calls_per_window)).scalar_one() == 10


@pytest.mark.alone
def test_lookups_count_against_the_account_rate_limit(tmp_path: Path, database_url: str) -> None:
    """Three two-step look-ups and their deliveries against a 2-per-second sandbox: no window over 2."""
    with start_sandbox(SandboxSettings(calls_per_window=2, window_seconds=1.0)) as strict:
        # The margin is the budget between a call's slot and its arrival, as in test_delivery's
        # strict-window test: with 0.15 s a full-suite run on two busy cores once saw a call
        # arrive late enough to share a window with two others (a 429, 2026-12-07).
        config = (
            lookup_config(method="lead_then_opportunities")
            .replace("calls_per_window = 25", "calls_per_window = 2")
            .replace("window_seconds = 5", "window_seconds = 1")
            .replace("window_margin_seconds = 0.05", "window_margin_seconds = 0.3")
        )
        services = make_services(tmp_path, database_url, strict, config)
        client = create_app(services).test_client()
        for number in range(3):
            email = f"lead{number}@example.com"
            seed_lead(strict.url, email=email, opportunities=[{"id": f"opp-{number}", "type": 12002}])
            accept(client, f"pay_12{number}", email=email)
        run_worker_until(services, settled(services), timeout=30)
        received = sandbox_received(strict.url)["calls"]
    assert [c["status"] for c in received] == [200] * 9, received
    arrivals = [c["at"] for c in received]
    for index in range(len(arrivals) - 2):
        assert arrivals[index + 2] - arrivals[index] >= 1.0
    assert [(r.status, r.opportunity_id) for r in activity_rows(services)] == [
        ("delivered", f"opp-{number}") for number in range(3)
    ]


def test_an_expired_lookup_claim_is_taken_back(database_url: str) -> None:
    """A worker that died mid look-up leaves its claim; after the lease the rows wait for a look-up again."""
    engine = make_engine(database_url)
    now = time.time()
    event = Inbox(engine).insert("razorpay", "evt_lease", None, b"{}", now)
    lookup = LeadLookup("EmailAddress", EMAIL, 12002, "unique_field", 900, 60)
    row = {"ActivityEvent": 201, "ActivityOwnerEmail": "a@b.c", "Fields": []}
    with engine.begin() as connection:
        outbox.insert_activities(connection, event.event_id, [Activity("k1", "main", None, row, lookup)], now)
    held = lookups.claim_lookup(engine, "w1", now, 5, ["main"])
    assert held is not None and held.lookup == lookup
    assert lookups.claim_lookup(engine, "w2", now, 5, ["main"]) is None
    assert claims.release_expired(engine, now + 6) == (1, 0)
    again = lookups.claim_lookup(engine, "w2", now + 6, 5, ["main"])
    assert again is not None and [i.id for i in again.items] == [i.id for i in held.items]
    # The first worker's late answer no longer applies to rows it lost.
    assert transitions.mark_resolved(engine, held, "opp-late", now + 7) == 0
    engine.dispose()


def test_the_dry_run_says_what_it_would_look_up_with_the_email_masked(tmp_path: Path) -> None:
    """python -m bridge transform shows the look-up in place of the opportunity id, never the full email."""
    settings = load_settings(
        write_config(tmp_path, lookup_config()), {"RAZORPAY_WEBHOOK_SECRET": "s"}, REGISTRY
    )
    event = payment_event("pay_13", None)
    event["payload"]["payment"]["entity"]["email"] = EMAIL
    [call] = dry_run(settings, configured_kinds(settings, REGISTRY), "razorpay", body_of(event))
    searched = "EmailAddress r***@example.com (opportunity type 12002, unique_field)"
    assert call.url.endswith(f"opportunityId=<looked up by {searched}>")
    assert EMAIL not in call.url


def test_a_lookup_value_longer_than_any_column_is_searched_and_cached(
    tmp_path: Path, database_url: str, sandbox: SandboxServer
) -> None:
    """A 292-character value (a custom unique field, say) is looked up, cached and delivered."""
    long_email = "r" * 280 + "@example.com"
    seed_lead(sandbox.url, email=long_email, opportunities=[{"id": "opp-long", "type": 12002}])
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_long", email=long_email)
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    assert (row.status, row.opportunity_id) == ("delivered", "opp-long")
    assert count(services, opportunity_cache) == 1


def test_a_lookup_that_raises_counts_attempts_and_is_dead_lettered(
    tmp_path: Path, database_url: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that raises during a look-up is retried as a failed attempt, then dead, never looped forever."""
    seed_lead(sandbox.url, email=EMAIL, opportunities=[{"id": "opp-1", "type": 12002}])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a bug in the cache")

    monkeypatch.setattr(lookups, "cache_opportunity", broken)
    services = lookup_services(tmp_path, database_url, sandbox)
    accept(create_app(services).test_client(), "pay_bug")
    run_worker_until(services, settled(services))
    [row] = activity_rows(services)
    assert row.status == "dead" and row.attempts == 3  # TEST_CONFIG's max_attempts
    assert "the look-up raised ValueError" in row.last_error
    assert [name for name, _ in calls(sandbox.url)] == [BY_FIELD] * 3
