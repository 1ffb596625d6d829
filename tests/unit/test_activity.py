"""What an activity waiting on a look-up carries: masked contacts, normalized values, a stable key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bridge.leadsquared.activity import LeadLookup, activity_key, mask_contact, normalize_lookup_value

LOOKUP = LeadLookup("EmailAddress", "ravi.kumar@example.com", 12002, "unique_field", 900, 60)
# sha256 of ["EmailAddress", "ravi.kumar@example.com", 12002, "unique_field"] as JSON: stored in the
# database, so a change here strands every look-up already waiting under the old key.
LOOKUP_KEY = "7a08d387ee8ae7a84078e8ed0bc76972d84350d3b59dabb48820bc9e28eafec7"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("ravi.kumar@example.com", "r***@example.com"),
        ("r@example.com", "r***@example.com"),
        ("@example.com", "***@example.com"),
        ("+919800000001", "*********0001"),
        ("12345", "*2345"),
        ("1234", "****"),
        ("", "****"),
    ],
)
def test_a_contact_is_never_shown_in_full(value: str, masked: str) -> None:
    """An email keeps its first character and domain; anything else its last four, four or fewer none."""
    assert mask_contact(value) == masked


def test_a_masked_email_hides_the_length_of_its_local_part() -> None:
    """Two emails at one domain with the same first letter mask alike, however long their local parts."""
    assert mask_contact("r@example.com") == mask_contact("ravi.kumar.sharma@example.com")


@pytest.mark.parametrize(
    ("lead_field", "value", "normalized"),
    [
        ("EmailAddress", "  Ravi.Kumar@Example.COM\n", "ravi.kumar@example.com"),
        ("Phone", " +91 98000 00001 ", "+91 98000 00001"),
        ("Mobile", "+91-9800000001", "+91-9800000001"),
        ("mx_PAN", " AbCdE1234F ", "AbCdE1234F"),
    ],
)
def test_lookup_values_are_trimmed_and_only_emails_lose_their_case(
    lead_field: str, value: str, normalized: str
) -> None:
    """Every value is trimmed; emails are lower-cased; phones and other fields are sent as written."""
    assert normalize_lookup_value(lead_field, value) == normalized


def test_the_lookup_key_is_pinned_across_releases() -> None:
    """The key is a fixed 64-character sha256 hex of field, value, type and method: it is stored."""
    assert LOOKUP.key == LOOKUP_KEY


def test_the_lookup_key_ignores_how_long_to_cache_or_wait() -> None:
    """Two look-ups for the same search share a key whatever their cache and wait times."""
    assert replace(LOOKUP, cache_seconds=10, wait_seconds=5).key == LOOKUP.key


@pytest.mark.parametrize(
    "change",
    [
        {"lead_field": "Phone"},
        {"value": "other@example.com"},
        {"opportunity_type": 12003},
        {"method": "lead_then_opportunities"},
    ],
)
def test_each_part_of_the_search_changes_the_key(change: dict[str, object]) -> None:
    """Another field, value, opportunity type or method is another search, so another key."""
    assert replace(LOOKUP, **change).key != LOOKUP.key  # type: ignore[arg-type]


def test_the_key_has_one_length_however_long_the_value() -> None:
    """A value of any length (a custom unique field, say) gives a 64-character hex key."""
    key = replace(LOOKUP, value="r" * 500 + "@example.com").key
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")


def test_a_lookup_describes_itself_with_the_contact_masked() -> None:
    """describe() names the field, the masked value, the opportunity type and the method."""
    assert LOOKUP.describe() == "EmailAddress r***@example.com (opportunity type 12002, unique_field)"
    assert "ravi.kumar" not in LOOKUP.describe()


def test_a_lookup_survives_the_store_json_column() -> None:
    """to_json() then from_json() gives back an equal look-up with the same key."""
    stored = LOOKUP.to_json()
    assert stored["value"] == "ravi.kumar@example.com" and stored["opportunity_type"] == 12002
    assert LeadLookup.from_json(stored) == LOOKUP and LeadLookup.from_json(stored).key == LOOKUP_KEY


def test_an_activity_key_is_source_idempotency_key_and_position() -> None:
    """The bridge's own key joins source, the event's idempotency key and the activity's position."""
    assert activity_key("razorpay", "evt_1", 0) == "razorpay:evt_1:0"
    assert activity_key("razorpay", "evt_1", 1) != activity_key("razorpay", "evt_1", 0)
