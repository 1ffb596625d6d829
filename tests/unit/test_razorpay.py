"""Razorpay: the verifier against published vectors and the official SDK, and the transform's goldens."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import razorpay as razorpay_sdk
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import Settings
from bridge.pipeline.transform import Delivery, Failed, map_event
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, razorpay

SAMPLES = Path(__file__).parents[1] / "samples" / "razorpay"
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
    assert idempotency_key_of(razorpay.SOURCE, body, Headers({"x-razorpay-event-id": "Ev_1"})) == "Ev_1"
    assert idempotency_key_of(razorpay.SOURCE, body).startswith("sha256:")


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
    delivery = Delivery("k", "payment.captured", json.dumps(payload).encode())
    outcome = map_event(delivery, source, razorpay.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_the_published_sample_maps_once_it_carries_an_opportunity() -> None:
    """Razorpay's own payment.authorized mock maps its values (amount in rupees, UTC time)."""
    values = razorpay.transform("payment.authorized", json.loads((SAMPLES / PUBLISHED[0][0]).read_bytes()))
    [only] = values
    assert only["payment_id"] == "pay_6koWN7bvxujzxM"
    assert only["amount"] == "10000.00"
    assert only["paid_at"] == "2016-11-24 09:08:03"
    assert only["error_code"] is None


def test_the_sdk_accepts_the_published_signature_over_the_authorized_mock() -> None:
    """razorpay-python verifies its published signature over its payment.authorized mock, newline too."""
    name, secret, signature = PUBLISHED[0]
    body = (SAMPLES / name).read_bytes()
    assert SDK.verify_webhook_signature(body.decode("utf-8"), signature, secret)
    assert SCHEME.sign(body, secret, now=0) == {"X-Razorpay-Signature": signature}
    with pytest.raises(razorpay_sdk.errors.SignatureVerificationError):
        SDK.verify_webhook_signature(body.decode("utf-8").rstrip("\n"), signature, secret)


def sample(event_type: str) -> dict[str, Any]:
    """Return the shipped sample of an event type, parsed."""
    payload: dict[str, Any] = json.loads((PAYLOADS / f"{event_type}.json").read_bytes())
    return payload


@pytest.mark.parametrize(
    ("new", "core"), [("payment.authorized", "payment.captured"), ("refund.created", "refund.processed")]
)
def test_authorized_and_created_events_yield_what_their_settled_twins_do(new: str, core: str) -> None:
    """payment.authorized and refund.created read their entity as payment.captured and refund.processed do."""
    payload = sample(core)
    payload["event"] = new
    assert razorpay.transform(new, payload) == razorpay.transform(core, payload)


def test_a_created_refund_has_no_speed_until_it_is_processed() -> None:
    """A pending refund's amount is in rupees and its absent speed_processed is None, not an error."""
    [values] = razorpay.transform("refund.created", sample("refund.created"))
    assert values["refund_id"] == "rfnd_DETa7cKpXq2LmW"
    assert values["amount"] == "1200.00"
    assert values["status"] == "pending"
    assert values["speed"] is None
    assert values["refunded_at"] == "2025-11-30 08:00:00"


def test_a_paid_payment_link_yields_the_link_the_order_and_the_payment() -> None:
    """payment_link.paid converts the link's paise to rupees and keeps its reference, URL and status."""
    [values] = razorpay.transform("payment_link.paid", sample("payment_link.paid"))
    assert values["payment_link_id"] == "plink_DEUcY4nWq8RtZa"
    assert values["payment_link_amount"] == "7499.00"
    assert values["payment_link_amount_paid"] == "7499.00"
    assert values["payment_link_reference_id"] == "QUOTE-2026-004512"
    assert values["payment_link_short_url"] == "https://rzp.io/i/kQ7vX2dPz"
    assert values["payment_link_status"] == "paid"
    assert values["payment_id"] == "pay_DEUhM1sGk7VbNc"
    assert values["order_id"] == "order_DEUcYB2mHfPqLs"
    assert values["order_amount"] == "7499.00"
    assert values["paid_at"] == "2025-12-01 10:50:00"


