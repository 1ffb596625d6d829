"""A delivery's body as a payload: the JSON and form parsers, the dotted-path walker and idempotency keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from bridge.sources.payload import (
    MAX_KEY_LENGTH,
    body_hash_key,
    bounded_key,
    event_type_at,
    parse_form,
    parse_json_object,
    payload_id_key,
    value_at,
)

BODY = b'{"id": "evt_1"}'
BODY_HASH = "sha256:" + hashlib.sha256(BODY).hexdigest()
PAYLOAD: dict[str, Any] = {
    "event": "payment.captured",
    "payload": {"payment": {"entity": {"id": "pay_1", "amount": 0, "captured": False, "notes": {}}}},
    "items": [{"id": "first"}, {"id": "second", "tags": ["a", "b"]}],
    "name": "Ravi",
    "missing": None,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("event", "payment.captured"),
        ("payload.payment.entity.id", "pay_1"),
        ("items.0.id", "first"),
        ("items.1.tags.1", "b"),
        ("payload.payment.entity.notes", {}),
    ],
)
def test_a_dotted_path_walks_mappings_and_list_items_by_number(path: str, expected: Any) -> None:
    """Each part is a key of a mapping, or the number of a list item."""
    assert value_at(PAYLOAD, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "absent",
        "payload.refund.entity.id",
        "items.2.id",
        "items.-1.id",
        "items.first",
        "name.0",
        "event.length",
        "missing.id",
        "payload.payment.entity.id.more",
    ],
)
def test_a_path_the_payload_does_not_have_is_none(path: str) -> None:
    """A missing key, an item past the end, a non-number index, indexing text or a scalar gives None."""
    assert value_at(PAYLOAD, path) is None


def test_falsy_values_are_values_not_absences() -> None:
    """0, False and an empty mapping at a path are returned as they are; only None means absent."""
    entity = "payload.payment.entity"
    assert value_at(PAYLOAD, f"{entity}.amount") == 0
    assert value_at(PAYLOAD, f"{entity}.captured") is False
    assert value_at(PAYLOAD, f"{entity}.notes") == {}


def test_a_top_level_list_is_walked_by_number() -> None:
    """The walker starts from whatever it is given: a list's items are reached by their number."""
    assert value_at([{"id": "a"}, {"id": "b"}], "1.id") == "b"
    assert value_at(None, "id") is None


def test_the_event_type_is_text_at_its_path_or_none() -> None:
    """event_type_at reads text at its path; a number, an object or nothing there is no event type."""
    event_type = event_type_at("meta.kind")
    assert event_type({"meta": {"kind": "refund"}}) == "refund"
    assert event_type({"meta": {"kind": 7}}) is None
    assert event_type({"meta": {"kind": {"name": "refund"}}}) is None
    assert event_type({"meta": {}}) is None


def test_a_json_object_is_parsed() -> None:
    """A JSON object body, a UTF-8 byte order mark before it included, becomes a dict."""
    assert parse_json_object(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert parse_json_object(b"\xef\xbb\xbf{}") == {}


@pytest.mark.parametrize("body", [b"{not json", b'{"a": 1', b"{'a': 1}", b'{"a": 1} {"b": 2}'])
def test_a_body_that_is_not_json_is_refused_saying_so(body: bytes) -> None:
    """Broken, truncated, single-quoted or concatenated text is a ValueError: 'is not valid JSON'."""
    with pytest.raises(ValueError, match=r"^is not valid JSON: "):
        parse_json_object(body)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[1, 2]", "an array"),
        (b'"text"', "a string"),
        (b"42", "a number"),
        (b"-1.5", "a number"),
        (b"null", "null"),
        (b"true", "true or false"),
    ],
)
def test_json_that_is_not_an_object_is_refused_saying_so(body: bytes, named: str) -> None:
    """An array, a string, a number, null or a boolean is valid JSON but not a payload, and is named."""
    with pytest.raises(ValueError, match=rf"^must be a JSON object, not {named}$"):
        parse_json_object(body)


def test_a_form_is_one_value_per_field() -> None:
    """Each field maps to its single decoded value; an empty body is a form with no fields."""
    assert parse_form(b"status=success&udf1=opp-1&note=a%26b") == {
        "status": "success",
        "udf1": "opp-1",
        "note": "a&b",
    }
    assert parse_form(b"") == {}


def test_the_first_repeated_field_by_name_is_the_one_named() -> None:
    """With several fields repeated, blank ones too, the refusal names the first in sorted order."""
    with pytest.raises(ValueError, match=r"^repeats the field 'a': each field must appear once$"):
        parse_form(b"b=1&a=&a=&b=2")


@pytest.mark.parametrize("body", [b"%ff=1", b"name=caf\xe9", b"name=caf%e9"])
def test_a_form_that_is_not_utf8_is_refused_in_a_key_or_a_value(body: bytes) -> None:
    """Latin-1 bytes, raw or percent-encoded, in a key or a value are refused as not UTF-8."""
    with pytest.raises(ValueError, match=r"^is not UTF-8 form data: "):
        parse_form(body)


def test_an_empty_field_between_separators_is_refused() -> None:
    """A doubled & leaves a field with no name and no '=': strict parsing refuses it as not form data."""
    with pytest.raises(ValueError, match=r"^is not form data: "):
        parse_form(b"a=1&&b=2")


def test_the_provider_id_is_the_key_trimmed() -> None:
    """The id at the path is the key, whitespace around it cut; the path may cross objects and lists."""
    assert payload_id_key({"id": "  evt_1 \n"}, BODY, "id") == "evt_1"
    assert payload_id_key({"data": [{"id": "inq_1"}]}, BODY, "data", "0", "id") == "inq_1"


@pytest.mark.parametrize("value", [None, "", "   ", {"id": "x"}, ["evt_1"]])
def test_without_a_usable_id_the_key_is_the_body_hash(value: Any) -> None:
    """No id, a blank one, or an object or list where the id should be falls back to the body's hash."""
    assert payload_id_key({"id": value}, BODY, "id") == BODY_HASH
    assert payload_id_key({}, BODY, "id") == BODY_HASH


def test_a_number_is_an_id_only_when_the_kind_says_so() -> None:
    """numbers=True writes a whole-number id as text; without it, or for a boolean or a float, the hash."""
    assert payload_id_key({"id": 42}, BODY, "id", numbers=True) == "42"
    assert payload_id_key({"id": 42}, BODY, "id") == BODY_HASH
    assert payload_id_key({"id": True}, BODY, "id", numbers=True) == BODY_HASH
    assert payload_id_key({"id": 4.5}, BODY, "id", numbers=True) == BODY_HASH


def test_the_body_hash_is_the_sha256_of_the_exact_bytes() -> None:
    """body_hash_key is 'sha256:' and the hex digest; one byte more is another key."""
    assert body_hash_key(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert body_hash_key(BODY) == BODY_HASH != body_hash_key(BODY + b"\n")


def test_a_key_up_to_the_limit_is_kept_as_it_is() -> None:
    """A key of at most 200 characters is stored unchanged."""
    assert MAX_KEY_LENGTH == 200
    key = "k" * 200
    assert bounded_key(key) == key
    assert bounded_key("evt_1") == "evt_1"


def test_a_key_over_the_limit_is_kept_as_its_hash() -> None:
    """Past 200 characters a key becomes 'sha256:' and the hex digest of its UTF-8: 71 characters."""
    key = "é" * 201
    bounded = bounded_key(key)
    assert bounded == "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    assert len(bounded) == 71 and bounded_key(key) == bounded
    assert bounded_key("k" * 201) != bounded_key("k" * 202)
