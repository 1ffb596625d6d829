"""Leegality: the mac over documentId (the fact sheet's vector), what it leaves uncovered, keys and values."""

from __future__ import annotations

import hashlib
import json

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.kind import TransformError
from bridge.sources.senders import signed_delivery
from bridge.sources.signatures import SignatureError
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import leegality

SCHEME = leegality.SOURCE.signature
SAMPLES = ROOT / "transforms" / "samples" / "leegality"
# The fact sheet's vector (webhook-sources-2.md, 2.2): salt, documentId, mac.
SALT = "private_salt"
VECTOR_MAC = "811479de1eeb39c0417983fc9bc9a769feb888f7"
SUCCESS = (SAMPLES / "Success.json").read_bytes()


def with_fields(body: bytes, **fields: object) -> bytes:
    """Return the JSON body with some top-level fields replaced, the mac left as it was."""
    return json.dumps({**json.loads(body), **fields}).encode()


def verify(body: bytes, secrets: list[str]) -> None:
    """Verify a body as the receiver does: no headers, any time."""
    SCHEME.verify(body, Headers(), secrets, 0)


def test_the_fact_sheets_vector_is_the_samples_mac() -> None:
    """HMAC-SHA1 of DOC-ABC123 under private_salt is the fact sheet's hex; the sample verifies as shipped."""
    assert json.loads(SUCCESS)["documentId"] == "DOC-ABC123"
    assert json.loads(SUCCESS)["mac"] == VECTOR_MAC
    verify(SUCCESS, [SALT])
    verify(with_fields(SUCCESS, mac=VECTOR_MAC.upper()), [SALT])


def test_the_mac_covers_nothing_but_the_document_id() -> None:
    """The type, invitee and messages change freely under the same mac; another documentId is refused."""
    forged = with_fields(SUCCESS, webhookType="Rejected", request={"email": "someone@else.in"}, messages=[])
    verify(forged, [SALT])
    with pytest.raises(SignatureError) as caught:
        verify(with_fields(SUCCESS, documentId="DOC-ABC124"), [SALT])
    assert caught.value.reason == "bad_signature" and SALT not in caught.value.message


def test_any_configured_salt_verifies_and_a_wrong_one_does_not() -> None:
    """During a rotation the old salt still verifies; a salt that is not configured fails."""
    verify(SUCCESS, ["the-new-salt", SALT])
    with pytest.raises(SignatureError):
        verify(SUCCESS, ["the-new-salt"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (with_fields(SUCCESS, mac=None), "missing_signature"),
        (with_fields(SUCCESS, mac=""), "missing_signature"),
        (with_fields(SUCCESS, documentId=7), "bad_signature"),
        (b"documentId=DOC-ABC123&mac=" + VECTOR_MAC.encode(), "bad_signature"),
    ],
)
def test_a_body_without_a_mac_or_a_text_document_id_is_refused(body: bytes, reason: str) -> None:
    """No mac, a blank one, a documentId that is not text, or a body that is not JSON: each says why."""
    with pytest.raises(SignatureError) as caught:
        verify(body, [SALT])
    assert caught.value.reason == reason


def test_resign_sets_the_mac_for_another_salt_and_sign_then_adds_no_header() -> None:
    """signed_delivery rewrites the mac for its salt; sign() refuses a body whose mac is for another."""
    body, headers = signed_delivery(SCHEME, SUCCESS, "another-salt", 0)
    assert headers == {} and json.loads(body)["mac"] != VECTOR_MAC
    verify(body, ["another-salt"])
    with pytest.raises(ValueError, match="resign"):
        SCHEME.sign(SUCCESS, "another-salt", 0)


def test_the_key_is_the_document_a_digest_of_the_invitee_and_the_type() -> None:
    """documentId:invitee-<digest of the email, else the phone>:webhookType; the key shows neither."""
    kind = leegality.SOURCE
    email_digest = hashlib.sha256(b"ravi.kumar@example.com").hexdigest()[:16]
    assert idempotency_key_of(kind, SUCCESS) == f"DOC-ABC123:invitee-{email_digest}:Success"
    shouting = with_fields(SUCCESS, request={"email": "Ravi.Kumar@Example.com"})
    assert idempotency_key_of(kind, shouting) == idempotency_key_of(kind, SUCCESS)
    by_phone = with_fields(SUCCESS, request={"phone": "9800000001"})
    phone_digest = hashlib.sha256(b"9800000001").hexdigest()[:16]
    assert idempotency_key_of(kind, by_phone) == f"DOC-ABC123:invitee-{phone_digest}:Success"
    assert "9800000001" not in idempotency_key_of(kind, by_phone)
    assert idempotency_key_of(kind, with_fields(SUCCESS, documentId=None)).startswith("sha256:")


def test_two_invitees_naming_neither_email_nor_phone_are_not_one_duplicate() -> None:
    """Without an invitee to tell them apart, each notification is keyed by its own body's hash."""
    kind = leegality.SOURCE
    first = with_fields(SUCCESS, request={"name": "Ravi Kumar"})
    second = with_fields(SUCCESS, request={"name": "Asha Rao"})
    keys = {idempotency_key_of(kind, body) for body in (first, second)}
    assert len(keys) == 2 and all(key.startswith("sha256:") for key in keys)


def test_the_transform_needs_the_document_id_only() -> None:
    """A notification without request or messages still maps; without documentId it fails naming it."""
    [values] = leegality.transform("Success", {"documentId": "DOC-1", "webhookType": "Success"})
    assert values["document_id"] == "DOC-1" and values["invitee_email"] is None and values["message"] is None
    with pytest.raises(TransformError, match="documentId"):
        leegality.transform("Success", {"webhookType": "Success"})
