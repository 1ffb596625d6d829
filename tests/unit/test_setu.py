"""Setu UPI (UMAP): the verifier against the doc's derived vector and formula, and the transform.

Setu ships no SDK for UMAP notifications; `doc_signature` restates the
Python snippet of Setu's verify-signature page (base64 of HMAC-SHA256 over the
message string) as the independent formula.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import Settings
from bridge.pipeline.transform import Delivery, Failed, Ignored, map_event
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, setu

SAMPLES = Path(__file__).parents[1] / "samples" / "setu"
PAYLOADS = ROOT / "transforms" / "samples" / "setu"
SCHEME = setu.SOURCE.signature
HEADER = "x-setu-signature"

# Derived: message and secret verbatim from Setu's verify-signature page; the
# doc's signature is a placeholder, so this one was computed with its formula.
VECTOR_FILE = "doc_verify_signature_message.json"
VECTOR_SECRET = "thisisasecretkey"
VECTOR_SIGNATURE = "o+MUlrZ2lNGYideAF5wcsoAIfLARMod5Nw3836mUjIM="
# Razorpay is switched on in the example, so its secret is needed too.
SECRETS = {
    "RAZORPAY_WEBHOOK_SECRET": "razorpay",
    "SETU_WEBHOOK_SECRET": "current",
    "SETU_WEBHOOK_SECRET_PREVIOUS": "previous",
}


def vector_body() -> bytes:
    """Return the vector's body, the exact bytes of the doc's message."""
    return (SAMPLES / VECTOR_FILE).read_bytes()


def doc_signature(message: str, secret: str) -> str:
    """Compute a signature as the Python snippet of Setu's verify-signature page does."""
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("utf-8")


def test_the_derived_vector_verifies_byte_for_byte() -> None:
    """The doc's message signed with the doc's secret verifies over the exact file bytes."""
    body = vector_body()
    assert body == b'{"id":"01J1ZBPW7Y8M6NV1YXJYGJST5Q","rrn":"418666712574"}'
    SCHEME.verify(body, Headers({HEADER: VECTOR_SIGNATURE}), [VECTOR_SECRET], now=0)
    assert SCHEME.sign(body, VECTOR_SECRET, now=0) == {HEADER: VECTOR_SIGNATURE}


@pytest.mark.parametrize(
    "path", [SAMPLES / VECTOR_FILE, *sorted(PAYLOADS.glob("*.json"))], ids=lambda path: path.name
)
def test_our_signatures_follow_the_doc_formula(path: Path) -> None:
    """What sign() makes for every body is what the doc's snippet computes over the body as text."""
    body = path.read_bytes()
    assert SCHEME.sign(body, "setusecret20chars000", now=0) == {
        HEADER: doc_signature(body.decode("utf-8"), "setusecret20chars000")
    }


def test_a_hex_digest_of_the_same_hmac_is_refused() -> None:
    """The encoding is base64: the same HMAC in hex does not verify (a hex-sending Setu would fail loudly)."""
    body = vector_body()
    hex_digest = hmac.new(VECTOR_SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: hex_digest}), [VECTOR_SECRET], now=0)
    assert caught.value.reason == "bad_signature"


def test_a_flipped_byte_or_a_trailing_newline_breaks_the_vector() -> None:
    """The signature covers every byte: a changed byte or an added newline is refused."""
    body = vector_body()
    for changed in (body + b"\n", body.replace(b"418666712574", b"418666712575")):
        with pytest.raises(SignatureError) as caught:
            SCHEME.verify(changed, Headers({HEADER: VECTOR_SIGNATURE}), [VECTOR_SECRET], now=0)
        assert caught.value.reason == "bad_signature"


def test_no_timestamp_is_signed_so_age_never_matters() -> None:
    """The scheme has no tolerance: the vector verifies at any time."""
    assert SCHEME.tolerance_seconds is None
    for now in (0.0, 1764230400.0, 4e9):
        SCHEME.verify(vector_body(), Headers({HEADER: VECTOR_SIGNATURE}), [VECTOR_SECRET], now=now)


