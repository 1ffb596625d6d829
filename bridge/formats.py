"""Value formats LeadSquared expects, shared by every transform."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def rupees_from_paise(paise: int) -> str:
    """Return an amount in paise as rupees with two decimals: 1000050 -> '10000.50'."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise ValueError(f"an amount in paise must be a whole number, not {paise!r}")
    return f"{Decimal(paise) / 100:.2f}"


def lsq_datetime(epoch_seconds: int | float) -> str:
    """Return a Unix time as LeadSquared's UTC 'YYYY-MM-DD HH:MM:SS'."""
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, int | float):
        raise ValueError(f"a Unix time must be a number, not {epoch_seconds!r}")
    try:
        moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{epoch_seconds!r} is not a Unix time LeadSquared can hold") from None
    return moment.strftime("%Y-%m-%d %H:%M:%S")
