"""Cashfree PG deliveries posted to the receiver on a real database: retries are one event.

The verifier and the transform are tested in tests/unit/test_cashfree.py,
whose helpers this file reuses.
"""

from __future__ import annotations

import time

from werkzeug.test import TestResponse

from bridge import create_app
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES
from tests.support import count
from tests.unit.test_cashfree import PAYLOADS, SCHEME, example_settings
from transforms import REGISTRY


def test_a_retry_signed_afresh_is_one_event_and_a_stale_one_is_refused(database_url: str) -> None:
    """A retry with a new timestamp (or the previous secret) is a duplicate; an old timestamp is a 401."""
    settings = example_settings(DATABASE_URL=database_url)
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    client = create_app(services).test_client()
    body = (PAYLOADS / "PAYMENT_FAILED_WEBHOOK.json").read_bytes()
    now = time.time()

    def post(at: float, secret: str = "current") -> TestResponse:
        headers = {"Content-Type": "application/json", **SCHEME.sign(body, secret, at)}
        return client.post("/webhooks/cashfree", data=body, headers=headers)

    assert post(now).status_code == 202
    assert post(now + 1, secret="previous").status_code == 200
    stale = post(now - 301)
    assert stale.status_code == 401
    assert stale.get_json() is not None and stale.get_json()["error"] == "stale_timestamp"
    assert count(services, events) == 1
