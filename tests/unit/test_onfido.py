"""Onfido: the verifier against published vectors and the official SDK, the key, and the transform."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from onfido import OnfidoInvalidSignatureError, WebhookEvent, WebhookEventVerifier
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import Settings
from bridge.pipeline.transform import Delivery, Failed, Ignored, map_event
from bridge.sources.kind import TransformError
from bridge.sources.payload import body_hash_key
from bridge.sources.signatures.errors import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, onfido

SAMPLES = Path(__file__).parents[1] / "samples" / "onfido"
PAYLOADS = ROOT / "transforms" / "samples" / "onfido"
SCHEME = onfido.SOURCE.signature
HEADER = "X-SHA2-Signature"
CLASSIC_TOKEN = "wU99mE6jJ7nXOLFwZ0tJymM1lpI15pZh"
STUDIO_TOKEN = "YKOC6mkBxi6yK2zlUIrLMvsJMFEZObP5"

PUBLISHED = [
    (
        "classic_check_completed.json",
        CLASSIC_TOKEN,
        "77ebc3e418f26be6eebb47f7ebe551321de26734fc273961e075fc9ab163d9c7",
    ),
    (
        "studio_workflow_task_started.json",
        STUDIO_TOKEN,
        "c95a5b785484f6fa1bc25f381b5595d66bf85cb442eefb06aa007802ee6a4dfa",
    ),
    (
        "studio_webhook_event_with_object_in_output.json",
        STUDIO_TOKEN,
        "e3e5565647f5ccf07b2fd8ac22eab94a0a0619413d981fb768295c820523f7d7",
    ),
    (
        "studio_webhook_event_with_list_in_output.json",
        STUDIO_TOKEN,
        "f3a5170acfcecf8c1bf6d9cb9995c0d9dec941af83056a721530f8de7af2c293",
    ),
]
# The SDK's own "invalid signature" cases: the published value with its last digit changed.
PUBLISHED_NEGATIVE = [
    (
        "classic_check_completed.json",
        CLASSIC_TOKEN,
        "77ebc3e418f26be6eebb47f7ebe551321de26734fc273961e075fc9ab163d9c8",
    ),
    (
        "studio_workflow_task_started.json",
        STUDIO_TOKEN,
        "c95a5b785484f6fa1bc25f381b5595d66bf85cb442eefb06aa007802ee6a4dfb",
    ),
]
ALL_BODIES = sorted([*SAMPLES.glob("*.json"), *PAYLOADS.glob("*.json")])


@pytest.mark.parametrize(("name", "token", "signature"), PUBLISHED)
def test_published_vectors_verify_byte_for_byte(name: str, token: str, signature: str) -> None:
    """Onfido's own published signatures verify over the exact file bytes, and sign() makes them."""
    body = (SAMPLES / name).read_bytes()
    SCHEME.verify(body, Headers({HEADER: signature}), [token], now=0)
    assert SCHEME.sign(body, token, now=0) == {HEADER: signature}


@pytest.mark.parametrize(("name", "token", "signature"), PUBLISHED_NEGATIVE)
def test_published_negative_vectors_are_refused(name: str, token: str, signature: str) -> None:
    """The SDK tests' altered signatures are refused as bad signatures."""
    body = (SAMPLES / name).read_bytes()
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: signature}), [token], now=0)
    assert caught.value.reason == "bad_signature"


def test_the_trailing_newline_is_part_of_what_is_signed() -> None:
    """Stripping a fixture's final newline breaks its published signature."""
    name, token, signature = PUBLISHED[2]
    body = (SAMPLES / name).read_bytes()
    assert body.endswith(b"\n")
    with pytest.raises(SignatureError):
        SCHEME.verify(body.rstrip(b"\n"), Headers({HEADER: signature}), [token], now=0)


def test_a_reserialised_body_fails() -> None:
    """The same JSON written compactly is different bytes, so the published signature no longer holds."""
    name, token, signature = PUBLISHED[2]
    compact = json.dumps(json.loads((SAMPLES / name).read_bytes()), separators=(",", ":")).encode()
    with pytest.raises(SignatureError):
        SCHEME.verify(compact, Headers({HEADER: signature}), [token], now=0)


