"""What scraping /metrics costs ingest: acks per second with and without a scraper, side by side.

    .venv/bin/python -m bench.scrape                 # SQLite
    .venv/bin/python -m bench.scrape --postgres      # also PostgreSQL
    .venv/bin/python -m bench.scrape --quick --no-readme

The web process (gunicorn.conf.py as is), the worker (its metrics server on a
free port) and the admin process (the Procfile's line) run on one store, the
worker delivering to the sandbox meanwhile. Signed webhooks then arrive in a
closed loop over 32 keep-alive connections, in rounds that alternate between
no scraper and a scraper that GETs /metrics from all three processes every
second, as Prometheus would; which arm goes first alternates too, so a
machine that gets busier or quieter shifts both alike. Target: ingest with
the scraper within 3 % of ingest without it.

It also times the two metric writes every ack makes (a counter and a
histogram) in prometheus_client's multiprocess mode, where each is a write
into a memory-mapped file, against its in-memory mode.

The table goes into README.md between the scrape markers (--no-readme: printed only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkout import README, git, write_section
from bench.ingest import build_requests
from bench.load import Result, closed_loop
from bench.procs import LOOPBACK, Processes, cpu_seconds, free_port, stop_on_sigterm
from bench.stack import (
    bridge_env,
    gunicorn_settings,
    postgres_databases,
    start_admin,
    start_bridge_web,
    start_sandbox,
    start_worker,
)

START, END = "<!-- scrape:start -->", "<!-- scrape:end -->"
TARGET = 0.97
ARMS = ("without scraper", "with scraper")
ADMIN_PASSWORD = "bench-admin-password"


@dataclass(frozen=True)
class ScrapeSettings:
    """How long each round runs and how often the scraper polls."""

    # Many short rounds: other work on a shared machine comes and goes within seconds.
    rounds: int = 16  # per arm
    round_seconds: float = 3.0
    warm_seconds: float = 3.0
    connections: int = 32
    interval: float = 1.0
    max_rate: float = 4000.0
    increments: int = 200_000
    # Whose /metrics the scraper polls; none at all makes both arms the same, the bench's own spread.
    targets: tuple[str, ...] = ("web", "worker", "admin")


@dataclass
class Arm:
    """One arm's rounds: answers, seconds, and the web's CPU."""

    rates: list[float] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    non_2xx: int = 0
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        """Return acks per second over all its rounds."""
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, result: Result, server_cpu: float) -> None:
        """Fold one round in."""
        self.rates.append(result.rate)
        self.requests += result.requests
        self.seconds += result.seconds
        self.non_2xx += result.non_2xx
        self.server_cpu += server_cpu


@dataclass
class StoreReport:
    """Both arms on one store, and every scrape's time per endpoint."""

    database: str
    arms: dict[str, Arm] = field(default_factory=lambda: {arm: Arm() for arm in ARMS})
    scrapes: dict[str, list[float]] = field(default_factory=dict)
    scrape_bytes: dict[str, int] = field(default_factory=dict)
    failed_scrapes: int = 0


