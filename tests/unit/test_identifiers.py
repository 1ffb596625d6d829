"""A person's identifiers: found anywhere in a payload, normalised one way, hashed with a key, masked."""

from __future__ import annotations

import pytest

from bridge.observe.identifiers import (
    IdentifierKind,
    digests,
    identifier,
    identifier_digest,
    identifiers_in,
    identifiers_in_text,
    masked,
    normalize_phone,
)

KEY = "unit-test-erasure-key-0123456789"
EMAIL = IdentifierKind.EMAIL
PHONE = IdentifierKind.PHONE
PAN = IdentifierKind.PAN


@pytest.mark.parametrize(
    "written",
    [
        "+91 98765 43210",
        "+91-98765-43210",
        "919876543210",
        "91 98765 43210",
        "09876543210",
        "9876543210",
        "0091 98765 43210",
        "(+91) 98765-43210",
        "%2B919876543210",
    ],
)
def test_an_indian_mobile_in_every_usual_form_is_one_e164_number(written: str) -> None:
    """+91, 91, 0091 and 0 prefixes, spaces, dashes and brackets all normalise to +91XXXXXXXXXX."""
    assert normalize_phone(written) == "+919876543210"


def test_other_e164_numbers_keep_their_country_code() -> None:
    """A number outside India is kept as its plus and digits."""
    assert normalize_phone("+1 415-555-0123") == "+14155550123"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("text", ["12345", "5876543210", "+0123456789", "call me", "98765 4321x"])
def test_what_is_not_a_phone_is_refused_saying_what_to_give(text: str) -> None:
    """Too short, a landline-like first digit, a + then 0, words: each is a ValueError naming the forms."""
    with pytest.raises(ValueError, match="not a phone number"):
        normalize_phone(text)


def test_an_operator_may_type_an_identifier_in_any_case_or_with_spaces() -> None:
    """Emails and PANs compare without case or surrounding spaces; a bad one says what a good one is."""
    assert identifier("email", "  Lead@Example.COM ") == (EMAIL, "lead@example.com")
    assert identifier("pan", "abcde1234f") == (PAN, "ABCDE1234F")
    with pytest.raises(ValueError, match="not a PAN"):
        identifier("pan", "ABCDE12345")
    with pytest.raises(ValueError, match="not an email"):
        identifier("email", "lead at example.com")


def test_identifiers_are_found_in_strings_keys_and_numbers_at_any_depth() -> None:
    """Values, free text, a key and a phone sent as a number are found; ids, times and amounts are not."""
    payload = {
        "payment": {
            "email": "Lead@Example.com",
            "contact": "+91 98765 43210",
            "notes": {"pan": "abcde1234f", "remark": "alt contact 0 91234 56789 or b.c+d@x.in"},
            "id": "pay_29QQoUBi66xm2f",
            "created_at": 1764230400,
            "amount": 9876543210.5,
            "phones": [919812345678],
            "by": {"x@y.org": True},
        }
    }
    assert identifiers_in(payload) == {
        (EMAIL, "lead@example.com"),
        (EMAIL, "b.c+d@x.in"),
        (EMAIL, "x@y.org"),
        (PHONE, "+919876543210"),
        (PHONE, "+919123456789"),
        (PHONE, "+919812345678"),
        (PAN, "ABCDE1234F"),
    }


def test_a_form_body_read_as_text_yields_its_percent_encoded_identifiers() -> None:
    """PayU-style text with %40 and %2B is read as the email and phone it encodes."""
    found = identifiers_in_text("email=lead%40example.com&phone=%2B919876543210&firstname=Asha")
    assert found == {(EMAIL, "lead@example.com"), (PHONE, "+919876543210")}


def test_the_digest_depends_on_the_key_and_the_kind_not_on_how_it_was_written() -> None:
    """The same phone written two ways hashes alike; another key or kind hashes differently."""
    one = identifier_digest(KEY, identifier("phone", "09876543210"))
    assert one == identifier_digest(KEY, identifier("phone", "+91 98765-43210"))
    assert one != identifier_digest("another-key-0123456789abcdef", identifier("phone", "9876543210"))
    assert identifier_digest(KEY, (EMAIL, "9876543210")) != identifier_digest(KEY, (PHONE, "9876543210"))
    assert len(one) == 64 and "9876543210" not in one
    assert len(digests([KEY, "older-key-0123456789abcdef"], [(PAN, "ABCDE1234F")])) == 2


def test_the_masked_form_keeps_no_more_than_a_person_reads_on_the_console() -> None:
    """An email keeps its first character and domain, a phone and a PAN their last four characters."""
    assert masked((EMAIL, "lead@example.com")) == "email l***@example.com"
    assert masked((PHONE, "+919876543210")) == "phone *********3210"
    assert masked((PAN, "ABCDE1234F")) == "pan ******234F"