@pytest.mark.parametrize(("name", "token", "signature"), PUBLISHED)
def test_the_onfido_sdk_accepts_the_published_vectors(name: str, token: str, signature: str) -> None:
    """The official SDK accepts the published vectors over the same bytes, so the files are right."""
    body = (SAMPLES / name).read_bytes().decode("utf-8")
    assert isinstance(WebhookEventVerifier(token).read_payload(body, signature), WebhookEvent)


@pytest.mark.parametrize("path", ALL_BODIES, ids=lambda path: path.name)
def test_our_signatures_are_what_the_onfido_sdk_accepts(path: Path) -> None:
    """The official SDK verifies every signature we make, and refuses it over a flipped byte."""
    body = path.read_bytes()
    signature = SCHEME.sign(body, "rotating-token", now=0)[HEADER]
    verifier = WebhookEventVerifier("rotating-token")
    assert isinstance(verifier.read_payload(body.decode("utf-8"), signature), WebhookEvent)
    flipped = bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(OnfidoInvalidSignatureError):
        verifier.read_payload(flipped.decode("utf-8"), signature)


def test_our_sample_parses_with_the_sdk_model() -> None:
    """The sample we wrote fits the SDK's strict model of a webhook event, field types included."""
    event = WebhookEvent.from_json((PAYLOADS / "workflow_run.completed.json").read_text())
    assert event is not None and event.payload is not None and event.payload.resource is not None
    assert event.payload.resource.customer_user_id == "3a8f2d6c-9e14-4b7a-a5c3-6d0e8f1b2c47"


def test_any_configured_token_verifies_and_none_other() -> None:
    """With two tokens configured (a webhook being replaced) either passes; a third does not."""
    body = (SAMPLES / PUBLISHED[0][0]).read_bytes()
    for token in ("new-token", "old-token"):
        SCHEME.verify(body, Headers(SCHEME.sign(body, token, now=0)), ["new-token", "old-token"], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(SCHEME.sign(body, "other", now=0)), ["new-token", "old-token"], now=0)
    assert caught.value.reason == "bad_signature"


def test_a_missing_header_is_named() -> None:
    """A delivery without X-SHA2-Signature is refused as missing, and the message names the header."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(b"{}", Headers({"X-Signature": "abc"}), [CLASSIC_TOKEN], now=0)
    assert caught.value.reason == "missing_signature"
    assert HEADER in caught.value.message


@pytest.mark.parametrize("value", ["", "   ", "zz", "77EBC3E4", "é"])
def test_malformed_signatures_are_refused_cleanly(value: str) -> None:
    """Empty, short, non-hex or non-ASCII header values are a SignatureError, never a crash."""
    body = (SAMPLES / PUBLISHED[0][0]).read_bytes()
    with pytest.raises(SignatureError):
        SCHEME.verify(body, Headers({HEADER: value}), [CLASSIC_TOKEN], now=0)


def test_refusals_never_show_the_token_or_the_expected_signature() -> None:
    """A refusal's message holds neither the token nor the signature that would have matched."""
    name, token, signature = PUBLISHED[0]
    body = (SAMPLES / name).read_bytes()
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: "0" * 64}), [token], now=0)
    assert token not in caught.value.message
    assert signature not in caught.value.message


def test_no_timestamp_is_signed() -> None:
    """Onfido signs no timestamp: there is no tolerance, and an old signature stays valid."""
    name, token, signature = PUBLISHED[0]
    assert SCHEME.tolerance_seconds is None
    SCHEME.verify((SAMPLES / name).read_bytes(), Headers({HEADER: signature}), [token], now=4e9)


