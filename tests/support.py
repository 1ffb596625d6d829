"""Helpers the tests share: Razorpay deliveries, and a worker run until a condition holds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import sqlalchemy as sa
from werkzeug.datastructures import Headers

from bridge.pipeline.worker import Worker
from bridge.services import Services
from bridge.sources.kind import SourceKind
from bridge.sources.signatures.scheme import HeaderLookup
from bridge.store.tables import activities, events
from transforms import razorpay

RAZORPAY_SECRET = "test-razorpay-secret"
# Activities still on their way: waiting for a look-up, a delivery or a read-back.
BUSY_STATUSES = ["resolving", "looking_up", "pending", "claimed", "sending", "unknown", "reconciling"]


def payment_event(
    payment_id: str,
    opportunity_id: str | None,
    amount_paise: int = 150000,
    event: str = "payment.captured",
    method: str = "upi",
) -> dict[str, Any]:
    """Return a Razorpay payment event as a dict."""
    notes = {"opportunity_id": opportunity_id} if opportunity_id is not None else {}
    return {
        "entity": "event",
        "account_id": "acc_TestAccount01",
        "event": event,
        "contains": ["payment"],
        "created_at": 1764230400,
        "payload": {
            "payment": {
                "entity": {
                    "id": payment_id,
                    "entity": "payment",
                    "amount": amount_paise,
                    "currency": "INR",
                    "status": "captured" if event == "payment.captured" else "failed",
                    "order_id": "order_Test0001",
                    "method": method,
                    "email": "lead@example.com",
                    "contact": "+919800000001",
                    "notes": notes,
                    "error_code": None if event == "payment.captured" else "BAD_REQUEST_ERROR",
                    "error_description": None if event == "payment.captured" else "Card declined",
                    "created_at": 1764230395,
                }
            }
        },
    }


def body_of(event: dict[str, Any]) -> bytes:
    """Return the bytes a provider would send for an event."""
    return json.dumps(event, separators=(",", ":")).encode()


def razorpay_headers(body: bytes, event_id: str | None, secret: str = RAZORPAY_SECRET) -> dict[str, str]:
    """Return the headers of a signed Razorpay delivery."""
    headers = {
        "Content-Type": "application/json",
        **razorpay.SOURCE.signature.sign(body, secret, time.time()),
    }
    if event_id is not None:
        headers["x-razorpay-event-id"] = event_id
    return headers


def post_payment(url: str, payment_id: str, opportunity_id: str, event_id: str) -> requests.Response:
    """Post one signed payment.captured delivery over HTTP."""
    body = body_of(payment_event(payment_id, opportunity_id))
    return requests.post(url, data=body, headers=razorpay_headers(body, event_id), timeout=10)


def count(services: Services, table: sa.Table, **where: str) -> int:
    """Count the rows of a table that match column=value conditions."""
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with services.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def activity_rows(services: Services) -> list[sa.Row[Any]]:
    """Return every activity row, in id order."""
    with services.engine.connect() as connection:
        return list(connection.execute(sa.select(activities).order_by(activities.c.id)))


def event_rows(services: Services) -> list[sa.Row[Any]]:
    """Return every event row, in id order."""
    with services.engine.connect() as connection:
        return list(connection.execute(sa.select(events).order_by(events.c.id)))


def run_worker_until(
    services: Services, done: Callable[[], bool], timeout: float = 20.0, worker: Worker | None = None
) -> Worker:
    """Run a worker in a thread until done() holds, then stop it; fail on timeout."""
    worker = worker or Worker(services)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker did not get there within {timeout} s")
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop"
    return worker


def settled(services: Services) -> Callable[[], bool]:
    """Return a check that no event or activity is still on its way."""

    def check() -> bool:
        with services.engine.connect() as connection:
            busy_events = connection.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.status == "received")
            ).scalar_one()
            busy = connection.execute(
                sa.select(sa.func.count())
                .select_from(activities)
                .where(activities.c.status.in_(BUSY_STATUSES))
            ).scalar_one()
        return busy_events == 0 and busy == 0

    return check


def sandbox_received(sandbox_url: str) -> dict[str, Any]:
    """Return what the sandbox has received."""
    answer: dict[str, Any] = requests.get(f"{sandbox_url}/sandbox/received", timeout=10).json()
    return answer


def add_fault(sandbox_url: str, **rule: Any) -> None:
    """Register a fault rule in the sandbox."""
    answer = requests.post(f"{sandbox_url}/sandbox/faults", json=rule, timeout=10)
    assert answer.status_code == 201, answer.text


def idempotency_key_of(kind: SourceKind, body: bytes, headers: HeaderLookup | None = None) -> str:
    """Return the idempotency key the receiver gives a delivery: the kind parses the body first."""
    return kind.idempotency_key(headers or Headers(), body, kind.parse(body))
