"""A day of history for the console to show: signed webhooks through the webhook app, a worker, the sandbox.

One delivered payment (sent three times), one event type nobody mapped, one
event without an opportunity id, one activity LeadSquared refused (dead), and
one left unknown, as a lost answer leaves it. Each payload carries the lead's
email, phone and PAN, which no page may show unmasked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.operate.jobs import JobRunner
from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.tables import ActivityStatus, activities, events
from tests.support import add_fault, body_of, payment_event, razorpay_headers, run_worker_until, settled

URL = "/webhooks/razorpay"
EMAIL = "lead@example.com"
PHONE = "+919800000001"
PAN = "ABCDE1234F"
REFUSAL = "Invalid value for mx_Custom_2"


@dataclass(frozen=True)
class History:
    """The ids of what the scenario left, and every signature value it sent."""

    delivered_event: int
    delivered_activity: int
    ignored_event: int
    failed_event: int
    dead_event: int
    dead_activity: int
    unknown_activity: int
    signatures: list[str]


def signed_post(client: FlaskClient, event: dict[str, Any], event_id: str, signatures: list[str]) -> int:
    """Post one signed delivery carrying the lead's PAN; return the event's id."""
    event["payload"]["payment"]["entity"]["notes"]["pan"] = PAN
    body = body_of(event)
    headers = razorpay_headers(body, event_id)
    signatures.append(headers["X-Razorpay-Signature"])
    answer = client.post(URL, data=body, headers=headers)
    assert answer.status_code in (200, 202), answer.json
    event_number: int = answer.json["event_id"] if answer.json else 0
    return event_number


def make_history(services: Services, sandbox: SandboxServer) -> History:
    """Post the scenario's webhooks, let a worker settle them, and leave one activity unknown."""
    client = create_app(services).test_client()
    signatures: list[str] = []
    for _ in range(3):
        delivered = signed_post(client, payment_event("pay_A1", "opp-1"), "evt_A1", signatures)
    ignored = signed_post(
        client, payment_event("pay_B1", "opp-2", event="payment.authorized"), "evt_B1", signatures
    )
    failed = signed_post(client, payment_event("pay_C1", None), "evt_C1", signatures)
    add_fault(sandbox.url, path="ByOpportunityId", opportunity_id="opp-3", fail_rows=[1], message=REFUSAL)
    dead_event = signed_post(client, payment_event("pay_D1", "opp-3"), "evt_D1", signatures)
    unknown_event = signed_post(client, payment_event("pay_E1", "opp-4"), "evt_E1", signatures)
    run_worker_until(services, settled(services))
    return History(
        delivered_event=delivered,
        delivered_activity=activity_of(services, delivered),
        ignored_event=ignored,
        failed_event=failed,
        dead_event=dead_event,
        dead_activity=activity_of(services, dead_event),
        unknown_activity=leave_unknown(services, activity_of(services, unknown_event)),
        signatures=signatures,
    )


def activity_of(services: Services, event_id: int) -> int:
    """Return the id of an event's one activity."""
    with services.engine.connect() as connection:
        query = sa.select(activities.c.id).where(activities.c.event_id == event_id)
        return int(connection.execute(query).scalar_one())


def leave_unknown(services: Services, activity_id: int) -> int:
    """Put a delivered activity back as a lost answer leaves one: unknown, for an operator to settle."""
    with services.engine.begin() as connection:
        connection.execute(
            sa.update(activities)
            .where(activities.c.id == activity_id)
            .values(
                status=ActivityStatus.UNKNOWN,
                prospect_activity_id=None,
                delivered_at=None,
                last_error="the answer was lost: it may or may not exist in LeadSquared",
            )
        )
    return activity_id


def event_status(services: Services, event_id: int) -> str:
    """Return an event's status."""
    with services.engine.connect() as connection:
        return str(connection.execute(sa.select(events.c.status).where(events.c.id == event_id)).scalar_one())


def activity_status(services: Services, activity_id: int) -> str:
    """Return an activity's status."""
    with services.engine.connect() as connection:
        query = sa.select(activities.c.status).where(activities.c.id == activity_id)
        return str(connection.execute(query).scalar_one())


def run_jobs(services: Services) -> None:
    """Run every queued bulk job to its end, as a worker's chore would."""
    runner = JobRunner(services, "test-worker", look_every_seconds=0)
    deadline = time.monotonic() + 20
    while runner.run_some(time.time()):
        assert time.monotonic() < deadline, "the job did not end"
