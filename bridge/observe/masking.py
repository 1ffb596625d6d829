"""Personal data masked wherever a person reads it: emails, phone numbers and PANs.

What is kept lets an operator tell two records apart without reading either:
an email keeps its first character and its domain (r***@example.com, as
bridge.leadsquared.activity.mask_contact writes it), a phone number and a PAN
their last four characters (*********3210, ******234F). Masking is
idempotent: masked text holds nothing that would be masked again.

A number is only taken for a phone where nothing but a separator touches it:
ids that merely hold digits (pay_29QQoUBi66xm2f, uuids, a hash), epoch
timestamps (1764230400 starts with a 1) and amounts (9876543210.50) are left
alone. PayU posts forms, so the percent-encoded @ (%40) and + (%2B) count too.
"""

from __future__ import annotations

import re
from typing import Any

# Not inside a longer token: no letter, digit, underscore, dot, plus, percent or dash before it.
_START = r"(?<![\w.+%-])"
# Nor one after it: a decimal (.50) or a dashed suffix (-2) makes it part of something else.
_END = r"(?!\w|[.-]\d)"
_EMAIL = (
    rf"{_START}(?P<first>[a-z0-9])[\w.%+-]*(?P<at>@|%40)"
    r"(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})"
)
# An Indian mobile: 10 digits from 6-9, after +91, 0091, 91 or 0, with spaces or dashes anywhere.
_INDIAN_MOBILE = rf"{_START}(?:(?:\+|%2B|00)[ -]?91[ -]?|91[ -]?|0)?[6-9]\d(?:[ -]?\d){{8}}{_END}"
# Any E.164 number: a plus and 8 to 15 digits, the first not 0.
_E164 = rf"{_START}(?:\+|%2B)[1-9](?:[ -]?\d){{7,14}}{_END}"
_PAN = r"(?<!\w)[a-z]{5}\d{4}[a-z](?!\w)"
_SENSITIVE = re.compile(
    rf"(?P<email>{_EMAIL})|(?P<phone>{_INDIAN_MOBILE}|{_E164})|(?P<pan>{_PAN})", re.IGNORECASE
)
# Every match holds a digit or an @: text without either is returned as it is, unscanned.
_MAYBE_SENSITIVE = re.compile(r"[0-9@]")
# Every match holds an @, a %40, or four digits with at most one space or dash between two:
# log lines and reasons with a count or a status code in them skip the full scan too.
_LIKELY_SENSITIVE = re.compile(r"@|%40|\d[ -]?\d[ -]?\d[ -]?\d")
KEEP = 4  # characters a phone number or PAN keeps, at its end


def mask_text(text: str) -> str:
    """Return text with every email, phone number and PAN in it masked."""
    # Two cheap searches before the costly one: most log lines stop at the first.
    if not _MAYBE_SENSITIVE.search(text) or not _LIKELY_SENSITIVE.search(text):
        return text
    return _SENSITIVE.sub(_masked, text)


def personal_data_in(text: str) -> list[str]:
    """Return every email, phone number and PAN in text, as written there, in order."""
    return [match.group(0) for match in _SENSITIVE.finditer(text)]


def mask_number(value: int) -> int | str:
    """Return a number that reads as a phone number masked (as text), any other number as it is."""
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked


def mask_payload(value: Any) -> Any:
    """Return a JSON value with every string masked; keys are kept, and a number that reads as a phone."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_payload(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_payload(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return mask_number(value)
    return value


def _masked(match: re.Match[str]) -> str:
    if match.group("email") is not None:
        return f"{match.group('first')}***{match.group('at')}{match.group('domain')}"
    found = match.group(0)
    return "*" * (len(found) - KEEP) + found[-KEEP:]
