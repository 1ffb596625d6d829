"""The overview's bar chart of a source's last 24 hours: geometry here, drawn as SVG by the template.

Bars are stacked per hour (accepted, duplicate, refused from the bottom up) and
scaled to the busiest hour. The template draws them with presentation
attributes only (x, y, fill), which the console's CSP allows; no style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

WIDTH = 360
HEIGHT = 90
AXIS = 14  # room under the bars for the hour labels
GAP = 2
# The legend's colours; console.css gives its swatches the same.
COLOURS = {"accepted": "#2da44e", "duplicate": "#8c959f", "refused": "#cf222e"}


class Hour(Protocol):
    """One hour's counts of a source, as bridge.operate.queries.HourCounts holds them."""

    @property
    def start(self) -> float: ...
    @property
    def accepted(self) -> int: ...
    @property
    def duplicate(self) -> int: ...
    @property
    def refused(self) -> int: ...


@dataclass(frozen=True)
class Bar:
    """One coloured piece of one hour's bar."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str  # shown on hover: the hour and its counts


@dataclass(frozen=True)
class Tick:
    """An hour label under the bars."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws: its size, the bars, the hour labels and the busiest hour's total."""

    width: int
    height: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    peak: int


def hourly_chart(hours: Sequence[Hour]) -> Chart:
    """Return the stacked bars of the hours given, oldest first, scaled to the busiest."""
    baseline = HEIGHT - AXIS
    peak = max((hour.accepted + hour.duplicate + hour.refused for hour in hours), default=0)
    slot = WIDTH / max(len(hours), 1)
    bars: list[Bar] = []
    ticks: list[Tick] = []
    for index, hour in enumerate(hours):
        x = index * slot + GAP / 2
        bars += _stack(hour, x, slot - GAP, baseline, peak)
        if index % 6 == 0:
            ticks.append(Tick(x, _clock(hour.start)))
    return Chart(WIDTH, HEIGHT, baseline, bars, ticks, peak)


def _stack(hour: Hour, x: float, width: float, baseline: float, peak: int) -> list[Bar]:
    """Return an hour's pieces, bottom up; an hour with nothing has none."""
    title = (
        f"{_clock(hour.start)} UTC: {hour.accepted} accepted, "
        f"{hour.duplicate} duplicate, {hour.refused} refused"
    )
    pieces = []
    top = baseline
    for name, count in (
        ("accepted", hour.accepted),
        ("duplicate", hour.duplicate),
        ("refused", hour.refused),
    ):
        if count <= 0 or peak <= 0:
            continue
        height = max(count / peak * (baseline - 2), 1.0)
        top -= height
        pieces.append(
            Bar(round(x, 2), round(top, 2), round(width, 2), round(height, 2), COLOURS[name], title)
        )
    return pieces


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:00")