def test_the_key_is_the_documented_composite() -> None:
    """The key joins action, run id, object id, status and completion time, read from the body."""
    body = (SAMPLES / "studio_webhook_event_with_object_in_output.json").read_bytes()
    assert idempotency_key_of(onfido.SOURCE, body) == (
        "workflow_task.completed|b48fdff9-66a1-405d-9912-54780799bd68"
        "|document_check_75329|completed|2024-12-18T18:13:13Z"
    )
    classic = (SAMPLES / "classic_check_completed.json").read_bytes()
    assert idempotency_key_of(onfido.SOURCE, classic) == (
        "check.completed||f2302f45-227d-413d-ad61-09ec077a086a|complete|2024-04-04T09:21:21Z"
    )


def test_the_key_ignores_formatting_so_two_webhooks_make_one_event() -> None:
    """The same event written differently (a second webhook during a token change) has the same key."""
    body = (PAYLOADS / "workflow_run.completed.json").read_bytes()
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert compact != body
    assert idempotency_key_of(onfido.SOURCE, compact) == idempotency_key_of(onfido.SOURCE, body)


def test_the_same_task_in_two_runs_has_two_keys() -> None:
    """A task spec id repeats in every run of a workflow, so the run id keeps their keys apart."""
    event = json.loads((SAMPLES / "studio_workflow_task_started.json").read_bytes())
    first = idempotency_key_of(onfido.SOURCE, json.dumps(event).encode())
    event["payload"]["object"]["workflow_run_id"] = "00000000-0000-0000-0000-000000000001"
    assert idempotency_key_of(onfido.SOURCE, json.dumps(event).encode()) != first


def test_a_new_status_or_completion_is_a_new_key() -> None:
    """A run moved from review to approved, or a check completed again, is a new event."""
    event = json.loads((PAYLOADS / "workflow_run.completed.json").read_bytes())
    keys = {idempotency_key_of(onfido.SOURCE, json.dumps(event).encode())}
    event["payload"]["object"]["status"] = "review"
    keys.add(idempotency_key_of(onfido.SOURCE, json.dumps(event).encode()))
    event["payload"]["object"]["completed_at_iso8601"] = "2025-11-28T09:00:00Z"
    keys.add(idempotency_key_of(onfido.SOURCE, json.dumps(event).encode()))
    assert len(keys) == 3


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"payload": {"action": "check.completed", "object": {}}}', b'{"payload": 1}'],
)
def test_a_body_without_action_and_object_id_is_keyed_by_its_hash(body: bytes) -> None:
    """Without an action and an object id to build the composite from, the key is the body's hash."""
    assert idempotency_key_of(onfido.SOURCE, body) == body_hash_key(body)


def test_a_very_long_key_is_kept_as_its_hash() -> None:
    """A composite longer than the store's limit becomes its SHA-256."""
    body = json.dumps({"payload": {"action": "check.completed", "object": {"id": "x" * 300}}}).encode()
    key = idempotency_key_of(onfido.SOURCE, body)
    assert key.startswith("sha256:") and len(key) == len("sha256:") + 64


def test_the_event_type_is_the_action() -> None:
    """The type is payload.action; a payload without one has none."""
    assert onfido.event_type(json.loads((SAMPLES / PUBLISHED[0][0]).read_bytes())) == "check.completed"
    assert onfido.event_type({"payload": {"resource_type": "check"}}) is None
    assert onfido.event_type({"payload": "check.completed"}) is None


def test_the_published_check_transforms() -> None:
    """The classic check.completed fixture yields its id, status and UTC completion time."""
    [values] = onfido.transform("check.completed", json.loads((SAMPLES / PUBLISHED[0][0]).read_bytes()))
    assert values == {
        "check_id": "f2302f45-227d-413d-ad61-09ec077a086a",
        "status": "complete",
        "completed_at": "2024-04-04 09:21:21",
        "href": "https://api.onfido.com/v3.6/checks/f2302f45-227d-413d-ad61-09ec077a086a",
    }


