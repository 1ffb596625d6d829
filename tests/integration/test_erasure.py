"""Erasure on request on a real store: found by keyed hashes however an identifier is typed, audited blind."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.operate.actions import Actor, OperateError, replay_event, retry_activity
from bridge.operate.erasure import erase_person
from bridge.operate.retention import purge_now
from bridge.pipeline.transform import transform_received
from bridge.services import Services
from bridge.store.accounts import pause_account, resume_account
from bridge.store.audit import latest_entries
from bridge.store.tables import PausedBy, activities, events, identifier_hashes
from tests.support import body_of, count, payment_event, razorpay_headers, run_worker_until, settled

URL = "/webhooks/razorpay"
ACTOR = Actor("cli:operator")
EMAIL, PHONE, PAN = "Asha.Rao@Example.com", "+91 98765 43210", "ABCDE1234F"


def customer_payment(payment_id: str, email: str, phone: str, pan: str | None = None) -> dict[str, Any]:
    """Return a payment of one customer: their email and phone, and their PAN in the notes when given."""
    event = payment_event(payment_id, f"opp-{payment_id}")
    entity = event["payload"]["payment"]["entity"]
    entity.update(email=email, contact=phone)
    if pan is not None:
        entity["notes"]["pan"] = pan
    return event


def post(client: FlaskClient, event: dict[str, Any], event_id: str) -> int:
    """Post one signed delivery through the webhook endpoint; return its HTTP status."""
    body = body_of(event)
    return client.post(URL, data=body, headers=razorpay_headers(body, event_id)).status_code


def bodies(services: Services) -> dict[str, bytes]:
    """Return each event's body by its idempotency key."""
    with services.engine.connect() as connection:
        rows = connection.execute(sa.select(events.c.idempotency_key, events.c.body)).all()
    return {key: bytes(body) for key, body in rows}


def two_customers(client: FlaskClient, services: Services) -> None:
    """Asha pays twice (her PAN on the second), Ravi once; all delivered."""
    assert post(client, customer_payment("pay_A1", EMAIL, PHONE), "evt_A1") == 202
    assert (
        post(client, customer_payment("pay_A2", "asha.rao@example.com", "09876543210", PAN), "evt_A2") == 202
    )
    assert post(client, customer_payment("pay_B1", "ravi@example.com", "+919812345678"), "evt_B1") == 202
    run_worker_until(services, settled(services))


@pytest.mark.parametrize(
    ("kind", "typed", "erased"),
    [
        ("email", "  ASHA.RAO@example.COM ", {"evt_A1", "evt_A2"}),
        ("phone", "919876543210", {"evt_A1", "evt_A2"}),
        ("phone", "098765-43210", {"evt_A1", "evt_A2"}),
        ("pan", "abcde1234f", {"evt_A2"}),
    ],
)
def test_each_identifier_finds_the_persons_events_however_it_is_written(
    client: FlaskClient, services: Services, kind: str, typed: str, erased: set[str]
) -> None:
    """An email in another case, a phone in another form, a PAN in lower case: only that person's events."""
    two_customers(client, services)
    result = erase_person(services, kind, typed, ACTOR, time.time())
    assert (result.matched, result.changed) == (len(erased), len(erased))
    assert "LeadSquared's copy is untouched" in result.detail
    assert {key for key, body in bodies(services).items() if body == b""} == erased
    assert post(client, customer_payment("pay_A1", EMAIL, PHONE), "evt_A1") == 200  # still a duplicate


def test_the_audit_entry_and_the_answer_hold_no_clear_identifier(
    client: FlaskClient, services: Services
) -> None:
    """The audit names the kind and a hash prefix, the answer the email masked; neither the clear value."""
    two_customers(client, services)
    result = erase_person(services, "email", EMAIL, ACTOR, time.time())
    [entry] = [row for row in latest_entries(services.engine) if row.action == "erase"]
    text = " ".join(str(value) for value in entry)
    assert entry.actor == "cli:operator" and entry.rows == 2 and entry.target.startswith("email hash ")
    for clear in ("asha", "Asha", "example.com", "9876543210", "ABCDE"):
        assert clear not in text
    assert "a***@example.com" in result.detail and "asha.rao" not in result.detail.lower()


