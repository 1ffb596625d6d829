"""Helpers every transform shares to turn payload values into LeadSquared text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.sources.kind import TransformError


def text(value: Any) -> str | None:
    """Return a scalar as text (booleans as true/false); None for absent values and containers."""
    if value is None or isinstance(value, Mapping | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def formatted(format_value: Callable[[Any], str], value: Any, path: str) -> str | None:
    """Return a value through a format, None when absent; a bad value fails naming its path."""
    if value is None:
        return None
    try:
        return format_value(value)
    except ValueError as error:
        raise TransformError(f"{path}: {error}") from None
