"""Token-authenticated sources (IDfy, HyperVerge, Signzy), source-IP allow-lists and trusted proxies."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge import create_app
from bridge.store.tables import events
from tests.conftest import ROOT, make_services
from tests.support import count
from tests.unit.test_token_sources import ALLOW_LIST, HYPERVERGE_TOKEN, IDFY_TOKEN, TOKEN_CONFIG

SAMPLES = ROOT / "transforms" / "samples"
IDFY_BODY = (SAMPLES / "idfy" / "completed.json").read_bytes()
HYPERVERGE_BODY = (SAMPLES / "hyperverge" / "FINISH_TRANSACTION_WEBHOOK.json").read_bytes()
JSON = {"Content-Type": "application/json"}


def token_client(tmp_path: Path, database_url: str, config: str = TOKEN_CONFIG) -> FlaskClient:
    """Return a client of a bridge with the token sources configured."""
    services = make_services(
        tmp_path,
        database_url,
        None,
        config,
        IDFY_WEBHOOK_SECRET=IDFY_TOKEN,
        HYPERVERGE_WEBHOOK_SECRET=HYPERVERGE_TOKEN,
    )
    client = create_app(services).test_client()
    client.application.extensions["test_services"] = services
    return client


def stored_events(client: FlaskClient) -> int:
    """Return how many events the client's bridge stored."""
    return count(client.application.extensions["test_services"], events)


def test_a_token_in_the_url_is_accepted_once(tmp_path: Path, database_url: str) -> None:
    """IDfy posts to /webhooks/idfy/<token>: accepted, and the same task result again is a duplicate."""
    client = token_client(tmp_path, database_url)
    first = client.post(f"/webhooks/idfy/{IDFY_TOKEN}", data=IDFY_BODY, headers=JSON)
    again = client.post(f"/webhooks/idfy/{IDFY_TOKEN}", data=IDFY_BODY, headers=JSON)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["status"] == "duplicate" and stored_events(client) == 1


def test_a_wrong_or_missing_url_token_is_401_and_stores_nothing(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another token, or none, is refused with a message saying where the token goes; no token is logged."""
    client = token_client(tmp_path, database_url)
    caplog.set_level(logging.WARNING)
    wrong = client.post("/webhooks/idfy/not-the-token", data=IDFY_BODY, headers=JSON)
    missing = client.post("/webhooks/idfy", data=IDFY_BODY, headers=JSON)
    assert (wrong.status_code, wrong.get_json()["error"]) == (401, "bad_token")
    assert (missing.status_code, missing.get_json()["error"]) == (401, "missing_token")
    assert "/webhooks/<source>/<token>" in missing.get_json()["message"]
    assert stored_events(client) == 0
    assert IDFY_TOKEN not in caplog.text and IDFY_TOKEN not in wrong.get_data(as_text=True)


def test_a_header_token_is_checked_and_refused_in_the_url(tmp_path: Path, database_url: str) -> None:
    """HyperVerge's token rides in the configured header; the same token in the URL is refused."""
    client = token_client(tmp_path, database_url)
    url = "/webhooks/hyperverge"
    good = client.post(url, data=HYPERVERGE_BODY, headers={**JSON, "X-HV-Token": HYPERVERGE_TOKEN})
    bad = client.post(url, data=HYPERVERGE_BODY, headers={**JSON, "X-HV-Token": HYPERVERGE_TOKEN[:-1]})
    absent = client.post(url, data=HYPERVERGE_BODY, headers=JSON)
    in_url = client.post(f"{url}/{HYPERVERGE_TOKEN}", data=HYPERVERGE_BODY, headers=JSON)
    assert good.status_code == 202
    assert [(r.status_code, r.get_json()["error"]) for r in (bad, absent, in_url)] == [
        (401, "bad_token"),
        (401, "missing_token"),
        (401, "unexpected_token"),
    ]
    assert "X-HV-Token header" in absent.get_json()["message"]


def test_a_signed_source_takes_no_token_in_its_url(tmp_path: Path, database_url: str) -> None:
    """A path segment after a signed source's name is a 404 that says where to post."""
    client = token_client(tmp_path, database_url)
    answer = client.post("/webhooks/razorpay/anything", data=b"{}", headers=JSON)
    assert answer.status_code == 404
    assert "post to /webhooks/razorpay" in answer.get_json()["message"]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "status"),
    [
        ("203.0.113.5", None, False, 202),  # the provider itself
        ("198.51.100.7", None, False, 403),  # anyone else
        ("198.51.100.7", "203.0.113.5", False, 403),  # X-Forwarded-For from an untrusted peer is ignored
        ("10.1.2.3", "203.0.113.5", True, 202),  # our proxy forwards the provider
        ("10.1.2.3", "198.51.100.7, 10.9.9.9", True, 403),  # proxies forward someone else
        ("10.1.2.3", "203.0.113.5, 198.51.100.7", True, 403),  # a client wrote the allowed one on the left
        ("10.1.2.3", "203.0.113.5, 10.9.9.9", True, 202),  # two proxies deep
    ],
)
def test_allowed_ips_trust_x_forwarded_for_only_from_trusted_proxies(
    tmp_path: Path, database_url: str, peer: str, forwarded_for: str | None, trusted: bool, status: int
) -> None:
    """The source's allow-list applies to the client address, read through trusted proxies only."""
    config = ALLOW_LIST
    if trusted:
        config = config.replace("[server]\n", '[server]\ntrusted_proxies = ["10.0.0.0/8"]\n', 1)
    client = token_client(tmp_path, database_url, config)
    headers = {**JSON, **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    answer = client.post(
        f"/webhooks/idfy/{IDFY_TOKEN}", data=IDFY_BODY, headers=headers, environ_base={"REMOTE_ADDR": peer}
    )
    assert answer.status_code == status
    if status == 403:
        assert answer.get_json()["error"] == "forbidden_address"
        assert stored_events(client) == 0
