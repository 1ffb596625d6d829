"""Value formats LeadSquared expects: rupees, UTC times, masks and text, with what each refuses."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.sources.formats import (
    FORMATS,
    as_text,
    lsq_datetime,
    lsq_datetime_from_iso,
    masked,
    rupees_from_paise,
)


@pytest.mark.parametrize(
    ("paise", "rupees"),
    [(0, "0.00"), (1, "0.01"), (99, "0.99"), (150000, "1500.00"), (1000050, "10000.50"), (-150, "-1.50")],
)
def test_paise_become_rupees_with_two_decimals(paise: int, rupees: str) -> None:
    """A whole number of paise is written as rupees with exactly two decimals, sign kept."""
    assert rupees_from_paise(paise) == rupees


def test_a_very_large_amount_is_exact() -> None:
    """Amounts beyond a float's precision are divided exactly, never rounded through a float."""
    assert rupees_from_paise(123456789012345678901) == "1234567890123456789.01"


@pytest.mark.parametrize("paise", [10.5, 100.0, "100", True, None])
def test_an_amount_that_is_not_a_whole_number_of_paise_is_refused(paise: Any) -> None:
    """A float (even a whole one), text, a boolean or None is refused, naming the value."""
    with pytest.raises(ValueError, match="an amount in paise must be a whole number, not "):
        rupees_from_paise(paise)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0, "1970-01-01 00:00:00"),
        (1764230400, "2025-11-27 08:00:00"),
        (1764230400.999, "2025-11-27 08:00:00"),
    ],
)
def test_a_unix_time_is_written_in_utc_to_the_second(epoch: float, expected: str) -> None:
    """Seconds since the epoch become LeadSquared's 'YYYY-MM-DD HH:MM:SS' in UTC; fractions are dropped."""
    assert lsq_datetime(epoch) == expected


@pytest.mark.parametrize("epoch", ["1764230400", True, None])
def test_a_unix_time_must_be_a_number(epoch: Any) -> None:
    """Text, a boolean or None is not read as a Unix time."""
    with pytest.raises(ValueError, match="a Unix time must be a number, not "):
        lsq_datetime(epoch)


@pytest.mark.parametrize("epoch", [1e20, float("inf"), float("nan")])
def test_a_unix_time_no_date_can_hold_is_refused(epoch: float) -> None:
    """Far beyond year 9999, infinite or not a number is a ValueError, not an OverflowError."""
    with pytest.raises(ValueError, match="is not a Unix time LeadSquared can hold"):
        lsq_datetime(epoch)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27T00:15:00Z",
        "2026-11-27T00:15:00+00:00",
        "2026-11-27T05:45:00+05:30",
        "2026-11-26T19:15:00-05:00",
        "2026-11-27T00:15:00.654321Z",
        "2026-11-27 00:15:00+00:00",
    ],
)
def test_an_iso_time_with_an_offset_is_converted_to_utc(text: str) -> None:
    """Z or any offset, with or without fractions, T or a space: the same instant, written in UTC."""
    assert lsq_datetime_from_iso(text) == "2026-11-27 00:15:00"


@pytest.mark.parametrize("text", ["2026-11-27T00:15:00", "2026-11-27"])
def test_an_iso_time_without_an_offset_is_refused_not_guessed(text: str) -> None:
    """A local time or a bare date has no known UTC time: refused, not assumed to be UTC."""
    with pytest.raises(ValueError, match="has no UTC offset, so its UTC time is unknown"):
        lsq_datetime_from_iso(text)


@pytest.mark.parametrize("text", ["yesterday", "", "27/11/2026 00:15", "2026-13-01T00:00:00Z"])
def test_text_that_is_not_an_iso_time_is_refused(text: str) -> None:
    """Words, an empty string, another date form or a thirteenth month are not ISO 8601 times."""
    with pytest.raises(ValueError, match="is not an ISO 8601 time"):
        lsq_datetime_from_iso(text)


@pytest.mark.parametrize("value", [1764230400, None])
def test_an_iso_time_must_be_text(value: Any) -> None:
    """A number or None given to the ISO format is refused, naming the value."""
    with pytest.raises(ValueError, match="an ISO 8601 time must be text, not "):
        lsq_datetime_from_iso(value)


@pytest.mark.parametrize(
    ("text", "keep", "expected"),
    [
        ("ABCDE1111A", 4, "XXXXXX111A"),
        ("12345", 4, "X2345"),
        ("1234", 4, "1234"),
        ("12", 4, "12"),
        ("", 4, ""),
        ("abcdef", 2, "XXXXef"),
        ("secret", 0, "XXXXXX"),
    ],
)
def test_masking_keeps_only_the_last_characters(text: str, keep: int, expected: str) -> None:
    """All but the last `keep` characters become X; keep=0 masks everything, the length always kept."""
    assert masked(text, keep) == expected


def test_a_masked_number_is_masked_as_its_text() -> None:
    """A number from the payload is masked as the text it is written as."""
    assert masked(9800000001) == "XXXXXX0001"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"), [(True, "true"), (False, "false"), (0, "0"), (1.5, "1.5"), ("as is", "as is")]
)
def test_a_scalar_is_written_as_leadsquared_text(value: object, text: str) -> None:
    """Booleans are true/false, numbers as written, text unchanged."""
    assert as_text(value) == text


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_null_lists_and_objects_are_not_single_values(value: object) -> None:
    """None, a list or an object cannot fill one field and is refused, naming it."""
    with pytest.raises(ValueError, match="is not a single value"):
        as_text(value)


def test_the_named_formats_a_field_map_uses_write_text() -> None:
    """upper and lower write the value's text in one case; mask is masked with its default of four kept."""
    assert FORMATS["upper"]("abc") == "ABC" and FORMATS["upper"](True) == "TRUE"
    assert FORMATS["lower"]("ABC") == "abc" and FORMATS["lower"](12) == "12"
    assert FORMATS["mask"]("ABCDE1111A") == "XXXXXX111A"
