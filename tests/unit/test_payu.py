"""PayU: the reverse hash against hand-written strings, form parsing, keys and values."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.formats import rupees, utc_from_ist
from bridge.sources.payload import parse_form
from bridge.sources.senders import signed_delivery
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.payu_hash import reverse_hash, signed_form
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import payu

SCHEME = payu.SOURCE.signature
SALT = "4R38IvwiV57FwVpsgOvTXBdLE4tHUXFW"
SAMPLES = ROOT / "transforms" / "samples" / "payu"
FIELDS = {
    "mihpayid": "403993715521",
    "mode": "CC",
    "status": "success",
    "key": "JP***g",
    "txnid": "ypl938459435",
    "amount": "10.00",
    "productinfo": "iPhone",
    "firstname": "Ashish",
    "email": "test@gmail.com",
    "udf1": "opp-1",
    "udf2": "",
    "udf3": "",
    "udf4": "",
    "udf5": "",
}
# Written out by hand from PayU's formula, not by the code under test:
# SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key
HAND_STRING = f"{SALT}|success||||||||||opp-1|test@gmail.com|Ashish|iPhone|10.00|ypl938459435|JP***g"
HASHED = ("status", "udf1", "udf2", "udf5", "email", "firstname", "productinfo", "amount", "txnid", "key")
UNHASHED = ("mihpayid", "mode", "bank_ref_num", "addedon", "error_Message")


def form_with(fields: dict[str, str], digest: str) -> bytes:
    """Return a form body carrying these fields and a given hash."""
    return urlencode({**fields, "hash": digest}).encode()


def test_a_hand_computed_reverse_hash_verifies() -> None:
    """hashlib's SHA-512 of the hand-written pipe string is the hash the scheme accepts."""
    assert HAND_STRING.count("|") == 17
    digest = hashlib.sha512(HAND_STRING.encode()).hexdigest()
    assert reverse_hash(FIELDS, SALT) == digest
    SCHEME.verify(form_with(FIELDS, digest), Headers(), [SALT], now=0)
    SCHEME.verify(form_with(FIELDS, digest.upper()), Headers(), [SALT], now=0)


@pytest.mark.parametrize("name", ["additionalCharges", "additional_charges"])
def test_additional_charges_are_prepended(name: str) -> None:
    """With additionalCharges sent, the string starts with it; the plain hash no longer matches."""
    fields = {**FIELDS, name: "2.50"}
    digest = hashlib.sha512(f"2.50|{HAND_STRING}".encode()).hexdigest()
    SCHEME.verify(form_with(fields, digest), Headers(), [SALT], now=0)
    plain = hashlib.sha512(HAND_STRING.encode()).hexdigest()
    with pytest.raises(SignatureError):
        SCHEME.verify(form_with(fields, plain), Headers(), [SALT], now=0)


def test_any_configured_salt_verifies_and_a_wrong_one_does_not() -> None:
    """Either of two salts (a change of salt) verifies; a wrong salt is refused as bad_signature."""
    body = signed_form(FIELDS, "old-salt")
    SCHEME.verify(body, Headers(), ["new-salt", "old-salt"], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), ["wrong-salt"], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", HASHED)
