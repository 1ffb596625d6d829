"""The integration engineer's tools: transform (dry run) and send-sample, through the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli.main import main
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import ROOT, TEST_CONFIG, make_services, write_config
from tests.support import RAZORPAY_SECRET, count

SAMPLES = ROOT / "transforms" / "samples" / "razorpay"
GOLDEN = ROOT / "tests" / "golden" / "razorpay"


@pytest.fixture
def example_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the tools at bridge.example.toml, with no secrets and no LeadSquared keys."""
    monkeypatch.setenv("BRIDGE_CONFIG", str(ROOT / "bridge.example.toml"))
    for name in ("RAZORPAY_WEBHOOK_SECRET", "LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("example_config")
def test_transform_prints_the_exact_call(capsys: pytest.CaptureFixture[str]) -> None:
    """A sample becomes the call the bridge would make: URL with the opportunity, and the golden rows."""
    assert main(["transform", "razorpay", str(SAMPLES / "payment.captured.json")]) == 0
    url_line, body = capsys.readouterr().out.split("\n", 1)
    expected = json.loads((GOLDEN / "payment.captured.expected.json").read_text())
    assert url_line == (
        "POST https://{LSQ_HOST}/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
        f"?opportunityId={expected['opportunity_id']}"
    )
    [row] = json.loads(body)
    key_field = row["Fields"].pop()
    assert key_field["SchemaName"] == "mx_Custom_10" and key_field["Value"].startswith("razorpay:sha256:")
    expected_row = expected["activities"][0]
    expected_row["Fields"].pop()
    assert row == expected_row


@pytest.mark.usefixtures("example_config")
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"event": "payment.dispute.created"}', "'payment.dispute.created' is not mapped"),
        (
            b'{"event": "payment.captured", "payload": {}}',
            "would store this event as failed: no opportunity id",
        ),
        (b"{not json", "the payload is not valid JSON"),
        (b"[]", "must be a JSON object"),
    ],
)
def test_transform_says_precisely_why_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: bytes, reason: str
) -> None:
    """A payload that becomes no call exits 1 with the reason."""
    path = tmp_path / "payload.json"
    path.write_bytes(payload)
    assert main(["transform", "razorpay", str(path)]) == 1
    assert reason in capsys.readouterr().err


@pytest.mark.usefixtures("example_config")
def test_transform_names_the_known_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown source name is answered with the configured ones."""
    assert main(["transform", "paypal", str(SAMPLES / "payment.captured.json")]) == 1
    err = capsys.readouterr().err
    assert "no source is named 'paypal'" in err and "razorpay" in err.partition("(sources: ")[2]


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


@pytest.mark.usefixtures("example_config")
def test_send_sample_explains_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the secret, or for an event with no sample, the tool says what to do."""
    assert main(["send-sample", "razorpay", "payment.captured"]) == 1
    assert "set RAZORPAY_WEBHOOK_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("RAZORPAY_WEBHOOK_SECRET", "s")
    assert main(["send-sample", "razorpay", "payment.dispute.created"]) == 1
    assert (
        "samples: order.paid, payment.authorized, payment.captured, payment.failed, payment_link.paid, "
        "refund.created, refund.processed, subscription.charged)" in capsys.readouterr().err
    )


@pytest.mark.usefixtures("example_config")
def test_transform_of_a_header_typed_source_needs_the_event_type(capsys: pytest.CaptureFixture[str]) -> None:
    """A GitHub-style payload has no type in its body: the dry run asks for --event-type, then uses it."""
    sample = str(ROOT / "transforms" / "samples" / "github" / "invoice.json")
    assert main(["transform", "github", sample]) == 1
    assert "sends its event type in the X-GitHub-Event header" in capsys.readouterr().err
    assert main(["transform", "github", sample, "--event-type", "invoice"]) == 0
    url_line, body = capsys.readouterr().out.split("\n", 1)
    assert url_line.endswith("?opportunityId=1f3a5c7e-9b2d-4f6a-8c1e-5a7c9e1b3d5f")
    assert json.loads(body)[0]["ActivityEvent"] == 321


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
