"""Operator filters: what each entry point's text means, and what is refused with which message."""

from __future__ import annotations

import pytest

from bridge.operate.filters import (
    ActivityFilter,
    EventFilter,
    FilterError,
    parse_activity_filter,
    parse_event_filter,
)
from bridge.store.tables import ActivityStatus, EventStatus

NOW = 1_780_000_000.0


def test_an_event_filter_reads_every_field() -> None:
    """Each name becomes its field, statuses their enum, ages a time before now."""
    wanted = parse_event_filter(
        {
            "source": "razorpay",
            "event_type": "payment.captured",
            "status": "ignored",
            "since": "2h",
            "until": "2026-12-01T10:00:00Z",
            "opportunity_id": " opp-1 ",
            "key": "evt_1",
            "text": "no mapping",
        },
        NOW,
    )
    assert wanted == EventFilter(
        source="razorpay",
        event_type="payment.captured",
        status=EventStatus.IGNORED,
        since=NOW - 7200,
        until=1_796_119_200.0,
        opportunity_id="opp-1",
        key="evt_1",
        text="no mapping",
    )


@pytest.mark.parametrize(
    ("given", "seconds_ago"), [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("1.5h", 5400)]
)
def test_ages_count_back_from_now(given: str, seconds_ago: float) -> None:
    """An age in seconds, minutes, hours or days is that long before now."""
    assert parse_event_filter({"since": given}, NOW).since == NOW - seconds_ago


def test_blank_values_are_no_filter_and_the_canonical_text_round_trips() -> None:
    """Empty strings filter nothing; to_params() parses back to the same filter."""
    assert parse_event_filter({"source": "", "status": " "}, NOW).is_empty()
    wanted = parse_activity_filter({"account": "main", "status": "dead", "event_id": "7", "since": "1h"}, NOW)
    assert parse_activity_filter(wanted.to_params(), NOW + 999) == wanted
    assert wanted == ActivityFilter(account="main", status=ActivityStatus.DEAD, event_id=7, since=NOW - 3600)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"colour": "red"}, "colour: not a filter; use source, event_type"),
        ({"status": "lost"}, "status: one of received, transformed, ignored, failed, not 'lost'"),
        ({"since": "yesterday"}, "since: an age such as 30m"),
        ({"since": "2026-12-01T10:00"}, "since: say the time zone"),
        ({"until": "nan"}, "until: epoch seconds must be a finite number"),
        ({"source": "x" * 300}, "source: at most 255 characters"),
        ({"key": "a\x00b"}, "without NUL"),
        ({"source": ["a"]}, "source: give text, not list"),
    ],
)
def test_bad_event_filters_name_the_field_and_what_it_takes(values: dict[str, object], message: str) -> None:
    """Each refusal's message starts with the field and says what would be accepted."""
    with pytest.raises(FilterError, match=message.replace("(", r"\(")):
        parse_event_filter(values, NOW)


def test_an_activity_filter_takes_an_event_number_only() -> None:
    """event_id must be digits."""
    with pytest.raises(FilterError, match="event_id: give an event's number"):
        parse_activity_filter({"event_id": "12a"}, NOW)
