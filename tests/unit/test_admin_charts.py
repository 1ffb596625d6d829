"""The overview's hourly bars: stacked, scaled to the busiest hour, empty hours drawn as nothing."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.admin.charts import COLOURS, HEIGHT, WIDTH, hourly_chart

START = 1764230400.0  # 2025-11-27T08:00:00Z


@dataclass(frozen=True)
class Hour:
    """An hour's counts, as the queries layer gives them."""

    start: float
    accepted: int = 0
    duplicate: int = 0
    refused: int = 0


def test_the_busiest_hour_fills_the_height_and_others_scale_to_it() -> None:
    """A bar's pieces stack bottom up in accepted, duplicate, refused order; the peak reaches the top."""
    hours = [Hour(START + 3600 * i) for i in range(24)]
    hours[3] = Hour(START + 3 * 3600, accepted=6, duplicate=2, refused=2)
    hours[10] = Hour(START + 10 * 3600, accepted=5)
    chart = hourly_chart(hours)
    assert chart.peak == 10 and (chart.width, chart.height) == (WIDTH, HEIGHT)
    busiest = [bar for bar in chart.bars if bar.title.startswith("11:00")]
    assert [bar.fill for bar in busiest] == [COLOURS["accepted"], COLOURS["duplicate"], COLOURS["refused"]]
    assert busiest[0].y + busiest[0].height == chart.baseline
    assert abs(busiest[-1].y - 2) < 0.01
    [half] = [bar for bar in chart.bars if bar.title.startswith("18:00")]
    assert abs(half.height - busiest[0].height * 5 / 6) < 0.01


def test_empty_hours_draw_nothing_and_a_quiet_day_has_no_bars() -> None:
    """Hours with no deliveries give no bar; a day of them gives an empty chart with its labels."""
    chart = hourly_chart([Hour(START + 3600 * i) for i in range(24)])
    assert chart.bars == [] and chart.peak == 0
    assert [tick.label for tick in chart.ticks] == ["08:00", "14:00", "20:00", "02:00"]


def test_bar_titles_say_the_hour_and_its_counts() -> None:
    """Hovering a bar tells its hour in UTC and its three counts."""
    chart = hourly_chart([Hour(START, accepted=1, refused=3)])
    assert chart.bars[0].title == "08:00 UTC: 1 accepted, 0 duplicate, 3 refused"