async def get(port: int, path: str) -> tuple[int, int]:
    """GET a path on a new connection; return the status and the body's length."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nConnection: close\r\n\r\n".encode())
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), len(body)


async def scraper(targets: dict[str, int], interval: float, stop: asyncio.Event, report: StoreReport) -> None:
    """GET /metrics of every target once per interval, as a Prometheus server would, until stopped."""
    while not stop.is_set():
        began = time.perf_counter()
        for name, port in targets.items():
            started = time.perf_counter()
            try:
                status, size = await get(port, "/metrics")
            except OSError:
                report.failed_scrapes += 1
                continue
            if status != 200:
                report.failed_scrapes += 1
                continue
            report.scrapes.setdefault(name, []).append(time.perf_counter() - started)
            report.scrape_bytes[name] = size
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, interval - (time.perf_counter() - began)))


async def ingest_round(
    port: int,
    requests: list[bytes],
    settings: ScrapeSettings,
    targets: dict[str, int] | None,
    report: StoreReport,
) -> Result:
    """Run one closed-loop round, with the scraper beside it when targets are given."""
    stop = asyncio.Event()
    polling = asyncio.create_task(scraper(targets, settings.interval, stop, report)) if targets else None
    try:
        return await closed_loop(LOOPBACK, port, requests, settings.connections, settings.round_seconds)
    finally:
        stop.set()
        if polling is not None:
            await polling


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Wait until something answers HTTP on the port (the worker's metrics server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            asyncio.run(get(port, "/healthz"))
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


def measure_store(
    workdir: Path, procs: Processes, stack: ExitStack, postgres: bool, settings: ScrapeSettings
) -> StoreReport:
    """Start web, worker, admin and the sandbox on one store, then run the alternating rounds."""
    if postgres:
        (url,) = stack.enter_context(postgres_databases(1))
        database_url, label = url.replace("postgresql://", "postgresql+psycopg://"), "PostgreSQL"
    else:
        database_url, label = f"sqlite:///{workdir / 'scrape.db'}", "SQLite"
    sandbox = start_sandbox(procs, 0.0, 25, 5.0)
    worker_port = free_port()
    env = {**bridge_env(workdir, database_url, sandbox.url), "WORKER_METRICS_PORT": str(worker_port)}
    web = start_bridge_web(procs, f"web-{label}", env)
    start_worker(procs, env, f"worker-{label}")
    admin = start_admin(procs, {**env, "BRIDGE_ADMIN_PASSWORD": ADMIN_PASSWORD}, f"admin-{label}")
    wait_for_port(worker_port)
    assert web.port is not None and admin.port is not None
    ports = {"web": web.port, "worker": worker_port, "admin": admin.port}
    targets = {name: port for name, port in ports.items() if name in settings.targets}
    report = StoreReport(label)
    count = int(settings.max_rate * settings.warm_seconds)
    warm = build_requests(web.port, f"warm-{label}", count)
    asyncio.run(closed_loop(LOOPBACK, web.port, warm, settings.connections, settings.warm_seconds))
    for number in range(settings.rounds):
        order = ARMS if number % 2 == 0 else tuple(reversed(ARMS))
        for arm in order:
            count = int(settings.max_rate * settings.round_seconds)
            requests = build_requests(web.port, f"{label}-{number}-{arm[:4]}", count)
            before = cpu_seconds(web.tree())
            polled = targets if arm == "with scraper" and targets else None
            result = asyncio.run(ingest_round(web.port, requests, settings, polled, report))
            report.arms[arm].add(result, cpu_seconds(web.tree()) - before)
            print(f"  {label} round {number + 1} {arm}: {result.rate:.0f} acks/s", flush=True)
    return report


INCREMENT_CODE = """
import sys, time
from bridge.observe.metrics import ACK_SECONDS, WEBHOOKS
count = int(sys.argv[1])
for _ in range(1000):
    WEBHOOKS.labels("razorpay", "accepted").inc(); ACK_SECONDS.labels("razorpay").observe(0.003)
started = time.perf_counter()
for _ in range(count):
    WEBHOOKS.labels("razorpay", "accepted").inc()
    ACK_SECONDS.labels("razorpay").observe(0.003)
print((time.perf_counter() - started) / count)
"""


def increment_cost(multiprocess: bool, count: int) -> float:
    """Return the seconds the ack's two metric writes take, in a fresh interpreter of either mode."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory(prefix="lsq-prom-") as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        done = subprocess.run(
            [sys.executable, "-c", INCREMENT_CODE, str(count)],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
            capture_output=True,
            text=True,
        )
    return float(done.stdout.strip())


def _ms(values: list[float], share: float) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]:.1f}"


