"""PayU form posts to the receiver on a real database: accepted once, refused when not hashed right.

The reverse hash, form parsing, keys and values are tested in
tests/unit/test_payu.py, whose constants this file reuses.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from bridge import create_app
from bridge.services import Services
from bridge.sources.payload import parse_form
from bridge.sources.signatures import PayuReverseHash
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES
from tests.support import count
from tests.unit.test_contract import example_settings
from tests.unit.test_payu import SALT, SAMPLES
from transforms import REGISTRY, payu


@pytest.fixture
def payu_client(database_url: str) -> tuple[FlaskClient, Services]:
    """A bridge on the example configuration with PayU switched on and the salt SALT."""
    settings = example_settings(DATABASE_URL=database_url, PAYU_WEBHOOK_SECRET=SALT)
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    return create_app(services).test_client(), services


def sample(name: str) -> bytes:
    """Return a shipped sample re-hashed with SALT."""
    return PayuReverseHash().resign((SAMPLES / f"{name}.form").read_bytes(), SALT)


def test_the_receiver_accepts_a_signed_form_post_once(payu_client: tuple[FlaskClient, Services]) -> None:
    """A hashed form POST is accepted and stored byte for byte; the same again is a duplicate."""
    client, services = payu_client
    body = sample("success")
    headers = {"Content-Type": payu.CONTENT_TYPE}
    first = client.post("/webhooks/payu", data=body, headers=headers)
    assert first.status_code == 202, first.get_json()
    assert client.post("/webhooks/payu", data=body, headers=headers).status_code == 200
    with services.engine.connect() as connection:
        [row] = connection.execute(events.select()).all()
    assert bytes(row.body) == body
    assert row.idempotency_key == "txnid:LSQ-TXN-20251127-0042:success"
    assert row.event_type == "success"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "error"),
    [
        ("application/json", None, 415, "unsupported_media_type"),
        (payu.CONTENT_TYPE, "tampered", 401, "bad_signature"),
        (payu.CONTENT_TYPE, "unhashed", 401, "missing_signature"),
    ],
)
def test_the_receiver_refuses_json_and_bad_hashes(
    payu_client: tuple[FlaskClient, Services], content_type: str, body: str | None, status: int, error: str
) -> None:
    """A JSON content type is 415; a tampered amount or a missing hash is 401; nothing is stored."""
    client, services = payu_client
    data = sample("success")
    if body == "tampered":
        data = data.replace(b"amount=14999.00", b"amount=1.00")
    elif body == "unhashed":
        data = urlencode({k: v for k, v in parse_form(data).items() if k != "hash"}).encode()
    answer = client.post("/webhooks/payu", data=data, headers={"Content-Type": content_type})
    assert answer.status_code == status
    assert answer.get_json()["error"] == error
    assert count(services, events) == 0
