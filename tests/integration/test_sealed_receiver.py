"""Sealed bodies through the receiver on a real database: stored opened, never the ciphertext or the key.

CCAvenue's encResp is decrypted and PhonePe v1's base64 response decoded
after verification; the events row holds that plaintext, which the worker
maps as it is. A body no configured key opens is 401 and stores nothing.
PhonePe v2's static Authorization rides the same endpoint. The ciphers and
hashes themselves are tested in tests/unit/test_ccavenue.py and test_phonepe.py.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.pipeline.transform import Delivery, Mapped, map_event
from bridge.services import Services
from bridge.sources.headers import MASKED
from bridge.sources.payload import parse_form
from bridge.sources.senders import signed_delivery
from bridge.sources.signatures.phonepe import PhonePeSaltedHash
from bridge.store.engine import make_engine
from bridge.store.tables import events
from tests.conftest import OPENED_ENGINES, TEST_CONFIG, make_services
from tests.support import count
from tests.unit.test_contract import example_kind, example_settings, example_source
from transforms import REGISTRY, ccavenue, phonepe, phonepe_v2

SAMPLES = Path(__file__).resolve().parents[2] / "transforms" / "samples"
WORKING_KEY = "ABCDEF0123456789ABCDEF0123456789"
SALT = "2:099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"
CREDENTIAL = "lsq_bridge:Webhook2025"
SECRETS = {
    "CCAVENUE_WEBHOOK_SECRET": WORKING_KEY,
    "PHONEPE_WEBHOOK_SECRET": SALT,
    "PHONEPE_V2_WEBHOOK_SECRET": CREDENTIAL,
}


@pytest.fixture
def sealed_client(database_url: str) -> tuple[FlaskClient, Services]:
    """A bridge on the example configuration with the sealed sources on and their secrets set."""
    settings = example_settings(DATABASE_URL=database_url, **SECRETS)
    services = Services(settings, make_engine(settings.database_url), REGISTRY)
    OPENED_ENGINES.append(services.engine)
    return create_app(services).test_client(), services


def only_row(services: Services) -> Any:
    """Return the one stored event."""
    with services.engine.connect() as connection:
        [row] = connection.execute(events.select()).all()
    return row


def post(client: FlaskClient, name: str, body: bytes, headers: dict[str, str]) -> Any:
    """Post a delivery to a source with its kind's content type."""
    kind = REGISTRY.get(name)
    assert kind is not None
    return client.post(f"/webhooks/{name}", data=body, headers={"Content-Type": kind.content_type, **headers})


def test_a_ccavenue_delivery_is_stored_decrypted_once(sealed_client: tuple[FlaskClient, Services]) -> None:
    """encResp is decrypted: the row holds the response, no ciphertext and no key, and maps to an activity."""
    client, services = sealed_client
    plain = (SAMPLES / "ccavenue" / "success.form").read_bytes()
    body, headers = signed_delivery(ccavenue.SOURCE.signature, plain, WORKING_KEY, time.time())
    assert post(client, "ccavenue", body, headers).status_code == 202
    assert post(client, "ccavenue", body, headers).status_code == 200
    row = only_row(services)
    assert bytes(row.body) == plain
    assert row.idempotency_key == "313012345678:Success" and row.event_type == "success"
    stored = bytes(row.body) + json.dumps(row.headers).encode()
    ciphertext = parse_form(body)["encResp"]
    for secret_or_sealed in (ciphertext, ciphertext[:32], WORKING_KEY, "encResp"):
        assert secret_or_sealed.encode() not in stored
    kind = example_kind(ccavenue.SOURCE)
    source = example_source(ccavenue.SOURCE)
    delivery = Delivery(row.idempotency_key, row.event_type, bytes(row.body))
    outcome = map_event(delivery, source, kind, example_settings().accounts[source.account])
    assert isinstance(outcome, Mapped) and outcome.activities[0].request["ActivityEvent"] == 341


@pytest.mark.parametrize("tamper", ["wrong_key", "flipped_block", "bad_order_no"])
def test_a_ccavenue_body_that_does_not_open_is_401_and_stores_nothing(
    sealed_client: tuple[FlaskClient, Services], tamper: str
) -> None:
    """Another working key, a changed ciphertext block, an orderNo the ciphertext does not hold: 401."""
    client, services = sealed_client
    plain = (SAMPLES / "ccavenue" / "success.form").read_bytes()
    key = "0123456789ABCDEF0123456789ABCDEF" if tamper == "wrong_key" else WORKING_KEY
    fields = parse_form(signed_delivery(ccavenue.SOURCE.signature, plain, key, time.time())[0])
    if tamper == "flipped_block":
        sealed = fields["encResp"]
        fields["encResp"] = sealed[:40] + ("0" if sealed[40] != "0" else "1") + sealed[41:]
    elif tamper == "bad_order_no":
        fields["orderNo"] = "LSQ-ORD-OTHER"
    body = "&".join(f"{name}={value}" for name, value in fields.items()).encode()
    answer = post(client, "ccavenue", body, {})
    assert answer.status_code == 401
    reason = answer.get_json()
    assert reason["error"] == "cannot_decrypt"  # one answer for every failure: no oracle
    assert WORKING_KEY not in json.dumps(reason)
    assert count(services, events) == 0


