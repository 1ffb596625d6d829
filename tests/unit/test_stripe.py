"""Stripe: the verifier against a derived vector and the official SDK, and the transform."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe as stripe_sdk
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import AccountSettings, SourceSettings
from bridge.pipeline.transform import Delivery, Failed, map_event
from bridge.sources.kind import TransformError
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, stripe

SAMPLES = Path(__file__).parents[1] / "samples" / "stripe"
PAYLOADS = ROOT / "transforms" / "samples" / "stripe"
SCHEME = stripe.SOURCE.signature
HEADER = "Stripe-Signature"
SECRET = "whsec_test_secret"

# Derived: stripe-python's DUMMY_WEBHOOK_PAYLOAD, secret and t=12345 from its
# tests; v1 computed with the SDK's formula (shared/reference/samples/vectors.json).
VECTOR_FILE = "test_webhook_dummy_payload.json"
VECTOR_HEADER = "t=12345,v1=07b1ede164afb7b5de91267ffa656f568c65d6e0783ce0ac55ee094643578eda"

# What each sample changed in the stripe/openapi fixture it wraps (README.md says why).
FIXTURE_EDITS = {
    "payment_intent.succeeded": (
        "fixture_payment_intent.json",
        {"amount_received", "canceled_at", "last_payment_error", "latest_charge", "metadata"}
        | {"receipt_email", "status"},
    ),
    "payment_intent.payment_failed": (
        "fixture_payment_intent.json",
        {"canceled_at", "last_payment_error", "metadata"},
    ),
    "checkout.session.completed": (
        "fixture_checkout_session.json",
        {"amount_subtotal", "amount_total", "currency", "metadata", "payment_status", "status"},
    ),
    "charge.refunded": (
        "fixture_charge.json",
        {"amount_captured", "amount_refunded", "captured", "metadata", "payment_intent"}
        | {"receipt_email", "refunded", "refunds"},
    ),
}


def sample_paths() -> list[Path]:
    """Return the shipped sample deliveries."""
    return sorted(PAYLOADS.glob("*.json"))


def test_the_derived_vector_verifies_with_the_clock_pinned() -> None:
    """stripe-python's dummy payload, secret and t=12345 give the vector's v1, byte for byte."""
    body = (SAMPLES / VECTOR_FILE).read_bytes()
    SCHEME.verify(body, Headers({HEADER: VECTOR_HEADER}), [SECRET], now=12345)
    SCHEME.verify(body, Headers({HEADER: VECTOR_HEADER}), [SECRET], now=12345 + 300)
    assert SCHEME.sign(body, SECRET, now=12345) == {HEADER: VECTOR_HEADER}
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: VECTOR_HEADER}), [SECRET], now=12345 + 301)
    assert caught.value.reason == "stale_timestamp"


def test_the_sdk_accepts_the_vector() -> None:
    """The official SDK agrees with the derived vector (its tolerance off, as its own test does)."""
    body = (SAMPLES / VECTOR_FILE).read_bytes()
    assert stripe_sdk.WebhookSignature.verify_header(body, VECTOR_HEADER, SECRET, tolerance=None)


@pytest.mark.parametrize("path", sample_paths(), ids=lambda path: path.stem)
def test_the_sdk_accepts_what_we_sign_and_refuses_a_flipped_byte(path: Path) -> None:
    """stripe.Webhook.construct_event verifies our sign(); one flipped byte fails it."""
    body = path.read_bytes()
    header = SCHEME.sign(body, SECRET, time.time())[HEADER]
    event = stripe_sdk.Webhook.construct_event(body, header, SECRET, tolerance=300)
    assert event.id == json.loads(body)["id"]
    flipped = body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:]
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.Webhook.construct_event(flipped, header, SECRET, tolerance=300)


@pytest.mark.parametrize("path", sample_paths(), ids=lambda path: path.stem)
def test_we_accept_what_the_sdk_signs(path: Path) -> None:
    """A header built with the SDK's _compute_signature, or its generate_signature_header, verifies."""
    body = path.read_bytes()
    payload = body.decode("utf-8")
    now = int(time.time())
    signature = stripe_sdk.WebhookSignature._compute_signature(f"{now}.{payload}", SECRET)
    SCHEME.verify(body, Headers({HEADER: f"t={now},v1={signature}"}), [SECRET], now)
    generated = stripe_sdk.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=now)
    SCHEME.verify(body, Headers({HEADER: generated}), [SECRET], now)