def test_any_configured_secret_verifies_and_none_other() -> None:
    """With two secrets configured (a change of secret) either passes; a third does not."""
    body = (PAYLOADS / "payment.success.json").read_bytes()
    for secret in ("new-secret", "old-secret"):
        SCHEME.verify(body, Headers(SCHEME.sign(body, secret, now=0)), ["new-secret", "old-secret"], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(SCHEME.sign(body, "other", now=0)), ["new-secret", "old-secret"], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "missing_signature"),
        ("   ", "missing_signature"),
        (VECTOR_SIGNATURE.swapcase(), "bad_signature"),
        (VECTOR_SIGNATURE.rstrip("="), "bad_signature"),
        ("x-setu-signature value", "bad_signature"),
        ("é" + VECTOR_SIGNATURE, "bad_signature"),
    ],
)
def test_missing_and_malformed_signatures_are_refused_cleanly(value: str, reason: str) -> None:
    """An empty, re-cased, unpadded, placeholder or non-ASCII header is a SignatureError with its reason."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(vector_body(), Headers({HEADER: value}), [VECTOR_SECRET], now=0)
    assert caught.value.reason == reason
    assert VECTOR_SECRET not in caught.value.message and VECTOR_SIGNATURE not in caught.value.message


def test_the_event_id_is_the_idempotency_key() -> None:
    """eventId is the key; without a usable one the key is the body's hash."""
    body = (PAYLOADS / "payment.success.json").read_bytes()
    assert idempotency_key_of(setu.SOURCE, body) == "01KB3ZQ7X8M4N6P2R5T9V1W3Y5"
    for no_id in (vector_body(), b'{"eventId": 7}', b'{"eventId": ""}'):
        assert idempotency_key_of(setu.SOURCE, no_id).startswith("sha256:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-09-04 12:08:20.202644 +0530 IST", "2023-09-04 06:38:20"),
        ("2023-09-04 12:08:20 +0530 IST", "2023-09-04 06:38:20"),
        ("2023-09-04 12:08:20.123456789 +05:30", "2023-09-04 06:38:20"),
        ("2023-09-04T12:08:20+0530", "2023-09-04 06:38:20"),
        ("2023-09-04T06:38:20Z", "2023-09-04 06:38:20"),
    ],
)
def test_both_documented_time_forms_become_utc(text: str, expected: str) -> None:
    """Go's default time text and ISO 8601, both in Setu's docs, become LeadSquared UTC."""
    assert setu.setu_datetime(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2023-09-04 12:08:20", "2023-09-04 12:08:20 IST"])
def test_times_without_an_offset_are_refused(text: str) -> None:
    """A time that is not a time, or has no UTC offset, is a ValueError naming it."""
    with pytest.raises(ValueError, match=r"2023|yesterday"):
        setu.setu_datetime(text)


def test_every_payment_status_transforms_and_the_failure_reason_is_read() -> None:
    """Initiated and pending share the shape; a failure's reason fields are read from reason."""
    payload = sample("payment.success")
    for status in ("initiated", "pending"):
        [values] = setu.transform(f"payment.{status}", {**payload, "status": status})
        assert values["status"] == status and values["amount"] == "25000.50"
    [failed] = setu.transform("payment.failed", sample("payment.failed"))
    assert failed["reason_code"] == "payment-failed" and failed["npci_error_description"] == (
        "REMITTER BANK NOT AVAILABLE"
    )
    assert failed["merchant_reference_id"] == "2f8c1a93-6d4e-4b0f-9a72-e5c3b18d6f40"
    with pytest.raises(TransformError, match=r"mandate\.revoked"):
        setu.transform("mandate.revoked", payload)


def sample(event_type: str) -> dict[str, Any]:
    """Return a shipped sample, parsed."""
    parsed: dict[str, Any] = json.loads((PAYLOADS / f"{event_type}.json").read_bytes())
    return parsed


def example_settings() -> Settings:
    """Load bridge.example.toml with Setu's secrets set and the source switched on."""
    settings = load_settings(ROOT / "bridge.example.toml", SECRETS, REGISTRY)
    source = replace(settings.sources["setu"], enabled=True)
    return replace(settings, sources={**settings.sources, "setu": source})


def test_the_example_configures_setu_switched_off_with_a_previous_secret() -> None:
    """bridge.example.toml ships Setu off, with the current and a previous secret, mapping the final two."""
    source = load_settings(ROOT / "bridge.example.toml", SECRETS, REGISTRY).sources["setu"]
    assert not source.enabled and source.secrets == ("current", "previous")
    assert sorted(source.events) == ["payment.failed", "payment.success"]


def test_a_pending_payment_is_ignored_by_the_example() -> None:
    """payment.pending is not mapped in the example, so it is stored as ignored, not failed."""
    settings = example_settings()
    body = json.dumps({**sample("payment.success"), "eventType": "payment.pending"}).encode()
    delivery = Delivery("k", None, body)
    outcome = map_event(delivery, settings.sources["setu"], setu.SOURCE, settings.accounts["main"])
    assert outcome == Ignored("payment.pending")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.pop("id"), "id (the payment id) is missing"),
        (lambda p: p.update(id=""), "id (the payment id) is missing"),
        (lambda p: p.update(amount="999.00"), "amount: an amount in paise must be a whole number"),
        (lambda p: p.update(amount=999.5), "amount: an amount in paise must be a whole number"),
        (lambda p: p.update(eventTs="yesterday"), "eventTs: 'yesterday' is not an ISO 8601 time"),
        (lambda p: p.update(eventTs="2025-11-27 14:05:12"), "no UTC offset"),
        (lambda p: p.update(eventTs=1764232512), "eventTs: a time must be text"),
        (lambda p: p.pop("merchantReferenceId"), "no opportunity id"),
        (lambda p: p.update(merchantReferenceId={"id": "x"}), "no opportunity id"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, naming the field that is missing or wrong."""
    settings = example_settings()
    payload = sample("payment.failed")
    mutate(payload)
    delivery = Delivery("k", "payment.failed", json.dumps(payload).encode())
    outcome = map_event(delivery, settings.sources["setu"], setu.SOURCE, settings.accounts["main"])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason
