"""Twilio and Plivo posts to the receiver on a real database: the query is signed, the public URL configured.

Signatures here are made by the providers' own SDKs over the public URL and
the query posted to, so the receiver is shown to hand the scheme the query
exactly as it arrived. The schemes' decisions are in tests/unit/test_twilio.py
and tests/unit/test_plivo.py; send-sample goes over real HTTP at the end.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES, TEST_CONFIG, make_services
from tests.support import count
from tests.unit.test_contract import example_settings
from transforms import REGISTRY

TOKEN = "auth-token-0123456789abcdef"
FORM = "application/x-www-form-urlencoded"
TWILIO_URL = "https://bridge.example.com/webhooks/twilio"
PLIVO_URL = "https://bridge.example.com/webhooks/plivo"
QUERY = "lead=opp-42&campaign=a+b"
TWILIO_FIELDS = {
    "CallSid": "CA0001",
    "CallStatus": "completed",
    "Direction": "outbound-api",
    "From": "+918069000000",
    "To": "+919800000001",
}
PLIVO_FIELDS = {
    "CallUUID": "0d1e-0001",
    "CallStatus": "completed",
    "Direction": "outbound",
    "From": "918069000000",
    "To": "919800000001",
}


@pytest.fixture
def url_signed_client(database_url: str) -> tuple[FlaskClient, Services]:
    """A bridge on the example configuration with Twilio and Plivo on, both under TOKEN."""
    settings = example_settings(
        DATABASE_URL=database_url, TWILIO_WEBHOOK_SECRET=TOKEN, PLIVO_WEBHOOK_SECRET=TOKEN
    )
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    return create_app(services).test_client(), services


def form(fields: dict[str, str]) -> bytes:
    """Return the fields url-encoded, as both providers post them."""
    return "&".join(f"{name}={value.replace('+', '%2B')}" for name, value in fields.items()).encode()


def twilio_headers(url: str, fields: dict[str, str]) -> dict[str, str]:
    """Return the headers Twilio sends for a form posted to url (query included), signed by its SDK."""
    signature = RequestValidator(TOKEN).compute_signature(url, fields)
    return {"Content-Type": FORM, "X-Twilio-Signature": signature}


def plivo_headers(url: str, fields: dict[str, Any], nonce: str = "31415926535897932384") -> dict[str, str]:
    """Return the headers Plivo sends for a form posted to url (query included), signed by its SDK."""
    base = construct_post_url(url, dict(fields)).decode("utf-8")
    signature = get_signature_v3(TOKEN.encode(), base, nonce.encode()).decode("ascii")
    return {
        "Content-Type": FORM,
        "X-Plivo-Signature-V3": f"bm90IHRoaXMgb25l,{signature}",
        "X-Plivo-Signature-V3-Nonce": nonce,
    }


def stored(services: Services) -> list[tuple[str, str | None]]:
    """Return the stored events' idempotency keys and types."""
    with services.engine.connect() as connection:
        return [(row.idempotency_key, row.event_type) for row in connection.execute(events.select())]


def test_a_twilio_post_signed_over_its_query_is_accepted_once(
    url_signed_client: tuple[FlaskClient, Services],
) -> None:
    """Signed over the public URL with ?lead=...: accepted, and the same post again is a duplicate."""
    client, services = url_signed_client
    headers = twilio_headers(f"{TWILIO_URL}?{QUERY}", TWILIO_FIELDS)
    first = client.post(f"/webhooks/twilio?{QUERY}", data=form(TWILIO_FIELDS), headers=headers)
    assert first.status_code == 202, first.get_json()
    again = client.post(f"/webhooks/twilio?{QUERY}", data=form(TWILIO_FIELDS), headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert stored(services) == [("call:CA0001:completed", "call.completed")]


def test_a_plivo_post_signed_over_its_query_is_accepted_once(
    url_signed_client: tuple[FlaskClient, Services],
) -> None:
    """Signed over the public URL, the sorted query, the form and a nonce: accepted once, then a duplicate."""
    client, services = url_signed_client
    headers = plivo_headers(f"{PLIVO_URL}?{QUERY}", PLIVO_FIELDS)
    first = client.post(f"/webhooks/plivo?{QUERY}", data=form(PLIVO_FIELDS), headers=headers)
    assert first.status_code == 202, first.get_json()
    # A replay under a new nonce verifies too: the key, not the nonce, keeps it out of the queue.
    replay = plivo_headers(f"{PLIVO_URL}?{QUERY}", PLIVO_FIELDS, nonce="27182818284590452353")
    again = client.post(f"/webhooks/plivo?{QUERY}", data=form(PLIVO_FIELDS), headers=replay)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert stored(services) == [("call:0d1e-0001:completed", "call.completed")]


@pytest.mark.parametrize("source", ["twilio", "plivo"])
@pytest.mark.parametrize("tamper", ["public_url", "query", "field"])
def test_a_wrong_public_url_another_query_or_a_flipped_field_is_401(
    url_signed_client: tuple[FlaskClient, Services], source: str, tamper: str
) -> None:
    """Signed for another URL, posted to another query, or with one field changed: 401 naming public_url."""
    client, services = url_signed_client
    public_url, fields = (TWILIO_URL, TWILIO_FIELDS) if source == "twilio" else (PLIVO_URL, PLIVO_FIELDS)
    signed_url = f"{public_url}?{QUERY}"
    if tamper == "public_url":
        signed_url = f"https://internal.example.com:8443/webhooks/{source}?{QUERY}"
    headers = (twilio_headers if source == "twilio" else plivo_headers)(signed_url, fields)
    posted_query = "lead=opp-43&campaign=a+b" if tamper == "query" else QUERY
    posted = {**fields, "CallStatus": "busy"} if tamper == "field" else fields
    answer = client.post(f"/webhooks/{source}?{posted_query}", data=form(posted), headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "bad_signature"
    assert f"the URL {public_url} (with this request's query)" in answer.get_json()["message"]
    assert "scheme.public_url" in answer.get_json()["message"]
    assert count(services, events) == 0


URL_SIGNED_SOURCES = f"""
[sources.twilio]
kind = "twilio"
secret_env = "TWILIO_WEBHOOK_SECRET"
scheme = {{ public_url = "{TWILIO_URL}" }}
opportunity_id_path = "CallSid"
owner_email = "calls@example.com"

[sources.plivo]
kind = "plivo"
secret_env = "PLIVO_WEBHOOK_SECRET"
scheme = {{ public_url = "{PLIVO_URL}" }}
opportunity_id_path = "CallUUID"
owner_email = "calls@example.com"
"""


@pytest.mark.parametrize(
    ("source", "event_type"),
    [("twilio", "call.completed"), ("twilio", "message.undelivered"), ("plivo", "message.delivered")],
)
def test_send_sample_signs_for_the_configured_public_url(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    event_type: str,
) -> None:
    """send-sample posts to a bridge over HTTP signed for public_url, which is not the URL it posts to."""
    secrets = {"TWILIO_WEBHOOK_SECRET": TOKEN, "PLIVO_WEBHOOK_SECRET": TOKEN}
    services = make_services(tmp_path, database_url, None, TEST_CONFIG + URL_SIGNED_SOURCES, **secrets)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        url = f"http://127.0.0.1:{server.server_port}"
        assert main(["send-sample", source, event_type, "--url", url]) == 0
        assert main(["send-sample", source, event_type, "--url", url]) == 0
    finally:
        server.shutdown()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("202 ") and out[1].startswith("200 ")
    assert [event for _, event in stored(services)] == [event_type]
