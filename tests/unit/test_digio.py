"""Digio: the verifier against hand-computed vectors, the key, and a tolerant transform."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from bridge.config.load import load_settings
from bridge.config.settings import Settings
from bridge.pipeline.transform import Delivery, Failed, Mapped, map_event
from bridge.sources.kind import TransformError
from bridge.sources.payload import body_hash_key
from bridge.sources.signatures.errors import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import REGISTRY, digio

PAYLOADS = ROOT / "transforms" / "samples" / "digio"
SCHEME = digio.SOURCE.signature
HEADER = "X-Digio-Checksum"
SECRET = "digio-test-secret"

# Digio publishes no vector. This body and secret are a third-party integration test's
# (its compact JSON of a KYC_REQUEST_APPROVED event); the checksum was computed with
# Python's hmac and, independently, `openssl dgst -sha256 -hmac webhook-test-secret`.
PINNED_BODY = (
    b'{"id":"WHN_TEST_1","event":"KYC_REQUEST_APPROVED","entities":["KYC_REQUEST"],'
    b'"payload":{"KYC_REQUEST":{"id":"KID_TEST_1","status":"APPROVED"}}}'
)
PINNED_SECRET = "webhook-test-secret"
PINNED_CHECKSUM = "44873be65c8961aa7287b3ec1d2630e17c0c37b63d7ee14294d6980f541b9504"


def hand_checksum(body: bytes, secret: str) -> str:
    """Return the checksum as Digio's support article describes it, computed here independently."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_the_pinned_vector_verifies() -> None:
    """A literal checksum, computed outside the bridge, verifies and is what sign() makes."""
    SCHEME.verify(PINNED_BODY, Headers({HEADER: PINNED_CHECKSUM}), [PINNED_SECRET], now=0)
    assert SCHEME.sign(PINNED_BODY, PINNED_SECRET, now=0) == {HEADER: PINNED_CHECKSUM}


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda path: path.name)
def test_hand_computed_checksums_of_the_samples_verify(path: Path) -> None:
    """hmac's hex digest of each sample's raw bytes is accepted, and is exactly what sign() makes."""
    body = path.read_bytes()
    checksum = hand_checksum(body, SECRET)
    SCHEME.verify(body, Headers({HEADER: checksum}), [SECRET], now=0)
    assert SCHEME.sign(body, SECRET, now=0) == {HEADER: checksum}


def test_an_upper_case_checksum_is_accepted() -> None:
    """Hex digits are compared without regard to case."""
    SCHEME.verify(PINNED_BODY, Headers({HEADER: PINNED_CHECKSUM.upper()}), [PINNED_SECRET], now=0)


def test_a_checksum_of_the_reserialised_body_fails() -> None:
    """A checksum over re-serialised JSON (a public integration's mistake) does not match the raw bytes."""
    body = (PAYLOADS / "doc.signed.json").read_bytes()
    reserialised = json.dumps(json.loads(body)).encode()
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers({HEADER: hand_checksum(reserialised, SECRET)}), [SECRET], now=0)
    assert caught.value.reason == "bad_signature"


def test_one_flipped_bit_fails() -> None:
    """The pinned checksum does not hold for the body with one bit changed."""
    flipped = PINNED_BODY[:-2] + bytes([PINNED_BODY[-2] ^ 1]) + PINNED_BODY[-1:]
    with pytest.raises(SignatureError):
        SCHEME.verify(flipped, Headers({HEADER: PINNED_CHECKSUM}), [PINNED_SECRET], now=0)


def test_any_configured_secret_verifies_and_none_other() -> None:
    """With two secrets configured either passes; a checksum made with a third does not."""
    for secret in ("new-secret", "old-secret"):
        headers = Headers({HEADER: hand_checksum(PINNED_BODY, secret)})
        SCHEME.verify(PINNED_BODY, headers, ["new-secret", "old-secret"], now=0)
    with pytest.raises(SignatureError):
        headers = Headers({HEADER: hand_checksum(PINNED_BODY, "other")})
        SCHEME.verify(PINNED_BODY, headers, ["new-secret", "old-secret"], now=0)


