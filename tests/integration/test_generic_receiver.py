"""GitHub-style and Standard Webhooks deliveries posted to the receiver on a real database.

The schemes, their published vectors and their configuration are tested in
tests/unit/test_generic_sources.py, whose constants this file reuses.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge import create_app
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import TEST_CONFIG, make_services
from tests.unit.test_generic_sources import GITHUB_SECRET, SW_CONFIG, SW_SECRET
from transforms import github, standard_webhooks

GITHUB_CONFIG = (
    TEST_CONFIG
    + """
[sources.gh]
kind = "github"
secret_env = "GH_WEBHOOK_SECRET"
opportunity_id_path = "opportunity_id"
owner_email = "ops@example.com"
[sources.gh.events."invoice"]
activity_event = 321
note = "Invoice {delivery_id} {action}"
[sources.gh.events."invoice".fields]
mx_Custom_1 = { path = "invoice.id" }
"""
)


@pytest.fixture
def github_client(tmp_path: Path, database_url: str) -> tuple[FlaskClient, Services]:
    """A bridge with a GitHub-style source."""
    services = make_services(tmp_path, database_url, None, GITHUB_CONFIG, GH_WEBHOOK_SECRET=GITHUB_SECRET)
    return create_app(services).test_client(), services


def test_github_delivery_is_typed_by_its_header_and_deduplicated_by_its_delivery_id(
    github_client: tuple[FlaskClient, Services],
) -> None:
    """X-GitHub-Event is the stored type; a redelivery with the same X-GitHub-Delivery is a duplicate."""
    client, services = github_client
    body = json.dumps({"action": "paid", "opportunity_id": "opp-1", "invoice": {"id": "INV-1"}}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "invoice",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        **github.SOURCE.signature.sign(body, GITHUB_SECRET, time.time()),
    }
    assert client.post("/webhooks/gh", data=body, headers=headers).status_code == 202
    assert client.post("/webhooks/gh", data=body, headers=headers).status_code == 200
    with services.engine.connect() as connection:
        stored = connection.execute(events.select()).all()
    assert [(row.event_type, row.idempotency_key) for row in stored] == [
        ("invoice", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    ]


def test_a_svix_delivery_is_keyed_by_its_signed_id_whatever_else_is_sent(
    tmp_path: Path, database_url: str
) -> None:
    """An unsigned webhook-id added to a replayed svix-* delivery does not make it a new event."""
    config = SW_CONFIG
    services = make_services(tmp_path, database_url, None, config, SW_WEBHOOK_SECRET=SW_SECRET)
    client = create_app(services).test_client()
    body = b'{"type": "invoice.paid", "data": {"opportunity_id": "opp-1"}}'
    signed = standard_webhooks.SOURCE.signature.sign(body, SW_SECRET, time.time())
    svix = {name.replace("webhook-", "svix-"): value for name, value in signed.items()}
    headers = {"Content-Type": "application/json", **svix}
    assert client.post("/webhooks/sw", data=body, headers=headers).status_code == 202
    forged = {**headers, "webhook-id": "msg_forged"}
    again = client.post("/webhooks/sw", data=body, headers=forged)
    assert (again.status_code, again.get_json()["status"]) == (200, "duplicate")
