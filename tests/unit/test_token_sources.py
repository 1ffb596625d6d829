"""Token-authenticated sources (IDfy, HyperVerge, Signzy) at start-up and in check-config, before any store.

tests/integration/test_token_sources.py posts to these sources on a real
database, with the tokens and configuration defined here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from tests.conftest import TEST_CONFIG, make_services, write_config

IDFY_TOKEN = "idfy-token-6b1f0c9e2d4a8f3b7c5e1a9d"
HYPERVERGE_TOKEN = "hv-token-0d9c8b7a6f5e4d3c2b1a"


TOKEN_CONFIG = (
    TEST_CONFIG
    + """
[sources.idfy]
kind = "idfy"
secret_env = "IDFY_WEBHOOK_SECRET"
opportunity_id_path = "group_id"
owner_email = "kyc@example.com"
scheme = { token_in = "path" }

[sources.hyperverge]
kind = "hyperverge"
secret_env = "HYPERVERGE_WEBHOOK_SECRET"
opportunity_id_path = "transactionId"
owner_email = "kyc@example.com"
scheme = { token_in = "header", token_header = "X-HV-Token" }
"""
)


ALLOW_LIST = TOKEN_CONFIG.replace(
    'scheme = { token_in = "path" }', 'scheme = { token_in = "path" }\nallowed_ips = ["203.0.113.0/28"]'
)


def test_a_bad_allowed_ip_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    """An allow-list entry that is not an address or network is a configuration error naming the key."""
    config = ALLOW_LIST.replace("203.0.113.0/28", "203.0.113.0/33")
    with pytest.raises(Exception) as caught:
        make_services(tmp_path, "sqlite:///unused.db", None, config, IDFY_WEBHOOK_SECRET="t")
    assert "sources.idfy.allowed_ips" in str(caught.value)


def test_check_config_warns_that_a_token_source_is_weaker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config passes but says a token source is weaker than a signed one, and what to add."""
    environ = {
        "LSQ_HOST": "api-in21.leadsquared.com",
        "LSQ_ACCESS_KEY": "u$r",
        "LSQ_SECRET_KEY": "k",
        "RAZORPAY_WEBHOOK_SECRET": "s",
        "BRIDGE_ERASURE_KEY": "erasure-key-for-the-unit-tests",
        "IDFY_WEBHOOK_SECRET": IDFY_TOKEN,
        "HYPERVERGE_WEBHOOK_SECRET": HYPERVERGE_TOKEN,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", str(write_config(tmp_path, ALLOW_LIST))]) == 0
    out = capsys.readouterr().out
    assert "sources.idfy: authenticated by a shared token in the URL, weaker than a signature" in out
    assert "sources.hyperverge: authenticated by a shared token in the header" in out
    warnings = {line.split(":")[1].strip(): line for line in out.splitlines() if "shared token" in line}
    assert "set allowed_ips" in warnings["sources.hyperverge"]
    assert "set allowed_ips" not in warnings["sources.idfy"]
    assert "sources.razorpay: authenticated" not in out


def test_a_short_token_stops_start_up(tmp_path: Path) -> None:
    """A token short enough to guess is refused at start-up, naming its variable and not its value."""
    with pytest.raises(Exception) as caught:
        make_services(tmp_path, "sqlite:///unused.db", None, TOKEN_CONFIG, IDFY_WEBHOOK_SECRET="abc123")
    assert "sources.idfy: the secret in IDFY_WEBHOOK_SECRET is shorter than 16 characters" in str(
        caught.value
    )
    assert "abc123" not in str(caught.value)