def test_erased_events_lose_activity_requests_and_hashes_and_cannot_be_replayed_or_retried(
    client: FlaskClient, services: Services
) -> None:
    """Finished activities' requests are emptied, hashes forgotten; replay and retry refuse with 409."""
    two_customers(client, services)
    erase_person(services, "email", EMAIL, ACTOR, time.time())
    with services.engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.idempotency_key, activities.c.id, activities.c.request).join(
                activities, activities.c.event_id == events.c.id
            )
        ).all()
    requests = {key: request for key, _, request in rows}
    assert requests["evt_A1"] == {} and requests["evt_A2"] == {} and requests["evt_B1"] != {}
    with services.engine.connect() as connection:
        hashed = set(connection.execute(sa.select(identifier_hashes.c.event_id)).scalars())
        ravi = connection.execute(sa.select(events.c.id).where(events.c.idempotency_key == "evt_B1")).scalar()
    assert hashed == {ravi}
    erased_activity = next(activity_id for key, activity_id, _ in rows if key == "evt_A1")
    with services.engine.begin() as connection:
        connection.execute(
            sa.update(activities).where(activities.c.id == erased_activity).values(status="dead")
        )
    with pytest.raises(OperateError, match="erased"):
        retry_activity(services.engine, erased_activity, ACTOR, time.time())
    with services.engine.connect() as connection:
        query = sa.select(activities.c.event_id).where(activities.c.id == erased_activity)
        event_id = connection.execute(query).scalar()
    with pytest.raises(OperateError, match="erased") as refused:
        replay_event(services, int(event_id or 0), ACTOR, time.time())
    assert refused.value.status == 409


def test_events_not_yet_transformed_are_found_by_reading_their_bodies(
    client: FlaskClient, services: Services
) -> None:
    """A received event has no hashes yet: its body is read and erased; its transform then fails saying so."""
    assert post(client, customer_payment("pay_A3", EMAIL, PHONE, PAN), "evt_A3") == 202
    assert count(services, identifier_hashes) == 0
    result = erase_person(services, "pan", PAN, ACTOR, time.time())
    assert result.changed == 1 and bodies(services)["evt_A3"] == b""
    transform_received(services, time.time())
    with services.engine.connect() as connection:
        status, reason = connection.execute(sa.select(events.c.status, events.c.reason)).one()
    assert status == "failed" and "erased" in reason
    assert count(services, activities) == 0 and count(services, identifier_hashes) == 0


def test_a_scan_of_every_payload_finds_events_stored_before_hashing(
    client: FlaskClient, services: Services
) -> None:
    """With the hashes gone (an older store), only scan_all finds the event."""
    two_customers(client, services)
    with services.engine.begin() as connection:
        connection.execute(sa.delete(identifier_hashes))
    assert erase_person(services, "email", EMAIL, ACTOR, time.time()).changed == 0
    assert erase_person(services, "email", EMAIL, ACTOR, time.time(), scan_all=True).changed == 2


def test_activities_in_flight_keep_their_request_until_they_finish(
    client: FlaskClient, services: Services
) -> None:
    """An activity behind a paused account keeps its request; once delivered, the purge erases it too."""
    pause_account(services.engine, "main", "held for the test", 3600.0, PausedBy.OPERATOR)
    assert post(client, customer_payment("pay_A4", EMAIL, PHONE), "evt_A4") == 202
    transform_received(services, time.time())
    result = erase_person(services, "phone", "9876543210", ACTOR, time.time())
    assert result.changed == 1 and "in flight" in result.detail
    with services.engine.connect() as connection:
        erasure, request = connection.execute(
            sa.select(events.c.payload_erasure, activities.c.request).join(
                activities, activities.c.event_id == events.c.id
            )
        ).one()
    assert erasure == "erasure_pending" and request != {}
    resume_account(services.engine, "main", operator=True)
    run_worker_until(services, settled(services))
    assert purge_now(services, pause_seconds=0).completed == 1
    with services.engine.connect() as connection:
        erasure, request, status = connection.execute(
            sa.select(events.c.payload_erasure, activities.c.request, activities.c.status).join(
                activities, activities.c.event_id == events.c.id
            )
        ).one()
    assert (erasure, request, status) == ("erasure", {}, "delivered")


@pytest.mark.parametrize(
    ("kind", "typed", "message"),
    [
        ("email", "asha at example", "not an email"),
        ("phone", "12345", "not a phone"),
        ("name", "Asha", "kind"),
    ],
)
def test_a_bad_identifier_is_refused_saying_what_to_give(
    services: Services, kind: str, typed: str, message: str
) -> None:
    """A malformed identifier is a 400 naming what a good one looks like, and nothing is audited."""
    with pytest.raises(OperateError, match=message) as refused:
        erase_person(services, kind, typed, ACTOR, time.time())
    assert refused.value.status == 400 and latest_entries(services.engine) == []