def test_the_published_studio_tasks_transform() -> None:
    """Studio task fixtures yield their task, run, times, and a report task's result."""
    report = json.loads((SAMPLES / "studio_webhook_event_with_object_in_output.json").read_bytes())
    [values] = onfido.transform("workflow_task.completed", report)
    assert values["task_id"] == "document_check_75329"
    assert values["workflow_run_id"] == "b48fdff9-66a1-405d-9912-54780799bd68"
    assert values["completed_at"] == "2024-12-18 18:13:13"
    assert (values["result"], values["sub_result"]) == ("clear", "clear")
    photo = json.loads((SAMPLES / "studio_webhook_event_with_list_in_output.json").read_bytes())
    [values] = onfido.transform("workflow_task.completed", photo)
    assert values["task_def_id"] == "upload_document_photo"
    assert values["result"] is None
    started = json.loads((SAMPLES / "studio_workflow_task_started.json").read_bytes())
    [values] = onfido.transform("workflow_task.started", started)
    assert (values["status"], values["started_at"], values["completed_at"]) == (
        "started",
        "2024-07-10 12:49:09",
        None,
    )


def example_settings() -> Settings:
    """Load bridge.example.toml, the configuration users start from, with Onfido's token set."""
    environ = {"RAZORPAY_WEBHOOK_SECRET": "x", "ONFIDO_WEBHOOK_SECRET": "y"}
    return load_settings(ROOT / "bridge.example.toml", environ, REGISTRY)


@pytest.mark.parametrize("name", [name for name, _token, _signature in PUBLISHED])
def test_published_events_are_ignored_not_failed_by_the_example(name: str) -> None:
    """The example maps no event whose payload cannot name an opportunity, so those are ignored."""
    settings = example_settings()
    source = settings.sources["onfido"]
    body = (SAMPLES / name).read_bytes()
    delivery = Delivery("k", onfido.event_type(json.loads(body)), body)
    outcome = map_event(delivery, source, onfido.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Ignored)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p["payload"]["resource"].pop("customer_user_id"), "no opportunity id"),
        (lambda p: p["payload"]["resource"].update(customer_user_id=""), "no opportunity id"),
        (lambda p: p["payload"].pop("resource"), "no opportunity id"),
        (lambda p: p["payload"]["object"].pop("id"), "payload.object.id is missing"),
        (lambda p: p["payload"].update(object=[]), "payload.object is missing or not an object"),
        (lambda p: p["payload"]["object"].update(completed_at_iso8601="soon"), "not an ISO 8601 time"),
        (
            lambda p: p["payload"]["object"].update(completed_at_iso8601="2025-11-27T06:15:42"),
            "payload.object.completed_at_iso8601: '2025-11-27T06:15:42' has no UTC offset",
        ),
        (lambda p: p["payload"]["resource"].update(reasons=[1]), "payload.resource.reasons must be"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A workflow run missing what the mapping needs fails, saying which path is wrong."""
    settings = example_settings()
    source = settings.sources["onfido"]
    payload = json.loads((PAYLOADS / "workflow_run.completed.json").read_bytes())
    mutate(payload)
    delivery = Delivery("k", "workflow_run.completed", json.dumps(payload).encode())
    outcome = map_event(delivery, source, onfido.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_an_unknown_event_type_is_refused_by_the_transform() -> None:
    """The transform names an event type it does not know rather than guessing."""
    with pytest.raises(TransformError, match=re.escape("onfido has no transform for 'report.completed'")):
        onfido.transform("report.completed", json.loads((SAMPLES / PUBLISHED[0][0]).read_bytes()))


def test_the_run_status_falls_back_to_the_resource() -> None:
    """A run whose object has no status takes the resource's, and an error's type and message come through."""
    payload = json.loads((PAYLOADS / "workflow_run.completed.json").read_bytes())
    del payload["payload"]["object"]["status"]
    payload["payload"]["resource"].update(
        status="error", error={"type": "timeout", "message": "took too long"}
    )
    [values] = onfido.transform("workflow_run.completed", payload)
    assert values["status"] == "error"
    assert (values["error_type"], values["error_message"]) == ("timeout", "took too long")
