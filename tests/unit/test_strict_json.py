"""Hostile bodies: each is read one way, or refused with a message that says what is wrong."""

from __future__ import annotations

import hashlib

import pytest

from bridge.pipeline.transform import Delivery, Failed, Mapped, map_event
from bridge.sources import strict_json
from bridge.sources.payload import bounded_key, event_type_problem, parse_form, parse_json_object
from bridge.sources.strict_json import MAX_DEPTH, MAX_INTEGER_DIGITS
from tests.conftest import ROOT
from tests.unit.test_contract import example_settings
from transforms import razorpay


def refusal(body: bytes) -> str:
    """Return the message parse_json_object refuses the body with."""
    with pytest.raises(ValueError) as raised:
        parse_json_object(body)
    return str(raised.value)


@pytest.mark.parametrize("opening", [b"[", b'{"a":', b'[{"a":'])
def test_nesting_past_the_limit_is_refused_without_recursing(opening: bytes) -> None:
    """Thousands of [ or {"a": are refused by depth, not by a RecursionError."""
    assert refusal(opening * 5000) == f"nests deeper than {MAX_DEPTH} levels"


def test_nesting_at_the_limit_is_read() -> None:
    """Exactly MAX_DEPTH levels parse; one more is refused."""
    assert parse_json_object(b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}")
    too_deep = b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    assert refusal(too_deep) == f"nests deeper than {MAX_DEPTH} levels"


def test_brackets_inside_strings_are_not_nesting() -> None:
    """Brackets and escaped quotes in a string do not count towards the depth."""
    text = '{"a": "' + '\\"[{' * 1000 + '"}'
    assert parse_json_object(text.encode()) == {"a": '"[{' * 1000}


def test_many_shallow_containers_are_read() -> None:
    """A long array of small objects has many brackets but little depth."""
    body = b'{"items": [' + b",".join([b'{"id": [1]}'] * 500) + b"]}"
    assert len(parse_json_object(body)["items"]) == 500


@pytest.mark.parametrize("name", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_are_refused(name: str) -> None:
    """Python's extensions to JSON are not numbers another parser would read."""
    assert refusal(f'{{"amount": {name}}}'.encode()) == (
        f"contains {name}, which is not a JSON number: send a number or null"
    )


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 400 + ".0"])
def test_a_float_that_overflows_is_refused(number: str) -> None:
    """A number no double holds would become inf here and something else elsewhere."""
    assert refusal(f'{{"amount": {number}}}'.encode()).startswith(f"has the number {number[:40]}, too large")


def test_an_integer_past_the_digit_limit_is_refused_and_one_at_it_is_read() -> None:
    """Integers are read exactly up to MAX_INTEGER_DIGITS digits, a sign aside."""
    digits = "9" * MAX_INTEGER_DIGITS
    assert parse_json_object(f'{{"n": -{digits}}}'.encode())["n"] == -int(digits)
    assert refusal(f'{{"n": {digits}9}}'.encode()) == (
        f"has an integer of {MAX_INTEGER_DIGITS + 1} digits; at most {MAX_INTEGER_DIGITS} are read"
    )


@pytest.mark.parametrize("body", [b'{"a": 1, "a": 2}', b'{"x": {"a": 1, "b": 2, "a": 1}}'])
def test_a_repeated_key_is_refused_naming_it(body: bytes) -> None:
    """Parsers disagree on which of two values wins, so neither does: the key is named."""
    assert refusal(body) == "repeats the key 'a' in one object: each key must appear once"


@pytest.mark.parametrize(("body", "offset"), [(b'{"a": "\xff"}', 7), (b'\xef\xbb\xbf{"a": "\xc3"}', 10)])
def test_invalid_utf8_is_refused_with_its_offset(body: bytes, offset: int) -> None:
    """A byte that cannot start or continue a character is named by its offset in the raw body."""
    assert refusal(body) == f"is not UTF-8: the byte at offset {offset} cannot start or continue a character"


def test_utf16_is_not_guessed() -> None:
    """A UTF-16 body is refused as not UTF-8 (json.loads alone would have decoded it)."""
    assert refusal('{"a": 1}'.encode("utf-16")).startswith("is not UTF-8")


