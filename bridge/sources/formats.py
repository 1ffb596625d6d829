"""Value formats LeadSquared expects, shared by every transform."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

# Indian gateways (PayU, Easebuzz, Paytm) write local times with no offset: India Standard Time.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
RUPEES_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


def rupees_from_paise(paise: int) -> str:
    """Return an amount in paise as rupees with two decimals: 1000050 -> '10000.50'."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise ValueError(f"an amount in paise must be a whole number, not {paise!r}")
    return f"{Decimal(paise) / 100:.2f}"


def rupees(value: str) -> str:
    """Return a gateway's rupee text with two decimals: '100' -> '100.00'; refuse anything else."""
    if not RUPEES_TEXT.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an amount in rupees with at most two decimals")
    return f"{Decimal(value.strip()):.2f}"


def utc_from_ist(value: str) -> str:
    """Return an India-time 'YYYY-MM-DD HH:MM:SS' as LeadSquared's UTC text of the same form."""
    return _utc_from_ist(value, "%Y-%m-%d %H:%M:%S", "YYYY-MM-DD HH:MM:SS")


def utc_from_ist_day_first(value: str) -> str:
    """Return an India-time 'DD/MM/YYYY HH:MM:SS' (CCAvenue's trans_date) as LeadSquared's UTC text."""
    return _utc_from_ist(value, "%d/%m/%Y %H:%M:%S", "DD/MM/YYYY HH:MM:SS")


def _utc_from_ist(value: str, pattern: str, shown: str) -> str:
    try:
        moment = datetime.strptime(value.strip(), pattern).replace(tzinfo=IST)
    except ValueError:
        raise ValueError(f"{value!r} is not a '{shown}' time") from None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def lsq_datetime(epoch_seconds: int | float) -> str:
    """Return a Unix time as LeadSquared's UTC 'YYYY-MM-DD HH:MM:SS'."""
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, int | float):
        raise ValueError(f"a Unix time must be a number, not {epoch_seconds!r}")
    try:
        moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{epoch_seconds!r} is not a Unix time LeadSquared can hold") from None
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def lsq_datetime_from_iso(text: str) -> str:
    """Return an ISO 8601 time with an offset as LeadSquared's UTC 'YYYY-MM-DD HH:MM:SS'."""
    if not isinstance(text, str):
        raise ValueError(f"an ISO 8601 time must be text, not {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset, so its UTC time is unknown")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def masked(text: str, keep: int = 4) -> str:
    """Return text with all but its last `keep` characters as X: a PAN 'ABCDE1111A' -> 'XXXXXX111A'."""
    value = str(text)
    return "X" * max(0, len(value) - keep) + value[-keep:] if keep else "X" * len(value)


def as_text(value: object) -> str:
    """Return a JSON scalar as LeadSquared text: booleans as true/false, numbers as written.

    The one rule for every value a source sends: transforms reach it through
    values.text, which reads an absent value or a container as None instead.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"{value!r} is not a single value")


# The formats a field map in bridge.toml may name.
FORMATS: dict[str, Callable[[Any], str]] = {
    "text": as_text,
    "rupees_from_paise": rupees_from_paise,
    "lsq_datetime": lsq_datetime,
    "lsq_datetime_from_iso": lsq_datetime_from_iso,
    "mask": masked,
    "upper": lambda value: as_text(value).upper(),
    "lower": lambda value: as_text(value).lower(),
}
