"""The exact reason and last-error filters: parsed as given, and kept through to_params."""

from __future__ import annotations

import pytest

from bridge.operate.filters import (
    MAX_EXACT,
    FilterError,
    parse_activity_filter,
    parse_event_filter,
)
from bridge.store.tables import ActivityStatus, EventStatus

NOW = 1_764_230_400.0


def test_an_exact_reason_is_kept_as_given_spaces_and_all() -> None:
    """A reason is not trimmed, since it must equal the stored one, and to_params gives it back unchanged."""
    reason = " no mapping for event type 'payment.dispute.created' "
    wanted = parse_event_filter({"status": "ignored", "reason": reason}, NOW)
    assert (wanted.status, wanted.reason) == (EventStatus.IGNORED, reason)
    assert parse_event_filter(wanted.to_params(), NOW) == wanted


def test_an_exact_last_error_round_trips_however_long_it_is_up_to_the_limit() -> None:
    """A last error of MAX_EXACT characters parses; its params parse back to the same filter."""
    error = "LeadSquared did not create the activity: " + "x" * (MAX_EXACT - 41)
    wanted = parse_activity_filter({"status": "dead", "last_error": error}, NOW)
    assert (wanted.status, wanted.last_error) == (ActivityStatus.DEAD, error)
    assert parse_activity_filter(wanted.to_params(), NOW) == wanted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * (MAX_EXACT + 1), "at most"),
        ("a\x00b", "without NUL"),
        (42, "give text"),
    ],
)
def test_a_bad_exact_value_names_its_field(value: object, message: str) -> None:
    """Too long, holding NUL or not text: the error names reason or last_error and says what it takes."""
    with pytest.raises(FilterError, match=f"^reason: .*{message}"):
        parse_event_filter({"reason": value}, NOW)
    with pytest.raises(FilterError, match=f"^last_error: .*{message}"):
        parse_activity_filter({"last_error": value}, NOW)


def test_an_empty_exact_value_filters_nothing() -> None:
    """An empty reason, as an empty form field sends it, leaves the filter empty."""
    assert parse_event_filter({"reason": ""}, NOW).is_empty()
    assert parse_activity_filter({"last_error": ""}, NOW).is_empty()
