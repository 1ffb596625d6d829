"""A person's identifiers in a payload (email, phone, PAN), normalised and hashed with a key.

The worker records the keyed hash of every identifier an event carries, so an
erasure request finds that person's events by the hash of what the operator
typed, without reading any payload and without the store holding the
identifier in clear. Both sides normalise the same way first: an email
lowercased and trimmed; an Indian mobile, however written (+91, 91, 0091 or 0
before it, spaces or dashes anywhere), as E.164 +91XXXXXXXXXX, and another
E.164 number as its plus and digits; a PAN uppercased. The shapes found are
the ones bridge/observe/masking.py masks.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


class IdentifierKind(enum.StrEnum):
    """What sort of identifier a person is found by."""

    EMAIL = "email"
    PHONE = "phone"
    PAN = "pan"


Identifier = tuple[IdentifierKind, str]  # a kind and its normalised value

_START = r"(?<![\w.+%-])"
_END = r"(?!\w|[.-]\d)"
_EMAIL = r"[a-z0-9][\w.%+-]*(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
_INDIAN_MOBILE = r"(?:(?:\+|%2B|00)[ -]?91[ -]?|91[ -]?|0)?[6-9]\d(?:[ -]?\d){8}"
_E164 = r"(?:\+|%2B)[1-9](?:[ -]?\d){7,14}"
_PAN = r"[a-z]{5}\d{4}[a-z]"
_FOUND = re.compile(
    rf"{_START}(?P<email>{_EMAIL})|{_START}(?P<phone>{_INDIAN_MOBILE}|{_E164}){_END}|(?<!\w)(?P<pan>{_PAN})(?!\w)",
    re.IGNORECASE,
)
_MAYBE = re.compile(r"[0-9@]")
_WHOLE_EMAIL = re.compile(rf"{_EMAIL}\Z", re.IGNORECASE)
_WHOLE_PAN = re.compile(rf"{_PAN}\Z", re.IGNORECASE)
_SEPARATORS = re.compile(r"[ ()-]")
# Deeper JSON than this is not walked (the receiver refuses more than 64 levels anyway).
MAX_DEPTH = 64


def normalize_email(text: str) -> str:
    """Return an email lowercased and trimmed; ValueError if it is not an email address."""
    value = text.strip().lower().replace("%40", "@")
    if not _WHOLE_EMAIL.match(value):
        raise ValueError(f"{text!r} is not an email address")
    return value


def normalize_phone(text: str) -> str:
    """Return a phone number as E.164: an Indian mobile as +91XXXXXXXXXX; ValueError if it is none."""
    value = _SEPARATORS.sub("", text.strip().replace("%2B", "+").replace("%2b", "+"))
    if value.startswith("00"):
        value = "+" + value[2:]
    digits = value.removeprefix("+")
    if not digits.isdigit():
        raise ValueError(f"{text!r} is not a phone number: digits, an optional + and separators only")
    if value.startswith("+"):
        if digits.startswith("91") and len(digits) == 12 and digits[2] in "6789":
            return value
        if digits[0] != "0" and 8 <= len(digits) <= 15:
            return value
    elif len(digits) == 10 and digits[0] in "6789":
        return "+91" + digits
    elif len(digits) == 11 and digits[0] == "0" and digits[1] in "6789":
        return "+91" + digits[1:]
    elif len(digits) == 12 and digits.startswith("91") and digits[2] in "6789":
        return "+" + digits
    raise ValueError(
        f"{text!r} is not a phone number: give an Indian mobile (10 digits from 6-9, "
        "with or without +91, 91 or 0) or an E.164 number (+ and 8 to 15 digits)"
    )


def normalize_pan(text: str) -> str:
    """Return a PAN uppercased; ValueError if it is not five letters, four digits and a letter."""
    value = text.strip().upper()
    if not _WHOLE_PAN.match(value):
        raise ValueError(f"{text!r} is not a PAN: five letters, four digits and a letter, e.g. ABCDE1234F")
    return value


NORMALIZERS = {
    IdentifierKind.EMAIL: normalize_email,
    IdentifierKind.PHONE: normalize_phone,
    IdentifierKind.PAN: normalize_pan,
}


def identifier(kind: IdentifierKind | str, text: str) -> Identifier:
    """Return the identifier an operator typed, normalised; ValueError saying what is wrong with it."""
    named = IdentifierKind(kind)
    return named, NORMALIZERS[named](text)


def identifiers_in_text(text: str) -> set[Identifier]:
    """Return every email, phone number and PAN in a text, normalised."""
    found: set[Identifier] = set()
    if not _MAYBE.search(text):
        return found
    for match in _FOUND.finditer(text):
        kind = IdentifierKind(match.lastgroup or "")
        try:
            found.add((kind, NORMALIZERS[kind](match.group(0))))
        except ValueError:
            continue  # a shape the pattern admits but no normaliser takes (an odd E.164 form)
    return found


def identifiers_in(value: Any) -> set[Identifier]:
    """Return every identifier in a JSON value: its strings, its keys, and numbers that read as phones."""
    found: set[Identifier] = set()
    for text in _texts(value, 0):
        found |= identifiers_in_text(text)
    return found


def _texts(value: Any, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def identifier_digest(key: str, found: Identifier) -> str:
    """Return an identifier's keyed hash (HMAC-SHA256, hex), its kind hashed too so kinds never collide."""
    kind, value = found
    message = f"{kind.value}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def digests(keys: Sequence[str], found: Iterable[Identifier]) -> set[str]:
    """Return the keyed hashes of identifiers under every key given (the current one and earlier ones)."""
    return {identifier_digest(key, each) for key in keys for each in found}


def masked(found: Identifier) -> str:
    """Return an identifier as the audit log may hold it: its kind and a masked form."""
    kind, value = found
    if kind is IdentifierKind.EMAIL:
        local, _, domain = value.partition("@")
        return f"email {local[:1]}***@{domain}"
    return f"{kind.value} {'*' * (len(value) - 4)}{value[-4:]}"
