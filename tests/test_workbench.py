"""The integration engineer's tools: transform (dry run) and send-sample, through the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bridge import create_app
from bridge.cli import main
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import ROOT
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