def test_any_of_several_v1_verifies_and_v0_is_ignored() -> None:
    """While a secret rolls Stripe sends one v1 per secret: either configured secret passes, as in the SDK."""
    body = sample_paths()[0].read_bytes()
    now = int(time.time())
    old = stripe_sdk.WebhookSignature._compute_signature(f"{now}.{body.decode()}", "whsec_old")
    new = stripe_sdk.WebhookSignature._compute_signature(f"{now}.{body.decode()}", "whsec_new")
    header = f"t={now},v1={old},v1={new},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    for configured in (["whsec_new"], ["whsec_old"], ["whsec_other", "whsec_new"]):
        SCHEME.verify(body, Headers({HEADER: header}), configured, now)
        assert stripe_sdk.WebhookSignature.verify_header(body, header, configured[-1], tolerance=300)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: header}), ["whsec_other"], now)
    assert caught.value.reason == "bad_signature"


def test_a_v0_alone_is_no_signature() -> None:
    """A header with only a v0 (the old test-mode scheme) is malformed for us, and refused by the SDK."""
    body = sample_paths()[0].read_bytes()
    header = "t=12345,v0=" + "0" * 64
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: header}), [SECRET], now=12345)
    assert caught.value.reason == "bad_signature_header"
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.WebhookSignature.verify_header(body, header, SECRET, tolerance=None)


def test_a_future_timestamp_is_refused_where_the_sdk_lets_it_through() -> None:
    """Beyond the tolerance ahead of now we refuse; stripe-python only checks the past."""
    body = sample_paths()[0].read_bytes()
    now = time.time()
    header = SCHEME.sign(body, SECRET, now + 301)[HEADER]
    assert stripe_sdk.WebhookSignature.verify_header(body, header, SECRET, tolerance=300)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: header}), [SECRET], now)
    assert caught.value.reason == "stale_timestamp"


def test_a_past_timestamp_is_refused_by_both() -> None:
    """Beyond the tolerance behind now, the SDK and we both refuse."""
    body = sample_paths()[0].read_bytes()
    now = time.time()
    header = SCHEME.sign(body, SECRET, now - 301)[HEADER]
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.WebhookSignature.verify_header(body, header, SECRET, tolerance=300)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: header}), [SECRET], now)
    assert caught.value.reason == "stale_timestamp"


def test_the_secret_is_used_as_given_not_base64_decoded() -> None:
    """The whole whsec_... string keys the HMAC as UTF-8: the secret without its prefix fails."""
    body = (SAMPLES / VECTOR_FILE).read_bytes()
    with pytest.raises(SignatureError):
        SCHEME.verify(body, Headers({HEADER: VECTOR_HEADER}), ["test_secret"], now=12345)


def test_the_event_id_is_the_idempotency_key() -> None:
    """The event's id is the key; a body without one falls back to its hash."""
    body = (PAYLOADS / "payment_intent.succeeded.json").read_bytes()
    assert idempotency_key_of(stripe.SOURCE, body) == "evt_3PgafyB7WZ01zgkW0sUccEed"
    assert idempotency_key_of(stripe.SOURCE, b'{"object": "event"}').startswith("sha256:")


@pytest.mark.parametrize("stem", sorted(FIXTURE_EDITS))
def test_samples_wrap_the_openapi_fixtures_changed_only_where_listed(stem: str) -> None:
    """Each sample's data.object is its stripe/openapi fixture but for the keys its README lists."""
    fixture_name, edited = FIXTURE_EDITS[stem]
    fixture = json.loads((SAMPLES / fixture_name).read_bytes())
    sample = json.loads((PAYLOADS / f"{stem}.json").read_bytes())
    wrapped = sample["data"]["object"]
    assert set(wrapped) == set(fixture)
    assert {key for key in fixture if fixture[key] != wrapped[key]} == edited
    assert wrapped["metadata"]["opportunity_id"]
    envelope = json.loads((SAMPLES / "fixture_event.json").read_bytes())
    assert set(sample) == set(envelope)
    assert sample["type"] == stem