def test_a_partly_described_payment_link_leaves_its_optional_values_out() -> None:
    """A link without reference id, short URL or amount_paid yields None for each, and paise stay exact."""
    payload = sample("payment_link.paid")
    link = payload["payload"]["payment_link"]["entity"]
    for key in ("reference_id", "short_url", "amount_paid"):
        del link[key]
    link["amount"] = 100001
    [values] = razorpay.transform("payment_link.paid", payload)
    assert values["payment_link_reference_id"] is None
    assert values["payment_link_short_url"] is None
    assert values["payment_link_amount_paid"] is None
    assert values["payment_link_amount"] == "1000.01"


def test_a_charged_subscription_yields_its_period_as_leadsquared_times() -> None:
    """subscription.charged turns current_start, current_end and charge_at into UTC 'YYYY-MM-DD HH:MM:SS'."""
    [values] = razorpay.transform("subscription.charged", sample("subscription.charged"))
    assert values["subscription_id"] == "sub_DEWq3TnYb6KsHr"
    assert values["plan_id"] == "plan_DEWnV8cLp2XgQe"
    assert values["subscription_status"] == "active"
    assert values["paid_count"] == "3"
    assert values["period_start"] == "2025-11-30 18:30:00"
    assert values["period_end"] == "2025-12-31 18:30:00"
    assert values["next_charge_at"] == "2025-12-31 18:30:00"
    assert values["payment_id"] == "pay_DEWxK7pQd2RfLm"
    assert values["amount"] == "1499.00"


def test_a_last_subscription_charge_has_no_next_charge() -> None:
    """A subscription with charge_at null (its last charge) and no plan_id yields None for both."""
    payload = sample("subscription.charged")
    subscription = payload["payload"]["subscription"]["entity"]
    subscription["charge_at"] = None
    subscription["status"] = "completed"
    del subscription["plan_id"]
    [values] = razorpay.transform("subscription.charged", payload)
    assert values["next_charge_at"] is None
    assert values["plan_id"] is None
    assert values["subscription_status"] == "completed"


@pytest.mark.parametrize(
    ("event_type", "mutate", "reason"),
    [
        (
            "payment_link.paid",
            lambda p: p["payload"].pop("payment_link"),
            "payload.payment_link.entity is missing",
        ),
        ("payment_link.paid", lambda p: p["payload"].pop("order"), "payload.order.entity is missing"),
        (
            "payment_link.paid",
            lambda p: p["payload"]["payment_link"]["entity"].pop("id"),
            "payload.payment_link.entity.id is missing",
        ),
        (
            "payment_link.paid",
            lambda p: p["payload"]["payment_link"]["entity"].update(amount_paid=7499.0),
            "payload.payment_link.entity.amount_paid: an amount in paise must be a whole number",
        ),
        ("subscription.charged", lambda p: p["payload"].pop("payment"), "payload.payment.entity is missing"),
        (
            "subscription.charged",
            lambda p: p["payload"]["subscription"]["entity"].pop("id"),
            "payload.subscription.entity.id is missing",
        ),
        (
            "subscription.charged",
            lambda p: p["payload"]["subscription"]["entity"].update(current_end="2025-12-31"),
            "subscription.current_end: a Unix time must be a number",
        ),
    ],
)
def test_new_events_missing_what_they_need_fail_naming_the_path(
    event_type: str, mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A link or subscription event without a required entity, id or readable value fails, naming it."""
    payload = sample(event_type)
    mutate(payload)
    with pytest.raises(TransformError) as caught:
        razorpay.transform(event_type, payload)
    assert reason in str(caught.value)


@pytest.mark.parametrize("event_type", ["payment_link.paid", "subscription.charged"])
def test_links_and_subscriptions_find_the_opportunity_in_their_own_notes(event_type: str) -> None:
    """The example maps these events though the payment's notes are empty; without their own it fails."""
    settings = example_settings()
    source = settings.sources["razorpay"]
    account = settings.accounts[source.account]
    payload = sample(event_type)
    assert payload["payload"]["payment"]["entity"]["notes"] == []
    delivery = Delivery("k", event_type, json.dumps(payload).encode())
    assert not isinstance(map_event(delivery, source, razorpay.SOURCE, account), Failed)
    entity = "payment_link" if event_type == "payment_link.paid" else "subscription"
    payload["payload"][entity]["entity"]["notes"] = []
    delivery = Delivery("k", event_type, json.dumps(payload).encode())
    outcome = map_event(delivery, source, razorpay.SOURCE, account)
    assert isinstance(outcome, Failed)
    assert f"payload.{entity}.entity.notes.opportunity_id" in outcome.reason
