"""Instamojo: the mac against the fact sheet's vectors, tampering, keys and values."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import Headers

from bridge.sources.payload import parse_form
from bridge.sources.signatures import SignatureError
from bridge.sources.signatures.instamojo_mac import InstamojoMac, mac_message
from tests.conftest import ROOT
from tests.support import idempotency_key_of
from transforms import instamojo

SCHEME = instamojo.SOURCE.signature
SAMPLES = ROOT / "transforms" / "samples" / "instamojo"
# The fact sheet's computed vector (webhook-sources-2 §1.5), byte for byte.
FIELDS = {
    "amount": "100.00",
    "buyer": "a@b.in",
    "buyer_name": "Asha",
    "buyer_phone": "+919999999999",
    "currency": "INR",
    "fees": "1.90",
    "payment_id": "MOJO123",
    "payment_request_id": "PR1",
    "purpose": "Course",
    "status": "Credit",
}
SALT = "private_salt"
MAC = "ca22c65a3d6f8060dc6ab593cf66d540950c66b0"


def test_the_verified_third_party_vector_holds() -> None:
    """Salt abcde over the four values of the published answer gives its published MAC."""
    fields = {
        "buyer_phone": "9999999999",
        "amount": "123.45",
        "buyer_name": "Aditya Sengupta",
        "buyer": "aditya@instamojo.com",
    }
    assert mac_message(fields) == "123.45|aditya@instamojo.com|Aditya Sengupta|9999999999"
    assert InstamojoMac().signature(fields, "abcde") == "676a4b5ba30e464f027249747a63ea587f8c4b9a"


def test_the_computed_vector_verifies_byte_for_byte() -> None:
    """The fact sheet's ten fields under private_salt give its MAC, accepted in any field order."""
    assert InstamojoMac().signature(FIELDS, SALT) == MAC
    shuffled = dict(reversed(list({**FIELDS, "mac": MAC}.items())))
    SCHEME.verify(urlencode(shuffled).encode(), Headers(), [SALT], now=0)
    SCHEME.verify(urlencode({**FIELDS, "mac": MAC.upper()}).encode(), Headers(), [SALT], now=0)


def test_keys_are_ordered_by_their_lower_case_names() -> None:
    """A capitalised key sorts where its lower-case name would, as Instamojo's own check does."""
    fields = {"b": "2", "A": "1", "c": "3"}
    expected = hmac.new(b"s", b"1|2|3", hashlib.sha1).hexdigest()
    assert InstamojoMac().signature(fields, "s") == expected


def test_a_key_instamojo_adds_later_is_covered() -> None:
    """The message is built from whatever keys arrive, so a new field is signed: tampering fails."""
    body = InstamojoMac().signed_form({**FIELDS, "unit_price": "100.00"}, SALT)
    SCHEME.verify(body, Headers(), [SALT], now=0)
    with pytest.raises(SignatureError):
        SCHEME.verify(body.replace(b"unit_price=100.00", b"unit_price=1.00"), Headers(), [SALT], now=0)


def test_any_configured_salt_verifies_and_a_wrong_one_does_not() -> None:
    """Either of two salts verifies; a wrong salt is refused as bad_signature."""
    body = InstamojoMac().signed_form(FIELDS, "old-salt")
    SCHEME.verify(body, Headers(), ["new-salt", "old-salt"], now=0)
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(body, Headers(), ["wrong-salt"], now=0)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_tampered_value_is_refused(name: str) -> None:
    """Every value is in the message: changing any one breaks the MAC."""
    fields = parse_form(InstamojoMac().signed_form(FIELDS, SALT))
    fields[name] = fields[name] + "0"
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(fields).encode(), Headers(), [SALT], now=0)
    assert caught.value.reason == "bad_signature"


def test_a_renamed_key_that_keeps_the_order_still_verifies() -> None:
    """Key names are not signed: renaming purpose to purposf keeps order and MAC (a known weakness)."""
    fields = parse_form(InstamojoMac().signed_form(FIELDS, SALT))
    fields["purposf"] = fields.pop("purpose")
    SCHEME.verify(urlencode(fields).encode(), Headers(), [SALT], now=0)


def test_a_form_without_a_mac_is_missing_its_signature() -> None:
    """Instamojo calls the MAC optional; the bridge refuses a post without one."""
    with pytest.raises(SignatureError) as caught:
        SCHEME.verify(urlencode(FIELDS).encode(), Headers(), [SALT], now=0)
    assert caught.value.reason == "missing_signature"


def test_the_idempotency_key_is_the_payment_id_and_status() -> None:
    """payment_id:<id>:<status>, both under the MAC; without a payment_id, the body's hash."""
    assert idempotency_key_of(instamojo.SOURCE, InstamojoMac().signed_form(FIELDS, SALT)) == (
        "payment_id:MOJO123:Credit"
    )
    assert idempotency_key_of(instamojo.SOURCE, b"status=Credit").startswith("sha256:")


def test_the_transform_reads_the_failed_sample() -> None:
    """The Failed sample: the status as the event type, rupees with two decimals, the buyer's email."""
    payload = parse_form((SAMPLES / "Failed.form").read_bytes())
    assert instamojo.event_type(payload) == "Failed"
    [values] = instamojo.transform("Failed", payload)
    assert values["amount"] == "2500.50"
    assert values["fees"] == "0.00"
    assert values["buyer"] == "ravi.k@example.com"
    assert values["payment_id"] == "MOJO5b28000J87654321"


def test_samples_are_signed_with_the_demo_salt() -> None:
    """The shipped samples verify under make run's demo salt."""
    for path in sorted(SAMPLES.glob("*.form")):
        SCHEME.verify(path.read_bytes(), Headers(), ["demo-instamojo-secret"], now=0)