def test_the_refund_in_the_refunded_charge_is_the_refund_fixture() -> None:
    """charge.refunded lists the stripe/openapi refund object unchanged."""
    refund = json.loads((SAMPLES / "fixture_refund.json").read_bytes())
    sample = json.loads((PAYLOADS / "charge.refunded.json").read_bytes())
    assert sample["data"]["object"]["refunds"]["data"] == [refund]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (149900, "INR", "1499.00"),
        (1099, "usd", "10.99"),
        (5, "INR", "0.05"),
        (0, "INR", "0.00"),
        (500, "JPY", "500.00"),
        (500, "jpy", "500.00"),
        (12000, "KRW", "12000.00"),
        (5120, "KWD", "5.120"),
        (50000, "ISK", "500.00"),
        (1099, None, "10.99"),
    ],
)
def test_amounts_become_major_units(amount: int, currency: str | None, expected: str) -> None:
    """Minor units become major units: paise to rupees, yen as they are, dinars in thousandths."""
    assert stripe.major_units(amount, currency) == expected


@pytest.mark.parametrize("amount", [10.99, "1099", True])
def test_an_amount_that_is_not_a_whole_number_is_refused(amount: Any) -> None:
    """Stripe sends integers; anything else is a ValueError, never a guess."""
    with pytest.raises(ValueError, match="whole number"):
        stripe.major_units(amount, "INR")


def example_source_settings() -> tuple[SourceSettings, AccountSettings]:
    """Return the example configuration's Stripe source and its account."""
    settings = load_settings(ROOT / "bridge.example.toml", {}, REGISTRY, require_secrets=False)
    source = settings.sources["stripe"]
    return source, settings.accounts[source.account]


@pytest.mark.parametrize(
    ("stem", "mutate", "reason"),
    [
        ("payment_intent.succeeded", lambda p: p["data"]["object"].pop("id"), "data.object.id is missing"),
        ("payment_intent.succeeded", lambda p: p["data"].pop("object"), "no opportunity id"),
        ("payment_intent.succeeded", lambda p: p["data"]["object"].update(amount="10.99"), "whole number"),
        ("payment_intent.succeeded", lambda p: p["data"]["object"].update(metadata={}), "no opportunity id"),
        ("payment_intent.succeeded", lambda p: p["data"]["object"].update(object="charge"), "not a"),
        ("payment_intent.succeeded", lambda p: p.update(created="yesterday"), "must be a number"),
        ("charge.refunded", lambda p: p["data"]["object"].update(amount_refunded=1.5), "whole number"),
        ("checkout.session.completed", lambda p: p["data"]["object"].update(created=1e20), "not a Unix"),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    stem: str, mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, saying what is missing."""
    source, account = example_source_settings()
    payload = json.loads((PAYLOADS / f"{stem}.json").read_bytes())
    mutate(payload)
    delivery = Delivery("k", stem, json.dumps(payload).encode())
    outcome = map_event(delivery, source, stripe.SOURCE, account)
    assert isinstance(outcome, Failed)
    assert reason in outcome.reason


def test_payment_failed_carries_the_error_and_succeeded_the_amount_received() -> None:
    """The failure's code and message, and what was received, are values a mapping can use."""
    failed = json.loads((PAYLOADS / "payment_intent.payment_failed.json").read_bytes())
    [values] = stripe.transform("payment_intent.payment_failed", failed)
    assert values["failure_code"] == "card_declined"
    assert values["failure_decline_code"] == "insufficient_funds"
    assert values["failure_message"] == "Your card has insufficient funds."
    assert values["status"] == "requires_payment_method"
    succeeded = json.loads((PAYLOADS / "payment_intent.succeeded.json").read_bytes())
    [values] = stripe.transform("payment_intent.succeeded", succeeded)
    assert (values["amount_received"], values["currency"]) == ("10.99", "USD")
    assert values["email"] == "jenny.rosen@example.com"
    assert values["created_at"] == "2009-02-13 23:31:30"
    assert values["failure_code"] is None


def test_expanded_objects_and_unexpanded_refunds_are_read() -> None:
    """An expanded customer gives its id; a charge without its refunds list has no refund ids."""
    payload = json.loads((PAYLOADS / "charge.refunded.json").read_bytes())
    payload["data"]["object"]["customer"] = {"id": "cus_123", "object": "customer"}
    del payload["data"]["object"]["refunds"]
    [values] = stripe.transform("charge.refunded", payload)
    assert values["customer_id"] == "cus_123"
    assert values["refund_ids"] is None


def test_an_unknown_event_type_or_a_missing_object_has_no_transform() -> None:
    """Only the events the source lists are transformed, and only with their object."""
    with pytest.raises(TransformError, match="no transform"):
        stripe.transform("plan.created", json.loads((SAMPLES / "fixture_event.json").read_bytes()))
    with pytest.raises(TransformError, match=r"data\.object is missing"):
        stripe.transform("charge.refunded", {"id": "evt_1", "type": "charge.refunded", "data": {}})
