"""Verification handshakes and echoed keys through the endpoint, on real SQLite and PostgreSQL.

Meta's GET hub.challenge, Zoom's signed endpoint.url_validation POST and
Ozonetel's echoed Apikey, with the configuration of tests/unit/test_named_secrets.py.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from bridge import create_app
from bridge.sources.handshake import PlainTokenValidation
from bridge.sources.headers import MASKED
from bridge.store.tables import events
from tests.conftest import ROOT, make_services
from tests.support import count
from tests.unit.test_named_secrets import (
    HANDSHAKE_CONFIG,
    HANDSHAKE_SECRETS,
    META_SECRET,
    OZONETEL_API_KEY,
    OZONETEL_TOKEN,
    VERIFY_TOKEN,
    ZOOM_SECRET,
)
from transforms import meta_whatsapp, zoom

SAMPLES = ROOT / "transforms" / "samples"
JSON = {"Content-Type": "application/json"}
META_URL = "/webhooks/meta_whatsapp"
CHALLENGE = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}


@pytest.fixture
def handshake_client(tmp_path: Path, database_url: str) -> FlaskClient:
    """A client of a bridge with Meta WhatsApp, Zoom and Ozonetel configured."""
    services = make_services(tmp_path, database_url, None, HANDSHAKE_CONFIG, **HANDSHAKE_SECRETS)
    client = create_app(services).test_client()
    client.application.extensions["test_services"] = services
    return client


def stored_events(client: FlaskClient) -> int:
    """Return how many events the client's bridge stored."""
    return count(client.application.extensions["test_services"], events)


def zoom_post(body: bytes, secret: str = ZOOM_SECRET, skew: float = 0) -> dict[str, str]:
    """Return the headers Zoom would send with body, signed with secret at now + skew."""
    return {**JSON, **zoom.SIGNATURE.sign(body, secret, time.time() + skew)}


def test_meta_s_get_handshake_is_answered_with_the_bare_challenge(handshake_client: FlaskClient) -> None:
    """subscribe with the configured verify token: 200, the challenge as text, nothing stored, counted."""
    answer = handshake_client.get(META_URL, query_string=CHALLENGE)
    assert (answer.status_code, answer.mimetype, answer.text) == (200, "text/plain", "1158201444")
    assert stored_events(handshake_client) == 0
    metrics = handshake_client.get("/metrics").text
    assert 'bridge_webhooks_total{outcome="handshake",source="meta_whatsapp"}' in metrics


