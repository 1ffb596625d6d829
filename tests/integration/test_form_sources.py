"""Paytm, Easebuzz and Instamojo over HTTP: send-sample to a served bridge, and Paytm's refusals.

Their checksums, hashes and MACs, keys and values are tested in
tests/unit/test_paytm.py, test_easebuzz.py and test_instamojo.py; the
contract tests post every sample once and twice.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.sources.payload import parse_form
from bridge.sources.signatures.paytm_checksum import PaytmChecksum
from bridge.store.tables import events
from tests.conftest import TEST_CONFIG, make_services
from tests.support import count
from transforms import paytm

PAYTM_KEY = "k9Q2mX7pL4sV8zR1"
SECRETS = {
    "PAYTM_WEBHOOK_SECRET": PAYTM_KEY,
    "EASEBUZZ_WEBHOOK_SECRET": "easebuzz-salt",
    "INSTAMOJO_WEBHOOK_SECRET": "instamojo-private-salt",
}
FORM_SOURCES = """
[sources.paytm]
kind = "paytm"
secret_env = "PAYTM_WEBHOOK_SECRET"
opportunity_id_path = "MERC_UNQ_REF"
owner_email = "ops@example.com"

[sources.easebuzz]
kind = "easebuzz"
secret_env = "EASEBUZZ_WEBHOOK_SECRET"
opportunity_id_path = "udf1"
owner_email = "ops@example.com"

[sources.instamojo]
kind = "instamojo"
secret_env = "INSTAMOJO_WEBHOOK_SECRET"
owner_email = "ops@example.com"
[sources.instamojo.opportunity_lookup]
lead_field = "EmailAddress"
path = "buyer"
opportunity_type = 12002
"""
SAMPLES = Path(__file__).resolve().parents[2] / "transforms" / "samples"


@pytest.fixture
def form_services(tmp_path: Path, database_url: str) -> Services:
    """A bridge with the three form sources switched on, on a fresh database."""
    return make_services(tmp_path, database_url, None, TEST_CONFIG + FORM_SOURCES, **SECRETS)


@pytest.mark.parametrize(
    ("source", "event_type"), [("paytm", "TXN_SUCCESS"), ("easebuzz", "success"), ("instamojo", "Credit")]
)
def test_send_sample_posts_a_signed_form_once(
    tmp_path: Path,
    form_services: Services,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    event_type: str,
) -> None:
    """send-sample re-signs the form with the source's secret: accepted, then a duplicate."""
    server = make_server("127.0.0.1", 0, create_app(form_services), threaded=True)
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
    with form_services.engine.connect() as connection:
        assert [row.event_type for row in connection.execute(events.select())] == [event_type]


def paytm_sample() -> bytes:
    """Return the success sample re-signed with PAYTM_KEY."""
    return PaytmChecksum().resign((SAMPLES / "paytm" / "TXN_SUCCESS.form").read_bytes(), PAYTM_KEY)


def with_checksum(body: bytes, value: str) -> bytes:
    """Return the form with its CHECKSUMHASH replaced."""
    return urlencode({**parse_form(body), "CHECKSUMHASH": value}).encode()


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ("none", 202, None),
        ("amount", 401, "bad_signature"),
        ("other-key", 401, "bad_signature"),
        ("garbage", 401, "bad_signature"),
        ("non-ascii", 401, "bad_signature"),
        ("no-checksum", 401, "missing_signature"),
        ("json", 415, "unsupported_media_type"),
    ],
)
def test_the_receiver_checks_paytms_checksum(
    form_services: Services, change: str, status: int, error: str | None
) -> None:
    """A tampered amount, another key's checksum or garbage is 401, never 500; JSON is 415; none stored."""
    client: FlaskClient = create_app(form_services).test_client()
    body, content_type = paytm_sample(), paytm.CONTENT_TYPE
    if change == "amount":
        body = body.replace(b"TXNAMOUNT=14999.00", b"TXNAMOUNT=1.00")
    elif change == "other-key":
        body = PaytmChecksum().resign(body, "AAAAAAAAAAAAAAAA")
    elif change == "garbage":
        body = with_checksum(body, "%%%not-a-checksum")
    elif change == "non-ascii":  # base64 refuses it with ValueError, not binascii.Error: once a 500
        body = with_checksum(body, "é٣")
    elif change == "no-checksum":
        body = with_checksum(body, "")
    elif change == "json":
        body, content_type = b'{"head": {"signature": "x"}, "body": {}}', "application/json"
    answer = client.post("/webhooks/paytm", data=body, headers={"Content-Type": content_type})
    assert answer.status_code == status, answer.get_json()
    if error is None:
        with form_services.engine.connect() as connection:
            [row] = connection.execute(events.select()).all()
        assert bytes(row.body) == body
        assert row.idempotency_key == "TXNID:20251127111212800110168123456789012:TXN_SUCCESS"
        return
    assert answer.get_json()["error"] == error
    assert PAYTM_KEY not in answer.get_data(as_text=True)
    assert count(form_services, events) == 0
