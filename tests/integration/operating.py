"""Helpers the operator tests share: a configuration with a fix in it, deliveries, audit rows, a worker."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge.operate.actions import Actor
from bridge.operate.jobs import JobRunner
from bridge.pipeline.worker import Chore, Worker
from bridge.services import Services
from bridge.store.tables import audit_log
from tests.conftest import TEST_CONFIG
from tests.support import body_of, payment_event, razorpay_headers, run_worker_until

URL = "/webhooks/razorpay"
KEY_FIELD = "mx_Custom_10"
OPERATOR = Actor("cli:asha", "10.0.0.7")
# The test configuration with the fix an operator would make: payment.authorized mapped too.
FIXED_CONFIG = (
    TEST_CONFIG
    + """
[sources.razorpay.events."payment.authorized"]
activity_event = 203
[sources.razorpay.events."payment.authorized".fields]
mx_Custom_1 = "payment_id"
"""
)


def post(client: FlaskClient, number: int, opportunity: str, event: str = "payment.captured") -> None:
    """Post one signed Razorpay delivery of this type, payment pay_<number>."""
    body = body_of(payment_event(f"pay_{number}", opportunity, 100000 + number, event=event))
    answer = client.post(URL, data=body, headers=razorpay_headers(body, f"evt_{number}"))
    assert answer.status_code == 202, answer.json


def audit_rows(services: Services) -> list[sa.Row[Any]]:
    """Return every audit entry, oldest first."""
    with services.engine.connect() as connection:
        return list(connection.execute(sa.select(audit_log).order_by(audit_log.c.id)))


def keys_received(received: dict[str, Any]) -> Counter[str]:
    """Count the activities the sandbox created per activity key (the key field each row carries)."""
    counted: Counter[str] = Counter()
    for activity in received["activities"]:
        fields = {f["SchemaName"]: f["Value"] for f in activity["row"]["Fields"]}
        counted[fields[KEY_FIELD]] += 1
    return counted


def run_worker_for(services: Services, seconds: float) -> None:
    """Run a worker for a while, whatever it finds to do."""
    until = time.monotonic() + seconds
    run_worker_until(services, lambda: time.monotonic() > until, timeout=seconds + 10)


def job_worker(services: Services, chunk_size: int = 200) -> Worker:
    """Return a worker that runs bulk jobs in chunks of chunk_size, looking for one every 50 ms."""

    def runner(wired: Services, worker_id: str) -> Chore:
        return JobRunner(wired, worker_id, chunk_size=chunk_size, look_every_seconds=0.05)

    return Worker(services, chores=[runner])