def render(
    command: str, settings: ScrapeSettings, reports: Sequence[StoreReport], costs: tuple[float, float]
) -> str:
    """Return the Markdown that goes into the README."""
    model = gunicorn_settings().describe()
    lines = [
        f"`{command}` at {git('rev-parse', '--short', 'HEAD')} on {len(os.sched_getaffinity(0))} CPUs, "
        f"{time.strftime('%Y-%m-%d')}; web: {model}. Closed loop over {settings.connections} keep-alive "
        f"connections, {settings.rounds} rounds of {settings.round_seconds:g} s per arm, alternating "
        f"(which arm goes first alternates too), after a {settings.warm_seconds:g} s warm-up; the scraper "
        f"GETs /metrics of {', '.join(settings.targets) or 'nothing (both arms alike)'} every "
        f"{settings.interval:g} s; the worker delivers to the "
        "sandbox meanwhile.",
        "",
        "| DB | arm | acks/s (rounds: min-max) | web CPU ms/ack | non-2xx | with / without |",
        "|---|---|--:|--:|--:|--:|",
    ]
    verdicts = []
    for report in reports:
        without, with_ = report.arms["without scraper"], report.arms["with scraper"]
        share = with_.rate / without.rate if without.rate else 0.0
        # Each round with the scraper beside the round without it that ran next to it.
        pairs = sorted(w / o for w, o in zip(with_.rates, without.rates, strict=True) if o)
        median = pairs[len(pairs) // 2] if pairs else 0.0
        for name, arm in report.arms.items():
            cpu = 1000 * arm.server_cpu / arm.requests if arm.requests else 0.0
            ratio = f"{100 * share:.1f}%" if arm is with_ else ""
            lines.append(
                f"| {report.database} | {name} | {arm.rate:.0f} ({min(arm.rates):.0f}-{max(arm.rates):.0f}) "
                f"| {cpu:.2f} | {arm.non_2xx} | {ratio} |"
            )
        met = "met" if share >= TARGET else "**missed**"
        cpu_share = (with_.server_cpu / with_.requests) / (without.server_cpu / without.requests)
        verdicts.append(
            f"- {report.database}: ingest with the scraper {100 * share:.1f}% of without over all rounds "
            f"(target >= {100 * TARGET:.0f}%): {met}; round by round, the median of the {len(pairs)} "
            f"neighbouring pairs {100 * median:.1f}% (from {100 * pairs[0]:.0f}% to {100 * pairs[-1]:.0f}%); "
            f"the web's CPU per ack with the scraper {100 * cpu_share:.1f}% of without"
        )
    lines += ["", "| DB | endpoint | scrapes | p50 ms | max ms | bytes |", "|---|---|--:|--:|--:|--:|"]
    for report in reports:
        for name, times in report.scrapes.items():
            lines.append(
                f"| {report.database} | {name} | {len(times)} | {_ms(times, 0.5)} | {_ms(times, 1.0)} "
                f"| {report.scrape_bytes.get(name, 0)} |"
            )
        if report.failed_scrapes:
            lines.append(f"| {report.database} | failed scrapes | {report.failed_scrapes} | | | |")
    multi, memory = costs
    lines += [
        "",
        *verdicts,
        f"- the ack's two metric writes (counter + histogram), {settings.increments:,} times: "
        f"{1e6 * multi:.1f} µs in multiprocess mode (memory-mapped files, as under gunicorn), "
        f"{1e6 * memory:.1f} µs in memory",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each store, print the table, and write it into the README unless told not to."""
    parser = argparse.ArgumentParser(prog="python -m bench.scrape", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="2 short rounds per arm, a smoke run")
    parser.add_argument("--no-readme", action="store_true", help="print the table, do not write README.md")
    parser.add_argument(
        "--targets",
        default="web,worker,admin",
        help="whose /metrics to scrape, comma-separated (default all three; 'none': both arms alike)",
    )
    args = parser.parse_args(argv)
    targets = tuple(name for name in args.targets.split(",") if name and name != "none")
    unknown = set(targets) - {"web", "worker", "admin"}
    if unknown:
        parser.error(f"--targets: {', '.join(sorted(unknown))} is not web, worker, admin or none")
    stop_on_sigterm()
    settings = (
        ScrapeSettings(rounds=2, round_seconds=2.0, increments=20_000, targets=targets)
        if args.quick
        else ScrapeSettings(targets=targets)
    )
    reports = []
    with (
        tempfile.TemporaryDirectory(prefix="lsq-scrape-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        for postgres in (False, True) if args.postgres else (False,):
            print(f"measuring {'PostgreSQL' if postgres else 'SQLite'} ...", flush=True)
            reports.append(measure_store(Path(tmp), procs, stack, postgres, settings))
            procs.stop_all()
            procs.started.clear()
    costs = (increment_cost(True, settings.increments), increment_cost(False, settings.increments))
    command = " ".join([".venv/bin/python -m bench.scrape", *(sys.argv[1:] if argv is None else argv)])
    table = render(command, settings, reports, costs)
    print(table)
    if not args.no_readme and not args.quick and settings.targets == ScrapeSettings.targets:
        write_section(START, END, table)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