def test_a_leading_byte_order_mark_is_skipped_and_a_second_one_is_not() -> None:
    """RFC 8259 lets a parser ignore a BOM; one after it is text before the JSON."""
    assert parse_json_object(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert refusal(b'\xef\xbb\xbf\xef\xbb\xbf{"a": 1}').startswith("is not valid JSON")


@pytest.mark.parametrize("body", [b"", b" \r\n\t", b"\xef\xbb\xbf"])
def test_an_empty_body_is_refused_as_empty(body: bytes) -> None:
    """Nothing, whitespace or a lone BOM says it is empty."""
    assert refusal(body) == "is empty: send a JSON object"


@pytest.mark.parametrize(
    "body", [b'{"a": "x\\u0000y"}', b'{"a\\u0000": 1}', b'{"a": ["\\ud800"]}', b'{"\\udfff": 1}']
)
def test_text_no_store_can_hold_is_refused(body: bytes) -> None:
    """A NUL or an unpaired surrogate escape, in a value or a key, is refused before it reaches a store."""
    assert refusal(body) == (
        "has a string with a NUL (\\u0000) or an unpaired surrogate escape, which no store can hold"
    )


def test_escaped_text_that_is_unicode_is_read() -> None:
    """A surrogate pair and ordinary escapes are text like any other."""
    assert parse_json_object(b'{"a": "\\ud83d\\ude00 \\u00e9 \\\\u0000"}') == {"a": "\U0001f600 é \\u0000"}


def test_a_control_character_inside_a_string_is_refused() -> None:
    """JSON requires control characters in strings to be escaped."""
    assert refusal(b'{"a": "x\x01y"}').startswith("is not valid JSON: Invalid control character")


@pytest.mark.parametrize("body", [b"a=x%00y", b"a%00=1", b"a=x\x00y"])
def test_a_form_with_a_nul_is_refused(body: bytes) -> None:
    """A NUL, encoded or raw, in a form field's name or value cannot be stored."""
    with pytest.raises(ValueError, match="no store can hold"):
        parse_form(body)


def test_a_key_no_store_can_hold_is_kept_as_its_hash() -> None:
    """An id with a NUL or an unpaired surrogate becomes the hash of its code points, stably."""
    assert bounded_key("evt\x001") == "sha256:" + hashlib.sha256(b"evt\x001").hexdigest()
    hashed = bounded_key("evt\ud800")
    assert hashed.startswith("sha256:") and bounded_key("evt\ud800") == hashed


@pytest.mark.parametrize(
    ("event_type", "problem"),
    [
        (None, None),
        ("payment.captured", None),
        ("e" * 255, None),
        ("e" * 256, "is 256 characters long; the bridge stores at most 255"),
        ("pay\x00ment", "has a NUL character or an unpaired surrogate, which no store can hold"),
        ("pay\udc80", "has a NUL character or an unpaired surrogate, which no store can hold"),
    ],
)
def test_an_event_type_the_table_cannot_hold_is_named(event_type: str | None, problem: str | None) -> None:
    """Longer than the column, or text no store holds: the problem is said; otherwise None."""
    assert event_type_problem(event_type) == problem


def test_describe_names_every_json_type() -> None:
    """The refusal of a non-object names what was sent instead."""
    values: list[object] = [[], "", 1, 1.5, True, None, {}]
    named = [strict_json.describe(value) for value in values]
    assert named == ["an array", "a string", "a number", "a number", "true or false", "null", "an object"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"event": "payment.captured", "amount": NaN}', "the stored body contains NaN"),
        (b'{"event": "a", "event": "b"}', "the stored body repeats the key 'event'"),
        (b"[" * 3000, f"the stored body nests deeper than {MAX_DEPTH} levels"),
    ],
)
def test_the_worker_reads_a_stored_body_by_the_same_rules(body: bytes, reason: str) -> None:
    """A body stored before these rules fails its event with the receiver's reason, and never raises."""
    settings = example_settings()
    source = settings.sources["razorpay"]
    outcome = map_event(Delivery("k", None, body), source, razorpay.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Failed) and outcome.reason.startswith(reason)


def test_the_worker_reads_a_body_with_a_byte_order_mark_as_the_receiver_accepted_it() -> None:
    """The BOM the receiver skipped is skipped again when the stored body is mapped."""
    settings = example_settings()
    source = settings.sources["razorpay"]
    body = b"\xef\xbb\xbf" + (ROOT / "transforms/samples/razorpay/payment.captured.json").read_bytes()
    outcome = map_event(Delivery("k", None, body), source, razorpay.SOURCE, settings.accounts[source.account])
    assert isinstance(outcome, Mapped)
