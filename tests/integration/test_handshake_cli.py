"""`send-sample --handshake` against a bridge served over HTTP, and `transform` for the handshake kinds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import ROOT, make_services
from tests.support import count
from tests.unit.test_named_secrets import HANDSHAKE_CONFIG, HANDSHAKE_SECRETS, VERIFY_TOKEN

SAMPLES = ROOT / "transforms" / "samples"


@dataclass(frozen=True)
class Served:
    """A bridge served over HTTP: its services and its URL."""

    services: Services
    url: str

    def send(self, *args: str) -> int:
        """Run send-sample against this bridge."""
        return main(["send-sample", *args, "--url", self.url])


@pytest.fixture
def handshake_bridge(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A bridge with the handshake kinds served over HTTP; the CLI reads the same file and secrets."""
    services = make_services(tmp_path, database_url, None, HANDSHAKE_CONFIG, **HANDSHAKE_SECRETS)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
    for name, value in HANDSHAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    yield Served(services, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


@pytest.mark.parametrize("source", ["meta_whatsapp", "zoom"])
def test_send_sample_handshake_is_answered_as_the_provider_expects(
    handshake_bridge: Served, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    """Meta's GET and Zoom's signed validation are answered rightly, printed, and store nothing."""
    assert handshake_bridge.send(source, "--handshake") == 0
    out = capsys.readouterr().out
    assert out.startswith("200 ") and "handshake answered as the provider expects" in out
    assert VERIFY_TOKEN not in out
    assert count(handshake_bridge.services, events) == 0


def test_send_sample_handshake_with_another_verify_token_shows_the_refusal(
    handshake_bridge: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CLI whose verify token differs from the bridge's prints the 403 and exits 1."""
    monkeypatch.setenv("META_WHATSAPP_VERIFY_TOKEN", "a-token-the-bridge-does-not-have")
    assert handshake_bridge.send("meta_whatsapp", "--handshake") == 1
    out = capsys.readouterr().out
    assert out.startswith("403 ") and "bad_verify_token" in out and "NOT what the provider expects" in out


def test_send_sample_handshake_refuses_a_kind_without_one_and_a_missing_argument(
    handshake_bridge: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ozonetel runs no handshake; send-sample needs an event type or --handshake, not both."""
    assert handshake_bridge.send("ozonetel", "--handshake") == 1
    assert "ozonetel (ozonetel) has no verification handshake" in capsys.readouterr().err
    assert handshake_bridge.send("zoom") == 1
    assert handshake_bridge.send("zoom", "webinar.participant_joined", "--handshake") == 1
    assert "give an EVENT_TYPE, or --handshake (not both)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "event_type"),
    [("meta_whatsapp", "statuses"), ("zoom", "webinar.registration_created"), ("ozonetel", "call")],
)
def test_send_sample_posts_each_kind_s_sample(
    handshake_bridge: Served, capsys: pytest.CaptureFixture[str], source: str, event_type: str
) -> None:
    """Signed (or tokened) samples of the new kinds are accepted; Ozonetel's echoes the bridge's Apikey."""
    assert handshake_bridge.send(source, event_type) == 0
    assert capsys.readouterr().out.startswith("202 ")
    assert count(handshake_bridge.services, events) == 1


@pytest.mark.parametrize(
    ("source", "sample", "looked_up"),
    [
        ("meta_whatsapp", "meta_whatsapp/messages.json", "Phone"),
        ("zoom", "zoom/webinar.registration_created.json", "EmailAddress"),
        ("ozonetel", "ozonetel/call.json", "Phone"),
    ],
)
def test_transform_dry_runs_each_kind_under_the_example(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    sample: str,
    looked_up: str,
) -> None:
    """`transform` needs no secret and shows the call, its opportunity looked up by phone or email."""
    monkeypatch.setenv("BRIDGE_CONFIG", str(ROOT / "bridge.example.toml"))
    assert main(["transform", source, str(SAMPLES / sample)]) == 0
    out = capsys.readouterr().out
    assert "opportunityId=<looked up by" in out and looked_up in out
