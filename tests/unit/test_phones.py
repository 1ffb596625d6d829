"""A phone written as the account's leads hold it: each provider's form, each phone_format."""

from __future__ import annotations

import pytest

from bridge.leadsquared.phones import written_as

# One customer's number as each provider writes it.
AS_PROVIDERS_WRITE_IT = ["09800000001", "919800000001", "+919800000001", "+91 98000-00001", "9800000001"]


@pytest.mark.parametrize("sent", AS_PROVIDERS_WRITE_IT)
@pytest.mark.parametrize(
    ("phone_format", "searched"),
    [
        ("e164", "+919800000001"),
        ("digits", "919800000001"),
        ("national", "9800000001"),
        ("dashed", "+91-9800000001"),
    ],
)
def test_every_providers_form_of_one_number_is_searched_the_same(
    sent: str, phone_format: str, searched: str
) -> None:
    """Exotel's 0-prefixed, Plivo's and Meta's 91-prefixed, Twilio's E.164: one form per phone_format."""
    assert written_as(sent, phone_format) == searched


def test_as_sent_only_trims_and_another_countrys_number_keeps_its_code() -> None:
    """as_sent rewrites nothing; a US number is national with its country code, dashed as E.164."""
    assert written_as(" 09800000001 ", "as_sent") == "09800000001"
    assert written_as("+14155550100", "national") == "14155550100"
    assert written_as("+14155550100", "dashed") == "+14155550100"


@pytest.mark.parametrize("sent", ["12345", "call me", "+0123456789", ""])
def test_what_is_no_phone_number_is_refused_without_quoting_it(sent: str) -> None:
    """The refusal says what a phone number is and never repeats the value (it may be personal data)."""
    refusal = "is not a phone number that phone_format 'e164' can rewrite"
    with pytest.raises(ValueError, match=refusal) as caught:
        written_as(sent, "e164")
    assert not sent or sent not in str(caught.value)
