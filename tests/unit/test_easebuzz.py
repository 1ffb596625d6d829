"""Easebuzz: the reverse hash against the fact sheet's vector, tampering, keys and values."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.kind import TransformError
from bridge.sources.payload import parse_form
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.easebuzz_hash import EasebuzzReverseHash
from bridge.sources.signatures.payu_hash import PayuReverseHash
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import easebuzz

SCHEME = easebuzz.SOURCE.signature
SAMPLES = ROOT / "transforms" / "samples" / "easebuzz"
# The fact sheet's computed vector (webhook-sources-2 §1.4), byte for byte.
VECTOR_FIELDS = {
    "key": "KEY",
    "txnid": "T1",
    "amount": "100.0",
    "productinfo": "Course",
    "firstname": "Asha",
    "email": "a@b.in",
    "udf1": "LEAD-42",
    "status": "success",
}
VECTOR_SALT = "SALT"
VECTOR_STRING = "SALT|success||||||||||LEAD-42|a@b.in|Asha|Course|100.0|T1|KEY"
VECTOR_HASH = (
    "5a5a83ff3e057c5642ef237f13f90be9c85b7161f896c518d747ad80056cec94"
    "fc2de20dec00923f8ded8252e4bd04809b71f56760184592f0ae11541ddc0066"
)
HASHED = ("status", "udf1", "udf6", "udf10", "email", "firstname", "productinfo", "amount", "txnid", "key")
UNHASHED = ("easepayid", "mode", "phone", "bank_ref_num", "addedon", "error_Message")


def signed(fields: dict[str, str], salt: str = VECTOR_SALT) -> bytes:
    """Return the form Easebuzz would post for these fields under a salt."""
    return EasebuzzReverseHash().signed_form(fields, salt)


def test_the_fact_sheet_vector_verifies_byte_for_byte() -> None:
    """The published string hashes to the published digest, which the scheme accepts for those fields."""
    assert VECTOR_STRING.count("|") == 17
    assert hashlib.sha512(VECTOR_STRING.encode()).hexdigest() == VECTOR_HASH
    assert EasebuzzReverseHash().digest(VECTOR_FIELDS, VECTOR_SALT) == VECTOR_HASH
    SCHEME.verify(urlencode({**VECTOR_FIELDS, "hash": VECTOR_HASH}).encode(), Headers(), ["SALT"], now=0)


def test_udf6_to_udf10_are_hashed_unlike_payu() -> None:
    """Easebuzz hashes udf10..udf6 where PayU leaves blanks, and takes no additionalCharges prefix."""
    fields = {**VECTOR_FIELDS, "udf7": "x", "additionalCharges": "2.50"}
    digest = hashlib.sha512(b"SALT|success||||x||||||LEAD-42|a@b.in|Asha|Course|100.0|T1|KEY").hexdigest()
    assert EasebuzzReverseHash().digest(fields, VECTOR_SALT) == digest
    assert PayuReverseHash().digest(fields, VECTOR_SALT) != digest


def test_any_configured_salt_verifies_and_a_wrong_one_does_not() -> None:
    """Either of two salts (a change of salt) verifies; a wrong salt is refused as bad_signature."""
    body = signed(VECTOR_FIELDS, "old-salt")
    SCHEME.verify(body, Headers(), ["new-salt", "old-salt"], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), ["wrong-salt"], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", HASHED)
def test_a_tampered_hashed_field_is_refused(name: str) -> None:
    """Changing any field the hash covers (udf6..udf10 included) breaks the hash."""
    fields = parse_form(signed(VECTOR_FIELDS))
    fields[name] = fields.get(name, "") + "0"
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(fields).encode(), Headers(), [VECTOR_SALT], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", UNHASHED)
def test_fields_outside_the_hash_are_not_protected(name: str) -> None:
    """easepayid, mode, phone, ... are outside the hash: changing them still verifies (a known weakness)."""
    fields = parse_form(signed(VECTOR_FIELDS))
    fields[name] = "changed"
    SCHEME.verify(urlencode(fields).encode(), Headers(), [VECTOR_SALT], now=0)


def test_an_amount_is_hashed_as_the_text_posted() -> None:
    """100.0 and 100.00 are the same rupees but different strings: the hash tells them apart."""
    fields = parse_form(signed(VECTOR_FIELDS))
    fields["amount"] = "100.00"
    with pytest.raises(SignatureError):
        SCHEME.verify(urlencode(fields).encode(), Headers(), [VECTOR_SALT], now=0)


def test_a_form_without_a_hash_is_missing_its_signature() -> None:
    """No hash field at all is missing_signature, not a crash."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(VECTOR_FIELDS).encode(), Headers(), [VECTOR_SALT], now=0)
    assert caught.value.reason == "missing_signature"


def test_the_idempotency_key_is_the_hashed_txnid_and_status() -> None:
    """txnid:<id>:<status>, both hashed; editing the unhashed easepayid mints no new key."""
    body = signed({**VECTOR_FIELDS, "easepayid": "E1"})
    assert idempotency_key_of(easebuzz.SOURCE, body) == "txnid:T1:success"
    edited = signed({**VECTOR_FIELDS, "easepayid": "E2"})
    assert idempotency_key_of(easebuzz.SOURCE, edited) == "txnid:T1:success"
    assert idempotency_key_of(easebuzz.SOURCE, b"status=success").startswith("sha256:")


def test_the_transform_reads_the_failure_sample() -> None:
    """The failure sample: error_Message, a blank bank_ref_num as None, 2500.5 as 2500.50, IST as UTC."""
    payload = parse_form((SAMPLES / "failure.form").read_bytes())
    assert easebuzz.event_type(payload) == "failure"
    [values] = easebuzz.transform("failure", payload)
    assert values["error_message"] == "Card declined by the issuing bank"
    assert values["bank_ref_num"] is None
    assert values["amount"] == "2500.50"
    assert values["added_at"] == "2025-11-27 20:30:00"


def test_a_bad_amount_fails_the_transform_naming_the_field() -> None:
    """An amount that is not plain rupees is refused with its field named, not guessed at."""
    payload = {**parse_form((SAMPLES / "success.form").read_bytes()), "amount": "1,000.00"}
    with pytest.raises(TransformError, match="amount"):
        easebuzz.transform("success", payload)


def test_samples_are_hashed_with_the_demo_salt() -> None:
    """The shipped samples verify under make run's demo salt."""
    for path in sorted(SAMPLES.glob("*.form")):
        SCHEME.verify(path.read_bytes(), Headers(), ["demo-easebuzz-secret"], now=0)
