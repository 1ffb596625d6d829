"""Razorpay: the verifier against published vectors and the official SDK, and the transform's goldens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import razorpay as razorpay_sdk
from werkzeug.datastructures import Headers

from bridge.config import load_settings
from bridge.mapping import Failed, map_event
from bridge.settings import Settings
from bridge.signatures import SignatureError
from bridge.store.inbox import StoredEvent
from tests.conftest import ROOT
from transforms import REGISTRY, razorpay

SAMPLES = Path(__file__).parent / "samples" / "razorpay"
PAYLOADS = ROOT / "transforms" / "samples" / "razorpay"
SCHEME = razorpay.SOURCE.signature
SDK = razorpay_sdk.Client(auth=("key_id", "key_secret")).utility

PUBLISHED = [
    (
        "payment_authorized_webhook.json",
        "key_secret",
        "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9",
    ),
    (
        "node_utils_minimal_body.json",
        "123456",
        "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc",
    ),
]


@pytest.mark.parametrize(("name", "secret", "signature"), PUBLISHED)
def test_published_vectors_verify_byte_for_byte(name: str, secret: str, signature: str) -> None:
    """Razorpay's own published signatures verify over the exact file bytes."""
    body = (SAMPLES / name).read_bytes()
    SCHEME.verify(body, Headers({"X-Razorpay-Signature": signature}), [secret], now=0)
    assert SCHEME.sign(body, secret, now=0) == {"X-Razorpay-Signature": signature}


def test_the_trailing_newline_is_part_of_what_is_signed() -> None:
    """Stripping the sample's final newline breaks its published signature."""
    name, secret, signature = PUBLISHED[0]
    body = (SAMPLES / name).read_bytes()
    assert body.endswith(b"\n")
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body.rstrip(b"\n"), Headers({"X-Razorpay-Signature": signature}), [secret], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_our_signatures_are_what_the_razorpay_sdk_accepts(name: str) -> None:
    """The official SDK verifies every signature we make, and refuses a flipped byte."""
    body = (SAMPLES / name).read_bytes()
    signature = SCHEME.sign(body, "rotating-secret", now=0)["X-Razorpay-Signature"]
    assert SDK.verify_webhook_signature(body.decode("utf-8"), signature, "rotating-secret")
    flipped = bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(razorpay_sdk.errors.SignatureVerificationError):
        SDK.verify_webhook_signature(flipped.decode("utf-8"), signature, "rotating-secret")


def test_any_configured_secret_verifies_and_none_other() -> None:
    """With two secrets configured (rotation) either passes; a third does not."""
    body = (SAMPLES / PUBLISHED[0][0]).read_bytes()
    for secret in ("new", "old"):
        headers = Headers(SCHEME.sign(body, secret, now=0))
        SCHEME.verify(body, headers, ["new", "old"], now=0)
    with pytest.raises(SignatureError):
        SCHEME.verify(body, Headers(SCHEME.sign(body, "other", now=0)), ["new", "old"], now=0)


@pytest.mark.parametrize("value", ["", "   ", "zz", "D60E67FD", "é"])
def test_malformed_signatures_are_refused_cleanly(value: str) -> None:
    """Empty, short, non-hex or non-ASCII header values are a SignatureError, never a crash."""
    body = (SAMPLES / PUBLISHED[0][0]).read_bytes()
    with pytest.raises(SignatureError):
        SCHEME.verify(body, Headers({"X-Razorpay-Signature": value}), ["key_secret"], now=0)


def test_the_event_id_header_is_the_idempotency_key() -> None:
    """x-razorpay-event-id is the key; without it the key is the body's hash."""
    body = b"{}"
    assert razorpay.idempotency_key(Headers({"x-razorpay-event-id": "Ev_1"}), body) == "Ev_1"
    assert razorpay.idempotency_key(Headers(), body).startswith("sha256:")


def example_settings() -> Settings:
    """Load bridge.example.toml, the configuration users start from."""
    return load_settings(ROOT / "bridge.example.toml", {"RAZORPAY_WEBHOOK_SECRET": "x"}, REGISTRY)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p["payload"]["payment"]["entity"].pop("id"), "payload.payment.entity.id is missing"),
        (lambda p: p["payload"]["payment"]["entity"].update(amount="25000.50"), "whole number"),
        (lambda p: p["payload"]["payment"]["entity"].update(notes=[]), "no opportunity id"),
        (lambda p: p["payload"]["payment"]["entity"]["notes"].update(opportunity_id=""), "no opportunity id"),
        (lambda p: p.update(payload="oops"), "no opportunity id"),
        (lambda p: p["payload"]["payment"]["entity"].update(created_at=1e20), "not a Unix time"),
        (lambda p: p["payload"]["payment"]["entity"].update(created_at="yesterday"), "must be a number"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, saying what is missing."""
    settings = example_settings()
    source = settings.sources["razorpay"]
    payload = json.loads((PAYLOADS / "payment.captured.json").read_text())
    mutate(payload)
    stored = StoredEvent(1, "razorpay", "k", "payment.captured", json.dumps(payload).encode())
    outcome = map_event(stored, source, razorpay.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_the_published_sample_maps_once_it_carries_an_opportunity() -> None:
    """Razorpay's own payment.authorized mock maps its values (amount in rupees, UTC time)."""
    values = razorpay.transform("payment.captured", json.loads((SAMPLES / PUBLISHED[0][0]).read_bytes()))
    [only] = values
    assert only["payment_id"] == "pay_6koWN7bvxujzxM"
    assert only["amount"] == "10000.00"
    assert only["paid_at"] == "2016-11-24 09:08:03"
    assert only["error_code"] is None
