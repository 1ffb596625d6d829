"""Render the console benchmark as Markdown: the URLs' times per store, the replay, and the targets."""

from __future__ import annotations

from collections.abc import Sequence

from bench.console_http import Timing
from bench.console_replay import ReplayReport

TARGET_MS = 200.0  # the issue's: every page and API list at most 200 ms at the 95th percentile


def timings_table(stores: Sequence[str], timings: Sequence[Sequence[Timing]]) -> list[str]:
    """Return a row per URL, p50 / p95 / max per store; a p95 over the target in bold."""
    head = "| Serves | What | URL | " + " | ".join(f"{name} p50 | p95 | max" for name in stores) + " |"
    lines = [head, "|---|---|---|" + "--:|--:|--:|" * len(stores)]
    for row in zip(*timings, strict=True):
        target = row[0].target
        cells = []
        for timing in row:
            p95 = timing.percentile(0.95)
            shown = f"**{p95:.0f}**" if p95 > TARGET_MS else f"{p95:.0f}"
            cells.append(f"{timing.percentile(0.5):.0f} | {shown} | {max(timing.samples):.0f}")
        serves = "API" if target.api else "page"
        lines.append(f"| {serves} | {target.label} | `{target.path}` | " + " | ".join(cells) + " |")
    return lines


def timing_verdicts(stores: Sequence[str], timings: Sequence[Sequence[Timing]]) -> list[str]:
    """Return, per store, whether every URL met the target, and which did not."""
    lines = []
    for name, store_timings in zip(stores, timings, strict=True):
        slowest = max(store_timings, key=lambda timing: timing.percentile(0.95))
        missed = [t for t in store_timings if t.percentile(0.95) > TARGET_MS]
        worst = f"slowest p95 {slowest.percentile(0.95):.0f} ms, {_named(slowest)}"
        if not missed:
            lines.append(f"- {name}: every page and API list within {TARGET_MS:.0f} ms p95 ({worst}): met")
            continue
        named = "; ".join(f"{_named(t)} {t.percentile(0.95):.0f} ms" for t in missed)
        lines.append(f"- {name}: **not met** by {len(missed)} of {len(store_timings)}: {named}")
    return lines


def replay_table(reports: Sequence[ReplayReport]) -> list[str]:
    """Return the replay's figures, a column per store, with the targets."""
    settings = reports[0].settings
    window = f"{settings.window_seconds:g} s"
    rows: list[tuple[str, list[str], str]] = [
        (
            "ignored events matched by the filter (dry run / job)",
            [f"{r.matched:,} / {r.job_total:,}" for r in reports],
            "",
        ),
        ("activities the job queued", [f"{r.job_changed:,}" for r in reports], ""),
        ("job finished after (its own record)", [f"{r.job_seconds:.1f} s" for r in reports], ""),
        ("first LeadSquared call after", [f"{r.first_call_seconds:.1f} s" for r in reports], ""),
        (
            "all activities delivered after (ideal at the limit)",
            [f"{r.delivered_seconds:.1f} s ({settings.ideal_seconds:.1f} s)" for r in reports],
            "",
        ),
        ("LeadSquared calls (minimum)", [f"{r.calls} ({settings.minimum_calls})" for r in reports], ""),
        (
            f"most calls in any {window}",
            [str(r.most_calls_in_window) for r in reports],
            f"<= {settings.calls_per_window}",
        ),
        ("429 answers", [str(r.rate_limited) for r in reports], "0"),
        (
            "activities arrived / distinct keys / doubled",
            [f"{r.arrived:,} / {r.distinct:,} / {r.doubled}" for r in reports],
            f"{settings.events:,} / {settings.events:,} / 0",
        ),
        (
            "the same replay again: queued / calls",
            [f"{r.again_changed} / {r.again_calls}" for r in reports],
            "0 / 0",
        ),
    ]
    lines = ["| | " + " | ".join(r.store for r in reports) + " | target |"]
    lines.append("|---|" + "--:|" * len(reports) + "---|")
    lines += [f"| {label} | " + " | ".join(cells) + f" | {target} |" for label, cells, target in rows]
    return lines


def replay_verdict(report: ReplayReport) -> str:
    """Say whether the replay stayed within the limit, delivered everything once, and doubled nothing."""
    settings = report.settings
    within = report.most_calls_in_window <= settings.calls_per_window and report.rate_limited == 0
    once = report.arrived == report.distinct == settings.events
    again = report.again_changed == 0 and report.again_calls == 0
    met = "met" if within and once and again else "**not met**"
    return (
        f"- {report.store}: {settings.events:,} events replayed within {settings.calls_per_window} calls "
        f"per {settings.window_seconds:g} s, each activity delivered once, "
        f"a second replay posting nothing: {met}"
    )


def _named(timing: Timing) -> str:
    return f"{'API' if timing.target.api else 'page'} {timing.target.label}"
