"""The integration engineer's send-sample tool, through the CLI, posting to a bridge served over HTTP.

The dry-run transform and send-sample's refusals run in process: tests/unit/test_workbench.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import TEST_CONFIG, make_services, write_config
from tests.support import RAZORPAY_SECRET, count


@pytest.fixture
def running_bridge(services: Services) -> Iterator[str]:
    """The web app served over HTTP on a free port."""
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_send_sample_posts_a_signed_sample(
    running_bridge: str,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The sample is accepted by a running bridge; sent again, it is a duplicate."""
    monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
    monkeypatch.setenv("RAZORPAY_WEBHOOK_SECRET", RAZORPAY_SECRET)
    assert main(["send-sample", "razorpay", "payment.captured", "--url", running_bridge]) == 0
    assert main(["send-sample", "razorpay", "payment.captured", "--url", running_bridge]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("202 ") and '"accepted"' in out[0]
    assert out[1].startswith("200 ") and '"duplicate"' in out[1]
    assert count(services, events) == 1


def test_send_sample_with_the_wrong_secret_shows_the_refusal(
    running_bridge: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed with another secret than the bridge's, the sample is refused and the tool exits 1."""
    monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
    monkeypatch.setenv("RAZORPAY_WEBHOOK_SECRET", "not-the-bridge-secret")
    assert main(["send-sample", "razorpay", "payment.captured", "--url", running_bridge]) == 1
    assert capsys.readouterr().out.startswith("401 ")


TOOLED_SOURCES = """
[sources.idfy]
kind = "idfy"
secret_env = "IDFY_WEBHOOK_SECRET"
opportunity_id_path = "group_id"
owner_email = "kyc@example.com"

[sources.github]
kind = "github"
secret_env = "GITHUB_WEBHOOK_SECRET"
opportunity_id_path = "opportunity_id"
owner_email = "ops@example.com"
"""


@pytest.mark.parametrize(("source", "event_type"), [("idfy", "completed"), ("github", "invoice")])
def test_send_sample_puts_a_url_token_and_a_header_event_type_where_they_belong(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    event_type: str,
) -> None:
    """IDfy's token goes in the URL and GitHub's event type in its header; both samples are accepted."""
    secrets = {"IDFY_WEBHOOK_SECRET": "idfy-token-1234567890", "GITHUB_WEBHOOK_SECRET": "gh-secret"}
    services = make_services(tmp_path, database_url, None, TEST_CONFIG + TOOLED_SOURCES, **secrets)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        url = f"http://127.0.0.1:{server.server_port}"
        assert main(["send-sample", source, event_type, "--url", url]) == 0
    finally:
        server.shutdown()
    assert capsys.readouterr().out.startswith("202 ")
    with services.engine.connect() as connection:
        assert [row.event_type for row in connection.execute(events.select())] == [event_type]


def test_send_sample_never_prints_a_url_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the bridge cannot be reached, the URL shown has <token> where IDfy's token would be."""
    write_config(tmp_path, TEST_CONFIG + TOOLED_SOURCES)
    monkeypatch.setenv("BRIDGE_CONFIG", str(tmp_path / "bridge.toml"))
    for name, value in {"IDFY_WEBHOOK_SECRET": "idfy-token-1234567890", "GITHUB_WEBHOOK_SECRET": "s"}.items():
        monkeypatch.setenv(name, value)
    assert main(["send-sample", "idfy", "completed", "--url", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "/webhooks/idfy/<token>" in err and "idfy-token-1234567890" not in err
