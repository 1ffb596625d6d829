"""JSON read one way only: the reading every other parser of a signed body would agree with.

A signature covers bytes, not meaning. A body the bridge would read differently
from another parser (a repeated key, NaN, a number no double can hold) is
refused rather than guessed at, and so is one that cannot be stored or walked
safely (nesting deep enough to exhaust the stack, text PostgreSQL cannot hold).
The receiver and the worker both read stored bodies through this module, so a
body accepted at the door parses the same way when it is mapped.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from typing import Any

# Provider payloads nest 3-8 levels; 64 leaves ample room and stays far below
# the recursion of anything that walks a payload later (json.dumps, transforms).
MAX_DEPTH = 64
# Python's cap on int() of a digit string (CVE-2020-10735); PYTHONINTMAXSTRDIGITS moves it.
MAX_INTEGER_DIGITS = sys.get_int_max_str_digits() or sys.maxsize
UTF8_BOM = b"\xef\xbb\xbf"

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_DIGIT_LIMIT = re.compile(
    r"^Exceeds the limit \(\d+ digits\) for integer string conversion: value has (\d+) digits"
)
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}


def loads(body: bytes) -> Any:
    """Return the JSON value of a UTF-8 body; a ValueError completes "the body ..." with what is wrong.

    A leading UTF-8 byte order mark is skipped: RFC 8259 lets a parser ignore
    it, and the signature is checked over the bytes as received either way.
    """
    raw = body.removeprefix(UTF8_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + len(body) - len(raw)
        message = f"is not UTF-8: the byte at offset {offset} cannot start or continue a character"
        raise ValueError(message) from None
    if not text.strip():
        raise ValueError("is empty: send a JSON object")
    check_depth(raw)
    try:
        value = json.loads(
            text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except RecursionError:
        raise ValueError(f"nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not valid JSON: {error}") from None
    except ValueError as error:
        # int() itself refuses a digit string past the interpreter's limit (CVE-2020-10735);
        # a parse_int hook would check it too, at the cost of a Python call per number.
        digits = _DIGIT_LIMIT.search(str(error))
        if digits is None:
            raise
        raise ValueError(
            f"has an integer of {digits[1]} digits; at most {MAX_INTEGER_DIGITS} are read"
        ) from None
    if "\\u" in text:
        check_strings(value)
    return value


def describe(value: Any) -> str:
    """Return what kind of JSON value this is, as a sender would name it."""
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "an object")


def check_depth(raw: bytes) -> None:
    """Raise ValueError if arrays and objects nest deeper than MAX_DEPTH, counted without recursion."""
    # Fewer brackets than the limit cannot nest past it: the common case costs two C-speed counts.
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"nests deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1


def storable(text: str) -> bool:
    """Return whether both stores can hold the text: no NUL (PostgreSQL), no unpaired surrogate (UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_strings(value: Any) -> None:
    """Raise ValueError for a string (or key) with a NUL or an unpaired surrogate: no store holds those."""
    for text in _strings(value):
        if not storable(text):
            raise ValueError(
                "has a string with a NUL (\\u0000) or an unpaired surrogate escape, which no store can hold"
            )


def _strings(value: Any) -> Iterator[str]:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item.keys()
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    payload = dict(pairs)
    if len(payload) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"repeats the key {key[:80]!r} in one object: each key must appear once")
            seen.add(key)
    return payload


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"contains {name}, which is not a JSON number: send a number or null")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"has the number {text[:40]}, too large for a double: send it as a string")
    return number