def test_meta_s_handshake_is_refused_saying_what_to_fix(
    handshake_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong token is 403, a wrong mode or no challenge 400, each with a message; the token never shows."""
    caplog.set_level(logging.INFO)
    wrong_token = handshake_client.get(META_URL, query_string={**CHALLENGE, "hub.verify_token": "guess"})
    wrong_mode = handshake_client.get(META_URL, query_string={**CHALLENGE, "hub.mode": "unsubscribe"})
    no_challenge = handshake_client.get(
        META_URL, query_string={k: v for k, v in CHALLENGE.items() if k != "hub.challenge"}
    )
    answers = [(a.status_code, a.get_json()["error"]) for a in (wrong_token, wrong_mode, no_challenge)]
    assert answers == [(403, "bad_verify_token"), (400, "bad_hub_mode"), (400, "missing_challenge")]
    assert "secret_envs.verify_token" in wrong_token.get_json()["message"]
    assert VERIFY_TOKEN not in caplog.text + wrong_token.text
    assert stored_events(handshake_client) == 0
    metrics = handshake_client.get("/metrics").text
    assert 'bridge_webhooks_total{outcome="handshake_refused",source="meta_whatsapp"}' in metrics


def test_meta_s_signed_post_is_stored_once_and_a_flipped_byte_refused(handshake_client: FlaskClient) -> None:
    """After the handshake, a message signed with the app secret is stored; a tampered body is 401."""
    body = (SAMPLES / "meta_whatsapp" / "messages.json").read_bytes()
    headers = {**JSON, **meta_whatsapp.SOURCE.signature.sign(body, META_SECRET, time.time())}
    first = handshake_client.post(META_URL, data=body, headers=headers)
    again = handshake_client.post(META_URL, data=body, headers=headers)
    tampered = handshake_client.post(META_URL, data=body.replace(b"home loan", b"home lone"), headers=headers)
    assert (first.status_code, again.status_code, tampered.status_code) == (202, 200, 401)
    assert stored_events(handshake_client) == 1


def test_a_get_to_a_source_without_a_handshake_is_405_and_an_unknown_source_404(
    handshake_client: FlaskClient,
) -> None:
    """Zoom, Ozonetel and Razorpay take POST only (405 saying so, Allow: POST); no source is 404."""
    for name in ("zoom", "ozonetel", "razorpay"):
        answer = handshake_client.get(f"/webhooks/{name}", query_string=CHALLENGE)
        assert (answer.status_code, answer.get_json()["error"]) == (405, "method_not_allowed")
        assert "POST is the only method" in answer.get_json()["message"]
        assert answer.headers["Allow"] == "POST"
    nowhere = handshake_client.get("/webhooks/nobody", query_string=CHALLENGE)
    assert (nowhere.status_code, nowhere.get_json()["error"]) == (404, "unknown_source")


def test_zoom_s_validation_is_answered_at_once_and_never_stored(handshake_client: FlaskClient) -> None:
    """A signed endpoint.url_validation gets the token and its HMAC back; the events table stays empty."""
    body = (
        b'{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},'
        b'"event_ts":1700000000000,"event":"endpoint.url_validation"}'
    )
    for _ in range(2):
        answer = handshake_client.post("/webhooks/zoom", data=body, headers=zoom_post(body))
        assert (answer.status_code, answer.mimetype) == (200, "application/json")
        assert answer.get_json() == {
            "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
            "encryptedToken": PlainTokenValidation.encrypted("qgg8vlvZRS6UYooatFL8Aw", ZOOM_SECRET),
        }
    assert stored_events(handshake_client) == 0


def test_zoom_s_validation_unsigned_stale_or_without_a_token_is_refused(
    handshake_client: FlaskClient,
) -> None:
    """No signature or another secret is 401, an old timestamp 401 stale, no plainToken 400; none stored."""
    body = b'{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}'
    empty = b'{"event":"endpoint.url_validation","payload":{}}'
    unsigned = handshake_client.post("/webhooks/zoom", data=body, headers=JSON)
    forged = handshake_client.post("/webhooks/zoom", data=body, headers=zoom_post(body, "x"))
    stale = handshake_client.post("/webhooks/zoom", data=body, headers=zoom_post(body, skew=-600))
    no_token = handshake_client.post("/webhooks/zoom", data=empty, headers=zoom_post(empty))
    answers = [(a.status_code, a.get_json()["error"]) for a in (unsigned, forged, stale, no_token)]
    assert answers == [
        (401, "missing_signature"),
        (401, "bad_signature"),
        (401, "stale_timestamp"),
        (400, "missing_plain_token"),
    ]
    assert stored_events(handshake_client) == 0


def test_zoom_s_ordinary_event_is_stored_as_usual(handshake_client: FlaskClient) -> None:
    """An event that is no validation passes the handshake by and is stored once."""
    body = (SAMPLES / "zoom" / "webinar.registration_created.json").read_bytes()
    headers = zoom_post(body)
    first = handshake_client.post("/webhooks/zoom", data=body, headers=headers)
    again = handshake_client.post("/webhooks/zoom", data=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert stored_events(handshake_client) == 1


def test_ozonetel_with_a_wrong_or_missing_apikey_is_refused(
    handshake_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The right URL token with another Apikey (or none) is 401, storing nothing; the right one is stored."""
    caplog.set_level(logging.INFO)
    call = json.loads((SAMPLES / "ozonetel" / "call.json").read_bytes())
    url = f"/webhooks/ozonetel/{OZONETEL_TOKEN}"
    wrong = handshake_client.post(url, data=json.dumps({**call, "Apikey": "KKnot-the-key"}), headers=JSON)
    missing = handshake_client.post(
        url, data=json.dumps({k: v for k, v in call.items() if k != "Apikey"}), headers=JSON
    )
    assert [(a.status_code, a.get_json()["error"]) for a in (wrong, missing)] == [
        (401, "bad_api_key"),
        (401, "missing_api_key"),
    ]
    assert stored_events(handshake_client) == 0
    echoed = {**JSON, "X-Campaign-Note": f"key {OZONETEL_API_KEY}"}
    right = handshake_client.post(url, data=json.dumps({**call, "Apikey": OZONETEL_API_KEY}), headers=echoed)
    wrong_token = handshake_client.post(
        "/webhooks/ozonetel/not-the-token",
        data=json.dumps({**call, "Apikey": OZONETEL_API_KEY}),
        headers=JSON,
    )
    assert (right.status_code, wrong_token.status_code) == (202, 401)
    assert stored_events(handshake_client) == 1
    assert OZONETEL_API_KEY not in caplog.text
    services = handshake_client.application.extensions["test_services"]
    with services.engine.connect() as connection:
        stored, body = connection.execute(sa.select(events.c.headers, events.c.body)).one()
    assert stored["X-Campaign-Note"] == MASKED, "a header holding a named secret is masked like a secret"
    assert OZONETEL_API_KEY.encode() not in body, "the checked Apikey is not stored"
    assert json.loads(body) == {**call, "Apikey": "[checked]"}