def test_a_missing_checksum_is_named() -> None:
    """A delivery without X-Digio-Checksum (no key set in Digio) is refused as missing."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(PINNED_BODY, Headers(), [PINNED_SECRET], now=0)
    assert caught.value.reason == "missing_signature"
    assert HEADER in caught.value.message


@pytest.mark.parametrize("value", ["", "   ", "bad", PINNED_CHECKSUM[:-1], "é"])
def test_malformed_checksums_are_refused_cleanly(value: str) -> None:
    """Empty, short, non-hex or non-ASCII header values are a SignatureError, never a crash."""
    with pytest.raises(SignatureError):
        SCHEME.verify(PINNED_BODY, Headers({HEADER: value}), [PINNED_SECRET], now=0)


def test_refusals_never_show_the_secret_or_the_expected_checksum() -> None:
    """A refusal's message holds neither the secret nor the checksum that would have matched."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(PINNED_BODY, Headers({HEADER: "0" * 64}), [PINNED_SECRET], now=0)
    assert PINNED_SECRET not in caught.value.message
    assert PINNED_CHECKSUM not in caught.value.message


def test_no_timestamp_is_signed() -> None:
    """Digio signs no timestamp: there is no tolerance, and an old checksum stays valid."""
    assert SCHEME.tolerance_seconds is None
    SCHEME.verify(PINNED_BODY, Headers({HEADER: PINNED_CHECKSUM}), [PINNED_SECRET], now=4e9)


def test_the_webhook_id_is_the_idempotency_key() -> None:
    """The body's id is the key; without a usable one the key is the body's hash."""
    assert idempotency_key_of(digio.SOURCE, PINNED_BODY) == "WHN_TEST_1"
    assert idempotency_key_of(digio.SOURCE, b'{"id": 12345}') == "12345"
    for body in (b"{}", b'{"id": ""}', b'{"id": true}', b'{"id": {"x": 1}}'):
        assert idempotency_key_of(digio.SOURCE, body) == body_hash_key(body)


def test_the_event_type_is_the_event_field() -> None:
    """The type is the body's event, as sent; a body without one has none."""
    assert digio.event_type(json.loads(PINNED_BODY)) == "KYC_REQUEST_APPROVED"
    assert digio.event_type({"event": ["doc.signed"]}) is None


def sample(event: str) -> dict[str, Any]:
    """Return a shipped sample delivery, parsed."""
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{event}.json").read_bytes())
    return loaded


def test_the_entity_key_is_found_in_either_case() -> None:
    """A KYC request under kyc_request or a document under DOCUMENT transforms as the samples do."""
    kyc = sample("KYC_REQUEST_APPROVED")
    kyc["payload"] = {"kyc_request": kyc["payload"]["KYC_REQUEST"]}
    assert digio.transform("KYC_REQUEST_APPROVED", kyc) == digio.transform(
        "KYC_REQUEST_APPROVED", sample("KYC_REQUEST_APPROVED")
    )
    document = sample("doc.signed")
    document["payload"] = {"DOCUMENT": document["payload"]["document"]}
    assert digio.transform("doc.signed", document) == digio.transform("doc.signed", sample("doc.signed"))


def test_a_minimal_event_transforms() -> None:
    """The third-party test's bare event (no time, no reference) yields its ids and leaves the rest out."""
    [values] = digio.transform("KYC_REQUEST_APPROVED", json.loads(PINNED_BODY))
    assert values["webhook_id"] == "WHN_TEST_1"
    assert values["kyc_request_id"] == "KID_TEST_1"
    assert values["status"] == "APPROVED"
    assert values["event_at"] is None and values["reference_id"] is None


def test_times_are_read_as_unix_seconds_or_iso_with_an_offset() -> None:
    """Both time forms become LeadSquared's UTC time; the samples use one each."""
    [approved] = digio.transform("KYC_REQUEST_APPROVED", sample("KYC_REQUEST_APPROVED"))
    [rejected] = digio.transform("KYC_REQUEST_REJECTED", sample("KYC_REQUEST_REJECTED"))
    assert approved["event_at"] == "2025-11-27 05:00:00"
    assert rejected["event_at"] == "2025-11-27 08:42:11"


