"""A phone number written the way a LeadSquared account's leads hold it, for a look-up.

Providers write one number many ways (Exotel 09800000001, Plivo and Meta
919800000001, Twilio +919800000001), and LeadSquared's phone search matches
the form the lead holds: digits only per its documents, `+91-9800000001` as
one practitioner saw it (unconfirmed, bridge.example.toml). `phone_format`
on a look-up rewrites the value before it is searched and cached:

- `as_sent`: as the payload holds it, trimmed (the default);
- `e164`: +919800000001;
- `digits`: 919800000001;
- `national`: 9800000001 (another country's number keeps its code: 14155550100);
- `dashed`: +91-9800000001 (another country's number stays E.164).

A value that reads as no phone number (bridge/observe/identifiers.py
decides, as it does for an erasure) is refused with ValueError, saying so
without quoting it.
"""

from __future__ import annotations

from bridge.observe.identifiers import normalize_phone

INDIA = "+91"


def written_as(value: str, phone_format: str) -> str:
    """Return a phone number in the format asked for; ValueError when it is no phone number."""
    if phone_format == "as_sent":
        return value.strip()
    try:
        e164 = normalize_phone(value)
    except ValueError:
        raise ValueError(
            f"is not a phone number that phone_format {phone_format!r} can rewrite "
            "(an Indian mobile, with or without +91, 91 or 0, or + and 8 to 15 digits)"
        ) from None
    indian = e164.startswith(INDIA) and len(e164) == len(INDIA) + 10
    if phone_format == "e164":
        return e164
    if phone_format == "digits":
        return e164[1:]
    if phone_format == "national":
        return e164[len(INDIA) :] if indian else e164[1:]
    if phone_format == "dashed":
        return f"{INDIA}-{e164[len(INDIA):]}" if indian else e164
    raise ValueError(f"knows no phone_format {phone_format!r}")