def test_a_phonepe_v1_callback_is_stored_decoded(sealed_client: tuple[FlaskClient, Services]) -> None:
    """The verified base64 response is decoded: the row holds the callback JSON, X-VERIFY masked."""
    client, services = sealed_client
    plain = (SAMPLES / "phonepe" / "PAYMENT_SUCCESS.json").read_bytes()
    body, headers = signed_delivery(phonepe.SOURCE.signature, plain, SALT, time.time())
    assert headers["X-VERIFY"].endswith("###2")
    assert post(client, "phonepe", body, headers).status_code == 202
    assert post(client, "phonepe", body, headers).status_code == 200
    row = only_row(services)
    assert bytes(row.body) == plain
    assert row.idempotency_key == "T2511271405316190170379:PAYMENT_SUCCESS"
    assert row.headers["X-Verify"] == MASKED
    assert json.loads(body)["response"].encode() not in bytes(row.body)


@pytest.mark.parametrize(
    ("secret", "body", "status", "error"),
    [
        ("2:another-salt-key", None, 401, "bad_signature"),
        ("1:099eb0cd-02cf-4e2a-8aca-3e6c6aff0399", None, 401, "unknown_salt_index"),
        (SALT, b'{"response": "not base64!"}', 400, "bad_body"),
        (SALT, b'{"response": "WyJhIGxpc3QiXQ=="}', 400, "bad_json"),
    ],
    ids=["wrong_salt_key", "other_index", "not_base64", "not_an_object"],
)
def test_a_phonepe_v1_callback_that_does_not_check_stores_nothing(
    sealed_client: tuple[FlaskClient, Services], secret: str, body: bytes | None, status: int, error: str
) -> None:
    """Another salt key or index is 401; a signed response that is no base64 JSON object is 400."""
    client, services = sealed_client
    plain = (SAMPLES / "phonepe" / "PAYMENT_SUCCESS.json").read_bytes()
    sealed = PhonePeSaltedHash().seal(plain, secret) if body is None else body
    headers = phonepe.SOURCE.signature.sign(sealed, secret, time.time())
    answer = post(client, "phonepe", sealed, headers)
    assert (answer.status_code, answer.get_json()["error"]) == (status, error)
    assert "099eb0cd" not in answer.get_data(as_text=True)
    assert count(services, events) == 0


def test_a_phonepe_v2_webhook_is_checked_by_its_static_credential(
    sealed_client: tuple[FlaskClient, Services],
) -> None:
    """The hash of username:password is accepted and masked in the row; another credential is 401."""
    client, services = sealed_client
    body = (SAMPLES / "phonepe_v2" / "checkout.order.completed.json").read_bytes()
    wrong = phonepe_v2.SOURCE.signature.sign(body, "lsq_bridge:OtherPass1", time.time())
    assert post(client, "phonepe_v2", body, wrong).status_code == 401
    right = phonepe_v2.SOURCE.signature.sign(body, CREDENTIAL, time.time())
    assert post(client, "phonepe_v2", body, right).status_code == 202
    row = only_row(services)
    assert bytes(row.body) == body and row.headers["Authorization"] == MASKED


SEALED_SOURCES = """
[sources.ccavenue]
kind = "ccavenue"
secret_env = "CCAVENUE_WEBHOOK_SECRET"
opportunity_id_path = "merchant_param1"
owner_email = "payments@example.com"

[sources.phonepe]
kind = "phonepe"
secret_env = "PHONEPE_WEBHOOK_SECRET"
opportunity_id_path = "data.merchantTransactionId"
owner_email = "payments@example.com"

[sources.phonepe_v2]
kind = "phonepe_v2"
secret_env = "PHONEPE_V2_WEBHOOK_SECRET"
opportunity_id_path = "payload.metaInfo.udf1"
owner_email = "payments@example.com"
"""


@pytest.mark.parametrize(
    ("source", "event_type", "plain"),
    [
        ("ccavenue", "success", "success.form"),
        ("phonepe", "PAYMENT_SUCCESS", "PAYMENT_SUCCESS.json"),
        ("phonepe_v2", "checkout.order.completed", "checkout.order.completed.json"),
    ],
)
def test_send_sample_seals_and_signs_each_new_source(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    event_type: str,
    plain: str,
) -> None:
    """send-sample posts each sample as its provider would, over HTTP; the bridge stores the plaintext."""
    services = make_services(tmp_path, database_url, None, TEST_CONFIG + SEALED_SOURCES, **SECRETS)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        url = f"http://127.0.0.1:{server.server_port}"
        assert main(["send-sample", source, event_type, "--url", url]) == 0
        assert main(["send-sample", source, event_type, "--url", url]) == 0
    finally:
        server.shutdown()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("202 ") and out[1].startswith("200 ")
    row = only_row(services)
    assert row.event_type == event_type
    assert bytes(row.body) == (SAMPLES / source / plain).read_bytes()
