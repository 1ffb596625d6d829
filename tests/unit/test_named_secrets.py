"""Named secrets ([sources.<name>.secret_envs]) at start-up and in check-config, before any store.

tests/integration/test_handshakes.py answers handshakes with the configuration and secrets defined here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.cli.up import _use_sandbox
from bridge.config.load import ConfigError, load_settings
from tests.conftest import TEST_CONFIG, write_config
from transforms import REGISTRY

META_SECRET = "meta-app-secret-5b0e"
VERIFY_TOKEN = "meta-verify-token-91c2d7"
ZOOM_SECRET = "zoom-secret-token-3f8a"
OZONETEL_TOKEN = "ozonetel-token-2a7d9c4e1b6f"
OZONETEL_API_KEY = "KKozonetel-api-key-6e2b"

HANDSHAKE_CONFIG = (
    TEST_CONFIG
    + """
[sources.meta_whatsapp]
kind = "meta_whatsapp"
secret_env = "META_WHATSAPP_WEBHOOK_SECRET"
owner_email = "sales@example.com"
opportunity_id_path = "entry.0.id"
[sources.meta_whatsapp.secret_envs]
verify_token = "META_WHATSAPP_VERIFY_TOKEN"

[sources.zoom]
kind = "zoom"
secret_env = "ZOOM_WEBHOOK_SECRET"
owner_email = "events@example.com"
opportunity_id_path = "payload.object.id"

[sources.ozonetel]
kind = "ozonetel"
secret_env = "OZONETEL_WEBHOOK_SECRET"
owner_email = "calls@example.com"
opportunity_id_path = "monitorUCID"
secret_envs = { api_key = "OZONETEL_API_KEY" }
"""
)
HANDSHAKE_SECRETS = {
    "RAZORPAY_WEBHOOK_SECRET": "s",
    "META_WHATSAPP_WEBHOOK_SECRET": META_SECRET,
    "META_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    "ZOOM_WEBHOOK_SECRET": ZOOM_SECRET,
    "OZONETEL_WEBHOOK_SECRET": OZONETEL_TOKEN,
    "OZONETEL_API_KEY": OZONETEL_API_KEY,
}


def problems(tmp_path: Path, config: str, **environ: str) -> str:
    """Return the configuration's problems as loading states them."""
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, config), environ, REGISTRY)
    return str(caught.value)


def test_named_secrets_are_read_from_their_own_variables(tmp_path: Path) -> None:
    """Each named secret comes from the variable its secret_envs key names, and is never in a repr."""
    settings = load_settings(write_config(tmp_path, HANDSHAKE_CONFIG), HANDSHAKE_SECRETS, REGISTRY)
    meta = settings.sources["meta_whatsapp"]
    assert meta.secret_envs == {"verify_token": "META_WHATSAPP_VERIFY_TOKEN"}
    assert meta.named_secrets == {"verify_token": VERIFY_TOKEN}
    assert settings.sources["ozonetel"].named_secrets == {"api_key": OZONETEL_API_KEY}
    assert VERIFY_TOKEN not in repr(meta)
    assert {VERIFY_TOKEN, OZONETEL_API_KEY} <= set(settings.secret_values()), "the log filter cuts them"


def test_an_unset_named_secret_stops_start_up_naming_its_variable(tmp_path: Path) -> None:
    """An enabled source whose named secret's variable is unset does not load; the message names it."""
    environ = {k: v for k, v in HANDSHAKE_SECRETS.items() if k != "META_WHATSAPP_VERIFY_TOKEN"}
    found = problems(tmp_path, HANDSHAKE_CONFIG, **environ)
    expected = "sources.meta_whatsapp: the environment variable META_WHATSAPP_VERIFY_TOKEN"
    assert expected + " (secret_envs.verify_token) is not set" in found
    assert OZONETEL_API_KEY not in found and META_SECRET not in found


def test_a_disabled_source_needs_no_named_secret(tmp_path: Path) -> None:
    """Like secret_env, a named secret is required only while its source is enabled."""
    config = HANDSHAKE_CONFIG.replace('kind = "meta_whatsapp"\n', 'kind = "meta_whatsapp"\nenabled = false\n')
    environ = {k: v for k, v in HANDSHAKE_SECRETS.items() if not k.startswith("META_")}
    assert (
        not load_settings(write_config(tmp_path, config), environ, REGISTRY).sources["meta_whatsapp"].enabled
    )


def test_a_named_secret_the_kind_needs_or_does_not_take_is_a_file_error(tmp_path: Path) -> None:
    """Leaving out a kind's named secret, or naming one it does not take, names the key and the fix."""
    missing = HANDSHAKE_CONFIG.replace('secret_envs = { api_key = "OZONETEL_API_KEY" }\n', "")
    found = problems(tmp_path, missing, **HANDSHAKE_SECRETS)
    assert "sources.ozonetel.secret_envs.api_key: required by the ozonetel kind" in found
    extra = HANDSHAKE_CONFIG + '[sources.zoom.secret_envs]\nverify_token = "ZOOM_VERIFY_TOKEN"\n'
    found = problems(tmp_path, extra, **HANDSHAKE_SECRETS)
    assert (
        "sources.zoom.secret_envs.verify_token: the zoom kind takes no such secret (it takes: none)" in found
    )


def test_a_named_secret_must_name_a_variable(tmp_path: Path) -> None:
    """The schema refuses a secret_envs value that is not an environment variable's name."""
    config = HANDSHAKE_CONFIG.replace('api_key = "OZONETEL_API_KEY"', 'api_key = "not a name"')
    assert "sources.ozonetel.secret_envs.api_key" in problems(tmp_path, config, **HANDSHAKE_SECRETS)


def test_check_config_warns_when_a_named_secret_is_the_signing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A verify token equal to the app secret would put the signing key in a URL: check-config says so."""
    environ = {
        **HANDSHAKE_SECRETS,
        "META_WHATSAPP_VERIFY_TOKEN": META_SECRET,
        "LSQ_HOST": "api-in21.leadsquared.com",
        "LSQ_ACCESS_KEY": "u$r",
        "LSQ_SECRET_KEY": "k",
        "BRIDGE_ERASURE_KEY": "erasure-key-for-the-unit-tests",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", str(write_config(tmp_path, HANDSHAKE_CONFIG))]) == 0
    out = capsys.readouterr().out
    assert (
        "sources.meta_whatsapp: secret_envs.verify_token (META_WHATSAPP_VERIFY_TOKEN) holds the same" in out
    )
    assert "sources.ozonetel: authenticated by a shared token in the URL" in out
    assert "sources.ozonetel: secret_envs" not in out and META_SECRET not in out


def test_make_run_s_sandbox_mode_fills_unset_named_secrets_with_demo_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sandbox mode gives an enabled source's unset named secrets demo values, so the bridge starts."""
    environ = {"BRIDGE_CONFIG": str(write_config(tmp_path, HANDSHAKE_CONFIG))}
    _use_sandbox(environ, REGISTRY, 8090)
    assert environ["META_WHATSAPP_VERIFY_TOKEN"] == "demo-meta-whatsapp-verify-token"
    assert "OZONETEL_API_KEY is unset: using the demo api_key" in capsys.readouterr().out
    assert load_settings(environ["BRIDGE_CONFIG"], environ, REGISTRY).sources["ozonetel"].named_secrets