@pytest.mark.parametrize(
    ("event", "mutate", "reason"),
    [
        (
            "KYC_REQUEST_APPROVED",
            lambda p: p["payload"]["KYC_REQUEST"].pop("id"),
            "payload.KYC_REQUEST.id is",
        ),
        (
            "KYC_REQUEST_REJECTED",
            lambda p: p["payload"]["KYC_REQUEST"].pop("reference_id"),
            "no opportunity id",
        ),
        (
            "KYC_REQUEST_APPROVED",
            lambda p: p.update(created_at="2025-11-27 10:30:00"),
            "created_at: '2025-11",
        ),
        ("KYC_REQUEST_APPROVED", lambda p: p.update(created_at=True), "created_at: a Unix time must be a"),
        ("doc.signed", lambda p: p["payload"]["document"].pop("id"), "payload.document.id is missing"),
        (
            "doc.signed",
            lambda p: p["payload"]["document"].pop("reference_id"),
            "payload.document.reference_id",
        ),
        (
            "doc.signed",
            lambda p: p["payload"]["document"].update(signing_parties="x"),
            "signing_parties must",
        ),
    ],
)
def test_unmappable_payloads_fail_with_a_reason(
    event: str, mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    """A payload missing what the mapping needs fails, saying which path is missing or wrong."""
    settings = example_settings()
    source = settings.sources["digio"]
    payload = sample(event)
    mutate(payload)
    delivery = Delivery("k", event, json.dumps(payload).encode())
    outcome = map_event(delivery, source, digio.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed), outcome
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        ("KYC_REQUEST_APPROVED", {"payload": {}}, "payload.KYC_REQUEST is missing (payload holds nothing)"),
        ("KYC_REQUEST_APPROVED", {"payload": []}, "payload is missing or not an object"),
        ("KYC_REQUEST_APPROVED", {"payload": {"KYC_REQUEST": "x"}}, "payload.KYC_REQUEST is not an object"),
        (
            "doc.signed",
            {"payload": {"kyc_request": {}}},
            "payload.document is missing (payload holds kyc_request)",
        ),
    ],
)
def test_a_missing_entity_is_named(event: str, payload: dict[str, Any], reason: str) -> None:
    """Without the entity its event carries, the transform says which it wanted and what it found."""
    with pytest.raises(TransformError) as caught:
        digio.transform(event, payload)
    assert str(caught.value) == reason


def test_a_time_without_an_offset_is_refused_not_guessed() -> None:
    """Digio's time format is unconfirmed: a time without an offset fails rather than being taken as IST."""
    payload = {**sample("KYC_REQUEST_APPROVED"), "created_at": "2025-11-27T10:30:00"}
    with pytest.raises(TransformError, match=r"created_at: .* has no UTC offset"):
        digio.transform("KYC_REQUEST_APPROVED", payload)


def test_an_unknown_event_type_is_refused_by_the_transform() -> None:
    """The transform names an event type it does not know, the dotted spelling included."""
    with pytest.raises(TransformError, match=re.escape("digio has no transform for 'kyc.request.approved'")):
        digio.transform("kyc.request.approved", sample("KYC_REQUEST_APPROVED"))


def test_signers_without_a_name_are_left_out() -> None:
    """Only signing parties' names make the signers value; a party without one is skipped."""
    payload = sample("doc.signed")
    payload["payload"]["document"]["signing_parties"][1].pop("name")
    [values] = digio.transform("doc.signed", payload)
    assert values["signers"] == "Asha Rao"


def example_settings() -> Settings:
    """Load bridge.example.toml, the configuration users start from, with Digio's secret set."""
    environ = {"RAZORPAY_WEBHOOK_SECRET": "x", "DIGIO_WEBHOOK_SECRET": "y"}
    return load_settings(ROOT / "bridge.example.toml", environ, REGISTRY)


def test_the_document_is_mapped_to_its_own_reference() -> None:
    """doc.signed reads the opportunity from the document, not from a KYC request."""
    settings = example_settings()
    source = settings.sources["digio"]
    body = (PAYLOADS / "doc.signed.json").read_bytes()
    outcome = map_event(Delivery("k", "doc.signed", body), source, digio.SOURCE, settings.accounts["main"])
    assert isinstance(outcome, Mapped)
    assert [a.opportunity_id for a in outcome.activities] == ["b1f6e2c4-7d0a-4a8e-9f3b-2c5d8e1a4f70"]
