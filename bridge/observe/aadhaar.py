"""Aadhaar numbers in a payload, found and cut to their last four digits before anything stores them.

Only UIDAI and the entities it authorises may keep an Aadhaar number in
clear. KYC tools mostly send the last four digits already, but a payload may
carry the whole number; the bridge's inbox is no Aadhaar vault, so a KYC
source's body is stored with the first eight digits replaced by X, as MeitY's
masked Aadhaar shows them (XXXX XXXX 2346), and what LeadSquared is sent is
made from that.

An Aadhaar number is 12 digits, the first 2-9, the last a Verhoeff check
digit, often written in groups of four with spaces or dashes. Where a payload
holds one:
- in a value whose key names it (a word of the key is aadhaar..., aadhar...,
  uid or uidai, in any case: aadhaarNumber, masked_aadhaar, UID): any 12
  digits there that are not part of a longer number, checksum or not;
- anywhere else in a string, or as a number: a run of 12 such digits that no
  letter, digit, +, ., _ or - touches, whose check digit holds. An Indian
  mobile written with 91 first (91 then 6-9 then nine digits) is taken for a
  phone: one such number in ten would pass the check by chance, and a phone
  is what the look-ups search by. The few Aadhaar numbers of that shape are
  caught only under a key that names them.
A check digit passes for one 12-digit number in ten: an id that merely looks
like one is masked too. That is why this runs for KYC sources only (and for a
source that asks, `redact_aadhaar = true`): a payment's 12-digit RRN is
masked nowhere.
"""

from __future__ import annotations

import re
from typing import Any

_DIGITS = r"\d{4}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}"
_STANDALONE = re.compile(rf"(?<![\w.+%-]){_DIGITS}(?![\w]|[.-]\d)")
_NOT_IN_LONGER = re.compile(rf"(?<!\d){_DIGITS}(?!\d)")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD_BREAK = re.compile(r"[^a-z0-9]+")
_PHONE = re.compile(r"91[6-9]\d{9}")
KEEP = 4

# Verhoeff's dihedral group D5: multiplication table and the position permutations.
_MULTIPLY = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_PERMUTE = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_holds(digits: str) -> bool:
    """Return whether a string of digits ends in its Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _MULTIPLY[check][_PERMUTE[position % 8][int(digit)]]
    return check == 0


def looks_like_aadhaar(digits: str) -> bool:
    """Return whether 12 digits are shaped as an Aadhaar number: 2-9 first, the check digit right."""
    return (
        len(digits) == 12
        and digits.isascii()
        and digits.isdigit()
        and digits[0] not in "01"
        and digits != digits[::-1]  # UIDAI issues no palindrome
        and verhoeff_holds(digits)
    )


def mask_aadhaar(number: str) -> str:
    """Return a written number with every digit but the last four replaced by X, separators kept."""
    digits_left = sum(character.isdigit() for character in number)
    masked = []
    for character in number:
        if character.isdigit():
            masked.append(character if digits_left <= KEEP else "X")
            digits_left -= 1
        else:
            masked.append(character)
    return "".join(masked)


def key_names_aadhaar(key: str) -> bool:
    """Return whether a payload key names an Aadhaar number: a word of it is aadha(a)r..., uid or uidai."""
    words = _WORD_BREAK.split(_CAMEL.sub(r"\1_\2", key).lower())
    return any(word.startswith(("aadhaar", "aadhar")) or word in ("uid", "uidai") for word in words)


def redact_aadhaar(value: Any, named: bool = False) -> tuple[Any, int]:
    """Return a JSON value with every Aadhaar number in it masked, and how many were masked.

    named: the value sits under a key that names an Aadhaar number.
    """
    if isinstance(value, str):
        return _redact_text(value, named)
    if isinstance(value, bool):
        return value, 0
    if isinstance(value, int):
        text = str(value)
        redacted, found = _redact_text(text, named)
        return (redacted, found) if found else (value, 0)
    if isinstance(value, dict):
        total = 0
        result: dict[str, Any] = {}
        for key, item in value.items():
            result[key], found = redact_aadhaar(item, named or key_names_aadhaar(str(key)))
            total += found
        return (result, total) if total else (value, 0)
    if isinstance(value, list):
        items = [redact_aadhaar(item, named) for item in value]
        total = sum(found for _, found in items)
        return ([item for item, _ in items], total) if total else (value, 0)
    return value, 0


def _redact_text(text: str, named: bool) -> tuple[str, int]:
    if not any(character.isdigit() for character in text):
        return text, 0
    found = 0

    def masked(match: re.Match[str]) -> str:
        nonlocal found
        digits = match.group(0).replace(" ", "").replace("-", "")
        if named or (looks_like_aadhaar(digits) and not _PHONE.fullmatch(digits)):
            found += 1
            return mask_aadhaar(match.group(0))
        return match.group(0)

    redacted = (_NOT_IN_LONGER if named else _STANDALONE).sub(masked, text)
    return redacted, found
