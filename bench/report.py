"""Render the results as the Markdown that goes into bench/RESULTS.md and the README."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.drain import DrainReport
from bench.ingest import MODES, IngestSettings, Measured
from bench.stack import GunicornSettings

RATE_TARGET = 0.85
P99_TARGET_MS = 20.0
DRAIN_TARGET = 0.90
RSS_TARGET_MB = 100.0


@dataclass(frozen=True)
class MemoryRow:
    """One process's resident memory after the runs."""

    process: str
    pid: int
    rss_mb: float | None


def machine() -> str:
    """Describe the machine, the Python and the gunicorn settings the numbers come from."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return (
        f"{len(os.sched_getaffinity(0))} CPUs ({model}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d')}"
    )


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{1000 * seconds:.1f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def ingest_table(measured: Sequence[Measured]) -> list[str]:
    """Return one row per contender and loop."""
    lines = [
        "| Server | DB | Loop | Requests | Seconds | Acks/s (rounds: min-max) | p50 ms | p90 ms | p99 ms "
        "| max ms | non-2xx | Server CPU ms/ack | Client CPU ms/req | Other CPUs busy |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for mode in MODES:
        for entry in measured:
            result, rates = entry.results[mode], entry.round_rates[mode]
            loop = "closed, 32 conns" if mode == "closed" else f"open, {result.offered_rate:.0f}/s"
            lines.append(
                f"| {entry.contender.label} | {entry.contender.database} | {loop} | {result.requests} "
                f"| {result.seconds:.1f} | {result.rate:.0f} ({min(rates):.0f}-{max(rates):.0f}) "
                f"| {_ms(result.percentile(0.5))} | {_ms(result.percentile(0.9))} "
                f"| {_ms(result.percentile(0.99))} | {_ms(max(result.latencies, default=math.nan))} "
                f"| {result.non_2xx} | {entry.cpu_ms_per_ack(mode):.2f} "
                f"| {result.client_cpu_ms_per_request:.2f} | {entry.other_cores(mode):.2f} |"
            )
    return lines


def ingest_targets(measured: Sequence[Measured]) -> list[str]:
    """Return the target rows of the ingest phase, per database."""
    rows = []
    for bridge in (m for m in measured if m.contender.is_bridge):
        database = bridge.contender.database
        rate = bridge.results["closed"].rate
        for other in (m for m in measured if not m.contender.is_bridge and m.contender.database == database):
            share = rate / other.results["closed"].rate if other.results["closed"].rate else 0.0
            yardstick = "the target" if "Flask" in other.contender.label else "for reference"
            rows.append(
                f"| Ingest rate ({database}): bridge >= 85 % of {other.contender.label} ({yardstick}) "
                f"| {share:.0%} ({rate:.0f} vs {other.results['closed'].rate:.0f} acks/s) "
                f"| {_met(share >= RATE_TARGET)} |"
            )
        for mode, name in (("closed", "closed loop, 32 conns"), ("open", "open loop, 32 conns")):
            result = bridge.results[mode]
            p99 = 1000 * result.percentile(0.99)
            detail = f" at {result.offered_rate:.0f}/s" if mode == "open" else ""
            rows.append(
                f"| Bridge p99 ack ({database}, {name}{detail}) <= 20 ms | {p99:.1f} ms "
                f"| {_met(p99 <= P99_TARGET_MS and result.non_2xx == 0)} |"
            )
    return rows


def drain_targets(report: DrainReport) -> list[str]:
    """Return the target rows of the drain phase."""
    s = report.settings
    ceiling = f"{s.calls_per_window} calls / {s.window_seconds:g} s"
    bursts = ", ".join(f"{n} at +{start:.2f} s ({spread:.2f} s)" for start, n, spread in report.bursts)
    by_path = ", ".join(f"{n} {path.rsplit('/', 1)[-1]}" for path, n in report.calls_by_path.items())
    return [
        f"| Drain: {s.activities} activities over {s.opportunities} opportunities, "
        f"{s.latency:g} s latency, {ceiling}; all delivered once "
        f"| {report.delivered} delivered, {report.unique_keys} distinct; {report.accepted} accepted "
        f"in {report.post_seconds:.1f} s before the worker started "
        f"| {_met(report.finished and report.delivered == report.unique_keys == s.activities)} |",
        f"| Drain calls = {s.minimum_calls} (the minimum) | {report.calls} "
        f"({by_path}) "
        f"| {_met(report.calls == s.minimum_calls)} |",
        f"| Drain 429 answers = 0 | {report.rate_limited} | {_met(report.rate_limited == 0)} |",
        f"| Drain span, first call to last answer | {report.span:.1f} s (ideal {s.ideal_span:.1f} s; "
        f"worker start to last delivery {report.worker_seconds:.1f} s) | |",
        f"| Drain bursts: calls at +start (spread) | {bursts} | |",
        f"| Drain (a) calls/s over the span / {s.calls_per_window / s.window_seconds:g} calls/s >= 90 % "
        f"| {report.rate_share:.0%} | {_met(report.rate_share >= DRAIN_TARGET)} |",
        f"| Drain (b) ideal span / measured span >= 90 % | {report.ideal_share:.0%} "
        f"| {_met(report.ideal_share >= DRAIN_TARGET)} |",
    ]


def memory_table(rows: Sequence[MemoryRow]) -> list[str]:
    """Return one row per process."""
    lines = ["| Process | pid | RSS MB |", "|---|--:|--:|"]
    lines += [
        f"| {r.process} | {r.pid} | {'gone' if r.rss_mb is None else f'{r.rss_mb:.1f}'} |" for r in rows
    ]
    return lines


def render(
    title: str,
    command: str,
    gunicorn: GunicornSettings,
    ingest: IngestSettings,
    measured: Sequence[Measured],
    drain: DrainReport | None,
    memory: Sequence[MemoryRow],
) -> str:
    """Return the whole Markdown report."""
    known = [r.rss_mb for r in memory if r.rss_mb is not None]
    largest = max(known, default=0.0)
    lines = [
        f"## {title}",
        "",
        f"`{command}` on {machine()}. Every process shares these CPUs with the load generator.",
        f"gunicorn.conf.py as is: {gunicorn.describe()}, bound to 127.0.0.1.",
        f"Ingest: {ingest.warm_seconds:g} s warm-up each, then {ingest.closed_seconds:g} s closed loop with "
        f"{ingest.connections} keep-alive connections, then {ingest.open_seconds:g} s open loop over "
        f"{ingest.connections} connections at {ingest.open_share:.0%} of the bridge's closed-loop rate "
        "(latency from each request's scheduled time); contenders take turns in "
        f"{ingest.rounds} rounds. Other CPUs busy: CPUs used meanwhile by neither that server nor "
        "the load generator (idle servers, other people's work on the machine, and PostgreSQL's own "
        "processes, which Server CPU leaves out).",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
        *ingest_targets(measured),
        *(drain_targets(drain) if drain else []),
        f"| RSS <= 100 MB per process | largest {largest:.1f} MB | {_met(largest <= RSS_TARGET_MB)} |",
        "",
        *ingest_table(measured),
        "",
        *memory_table(memory),
        "",
    ]
    return "\n".join(lines)
