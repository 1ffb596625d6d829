"""How operator commands print: aligned columns for a person, JSON for a script, times in UTC."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

import click


def as_json(value: Any) -> str:
    """Return a dataclass (or a list of them) as indented JSON."""
    return json.dumps(_plain(value), indent=2, ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def moment(seconds: float | None) -> str:
    """Return a time as UTC ISO 8601 to the second, or '-' for none."""
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def table(headings: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under their headings in aligned columns; the last column is never padded."""
    cells = [[str(h) for h in headings], *[["-" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headings))]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        click.echo("  ".join([*padded, row[-1]]).rstrip())


def short(text: str | None, width: int = 70) -> str:
    """Return text cut to width characters, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