def test_a_tampered_hashed_field_is_refused(name: str) -> None:
    """Changing any field the hash covers (the amount, the status, ...) breaks the hash."""
    fields = parse_form(signed_form(FIELDS, SALT))
    fields[name] = fields[name] + "0"
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(fields).encode(), Headers(), [SALT], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", UNHASHED)
def test_fields_outside_the_hash_are_not_protected(name: str) -> None:
    """PayU's hash leaves mihpayid, mode, ... unsigned: changing them still verifies (a known weakness)."""
    fields = parse_form(signed_form(FIELDS, SALT))
    fields[name] = "changed"
    SCHEME.verify(urlencode(fields).encode(), Headers(), [SALT], now=0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (urlencode(FIELDS).encode(), "missing_signature"),
        (form_with(FIELDS, ""), "missing_signature"),
        (b"status=success&novalue", "bad_signature"),
        (b"hash=ab&hash=cd", "bad_signature"),
        (b"hash=%ff", "bad_signature"),
        (b'{"hash": "ab"}', "bad_signature"),
    ],
)
def test_malformed_bodies_are_refused_cleanly(body: bytes, reason: str) -> None:
    """No hash, a broken form, a repeated field or non-UTF-8 is a SignatureError, never a crash."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), [SALT], now=0)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a=1&a=2", "repeats the field 'a'"),
        (b"a=1&b", "is not form data"),
        (b"a=\xff", "is not UTF-8"),
        (b"a=%ff", "is not UTF-8"),
    ],
)
def test_form_parsing_refuses_what_it_cannot_read_exactly(body: bytes, message: str) -> None:
    """Repeated keys, fields without '=' and non-UTF-8 text are ValueErrors saying which."""
    with pytest.raises(ValueError, match=message):
        parse_form(body)


def test_form_parsing_keeps_blank_values_and_decodes_once() -> None:
    """Blank fields stay as empty strings; + and %XX are decoded to the text PayU hashed."""
    assert parse_form(b"udf2=&email=a%40b.in&productinfo=Annual+plan") == {
        "udf2": "",
        "email": "a@b.in",
        "productinfo": "Annual plan",
    }


def test_sign_returns_no_headers_only_for_a_body_already_hashed_with_that_salt() -> None:
    """sign() cannot put a hash in headers: it returns {} for a correctly hashed body and refuses others."""
    body = signed_form(FIELDS, SALT)
    assert SCHEME.sign(body, SALT, now=0) == {}
    with pytest.raises(ValueError, match="resign"):
        SCHEME.sign(body, "another-salt", now=0)
    resigned, headers = signed_delivery(SCHEME, body, "another-salt", now=0)
    assert headers == {}
    SCHEME.verify(resigned, Headers(), ["another-salt"], now=0)


def test_the_idempotency_key_is_the_hashed_txnid_and_status() -> None:
    """txnid:<id>:<status>, which the hash covers; editing the unhashed mihpayid mints no new key."""
    assert idempotency_key_of(payu.SOURCE, signed_form(FIELDS, SALT)) == "txnid:ypl938459435:success"
    edited = {**FIELDS, "mihpayid": "999999999999"}
    assert idempotency_key_of(payu.SOURCE, signed_form(edited, SALT)) == "txnid:ypl938459435:success"
    assert idempotency_key_of(payu.SOURCE, b"status=success").startswith("sha256:")


@pytest.mark.parametrize(
    ("amount", "expected"), [("100", "100.00"), ("100.5", "100.50"), ("14999.00", "14999.00")]
)
def test_amounts_become_two_decimal_rupees(amount: str, expected: str) -> None:
    """PayU's rupee text is written with two decimals."""
    assert rupees(amount) == expected


@pytest.mark.parametrize("amount", ["", "abc", "NaN", "1e3", "-5", "10.005", "1,000.00"])
def test_amounts_that_are_not_plain_rupees_are_refused(amount: str) -> None:
    """Anything but digits with at most two decimals is refused rather than guessed at."""
    with pytest.raises(ValueError, match="not an amount"):
        rupees(amount)


def test_addedon_is_india_time_converted_to_utc() -> None:
    """PayU's addedon has no offset and is India time; LeadSquared gets UTC, across midnight too."""
    assert utc_from_ist("2025-11-27 14:05:31") == "2025-11-27 08:35:31"
    assert utc_from_ist("2025-11-28 02:00:00") == "2025-11-27 20:30:00"
    with pytest.raises(ValueError):
        utc_from_ist("27/11/2025 14:05")


def test_the_transform_reads_the_failure_sample() -> None:
    """The failure sample's values: error_Message, blank bank_ref_num as None, status as the event type."""
    payload = parse_form((SAMPLES / "failure.form").read_bytes())
    assert payu.event_type(payload) == "failure"
    [values] = payu.transform("failure", payload)
    assert values["error_message"] == "Transaction declined by the issuing bank"
    assert values["bank_ref_num"] is None
    assert values["amount"] == "2500.50"


def test_samples_are_hashed_with_the_demo_salt() -> None:
    """The shipped samples verify under the salt their README names (make run's demo salt)."""
    for path in sorted(SAMPLES.glob("*.form")):
        SCHEME.verify(path.read_bytes(), Headers(), ["demo-payu-secret"], now=0)
