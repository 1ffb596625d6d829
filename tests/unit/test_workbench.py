"""The integration engineer's tools through the CLI, in process: the dry run and send-sample's refusals.

tests/integration/test_workbench.py sends samples to a bridge served over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli.main import main
from tests.conftest import ROOT

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
