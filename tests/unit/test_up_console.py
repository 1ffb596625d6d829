"""`make run`'s admin process and sandbox mode: the Procfile's command, what is made up when unset."""

from __future__ import annotations

import pytest

from bridge.cli.up import DEMO_ERASURE_KEY, _use_sandbox, admin_command, announce_console
from tests.conftest import ROOT
from transforms import REGISTRY


def test_the_admin_command_is_the_procfiles_with_its_defaults() -> None:
    """With nothing set, make run binds the admin process where the Procfile's defaults do."""
    argv = admin_command({})
    assert argv[-1] == "bridge:create_admin_app()"
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8001"
    procfile = (ROOT / "Procfile").read_text()
    assert "--bind ${ADMIN_BIND:-127.0.0.1}:${ADMIN_PORT:-8001} --workers 2 'bridge:create_admin_app()'" in (
        procfile
    )


def test_the_admin_command_follows_admin_bind_and_port() -> None:
    """ADMIN_BIND and ADMIN_PORT move the admin process."""
    argv = admin_command({"ADMIN_BIND": "0.0.0.0", "ADMIN_PORT": "9001"})
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:9001"


def test_unset_credentials_are_made_up_and_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a password and a token, make run makes up both, hands them on and prints them."""
    environ: dict[str, str] = {}
    announce_console(environ)
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8001" in printed
    password, token = environ["BRIDGE_ADMIN_PASSWORD"], environ["BRIDGE_ADMIN_TOKEN"]
    assert len(password) >= 24 and len(token) >= 24 and password != token
    assert password in printed and token in printed


def test_set_credentials_are_kept_and_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """A password and a token from the environment are passed on as they are and not shown."""
    environ = {"BRIDGE_ADMIN_PASSWORD": "chosen-password", "BRIDGE_ADMIN_TOKEN": "chosen-token"}
    announce_console(environ)
    printed = capsys.readouterr().out
    assert environ == {"BRIDGE_ADMIN_PASSWORD": "chosen-password", "BRIDGE_ADMIN_TOKEN": "chosen-token"}
    assert "chosen-password" not in printed and "chosen-token" not in printed
    assert "BRIDGE_ADMIN_PASSWORD" in printed


def test_sandbox_mode_fills_an_unset_erasure_key_with_the_demo_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With no BRIDGE_ERASURE_KEY, make run's sandbox mode gives the worker a fixed demo key and says so."""
    environ = {"BRIDGE_CONFIG": str(ROOT / "bridge.example.toml")}
    _use_sandbox(environ, REGISTRY, 8090)
    assert environ["BRIDGE_ERASURE_KEY"] == DEMO_ERASURE_KEY
    assert "BRIDGE_ERASURE_KEY is unset: using the demo key" in capsys.readouterr().out
    kept = {
        "BRIDGE_CONFIG": str(ROOT / "bridge.example.toml"),
        "BRIDGE_ERASURE_KEY": "chosen-erasure-key-0123",
    }
    _use_sandbox(kept, REGISTRY, 8090)
    assert kept["BRIDGE_ERASURE_KEY"] == "chosen-erasure-key-0123"
    assert "chosen-erasure-key" not in capsys.readouterr().out
