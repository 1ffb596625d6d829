"""Idle latency: from a webhook's ack to the LeadSquared call it becomes, one webhook a second.

    .venv/bin/python -m bench.latency              # SQLite, wake = poll then notify, 60 webhooks each
    .venv/bin/python -m bench.latency --postgres   # and PostgreSQL
    .venv/bin/python -m bench.latency --quick      # 10 webhooks each, a smoke run

Each run starts the web process (gunicorn as the Procfile runs it) and one
worker on a fresh database, with the sandbox answering at once. The client
reads the ack and notes the machine's monotonic clock; the sandbox notes the
same clock when the call arrives (/sandbox/received gives it), so the
difference is the latency, with no clock between two machines to agree on.
Polling and waking run one after the other in one invocation, so the before
and the after share the machine's load. The table goes into README.md
between the latency markers.
"""

from __future__ import annotations

import argparse
import http.client
import math
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkout import README, write_section
from bench.drain import BULK_PATH, received
from bench.load import Payment, signed_request
from bench.procs import LOOPBACK, Process, Processes, stop_on_sigterm
from bench.report import machine
from bench.stack import (
    REPO,
    WEBHOOK_SECRET,
    Sandbox,
    bridge_env,
    postgres_databases,
    start_bridge_web,
    start_sandbox,
    start_worker,
)

README_START, README_END = "<!-- latency:start -->", "<!-- latency:end -->"
WAKE_MODES = ("poll", "notify")  # the old way first: the table reads before, after
# Targets of issue 8: p50 per store, p99 on both.
P50_TARGET_SECONDS = {"SQLite": 0.100, "PostgreSQL": 0.050}
P99_TARGET_SECONDS = 0.250
DELIVERY_DEADLINE_SECONDS = 30.0


@dataclass
class Run:
    """One store and wake mode: how long each webhook took from its ack to its call."""

    store: str
    wake: str
    latencies: list[float] = field(default_factory=list)
    missing: int = 0

    def percentile(self, share: float) -> float:
        """Return the latency below which `share` of the webhooks fell (nearest rank)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="webhooks per run, one a second (60)")
    parser.add_argument("--quick", action="store_true", help="10 webhooks per run")
    parser.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 10
    args.flags = list(sys.argv[1:] if argv is None else argv)
    return args


def write_config(run_dir: Path, wake: str) -> None:
    """Write the example configuration with this wake mode into the run's directory."""
    text = (REPO / "bridge.example.toml").read_text()
    line = 'wake = "notify"'
    if line not in text:
        raise SystemExit(f"bridge.example.toml has no line {line!r} to change")
    run_dir.mkdir(parents=True)
    (run_dir / "bridge.toml").write_text(text.replace(line, f'wake = "{wake}"'))


def post(web: Process, payment: Payment) -> float:
    """Post one signed webhook on a new connection, as a provider does; return when its ack was read."""
    assert web.port is not None
    with socket.create_connection((LOOPBACK, web.port), timeout=10) as connection:
        connection.sendall(signed_request(LOOPBACK, web.port, WEBHOOK_SECRET, payment))
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        answer.read()
        acked = time.monotonic()
    if answer.status != 202:
        raise RuntimeError(f"webhook {payment.event_id} answered {answer.status}")
    return acked


def first_calls(sandbox: Sandbox) -> dict[str, float]:
    """Return, per opportunity, when its first bulk call arrived (monotonic seconds)."""
    arrivals: dict[str, float] = {}
    for call in received(sandbox)["calls"]:
        if BULK_PATH in call["path"] and call["opportunity_id"]:
            arrivals.setdefault(call["opportunity_id"], call["monotonic"])
    return arrivals


def wait_for_calls(sandbox: Sandbox, worker: Process, opportunities: Sequence[str]) -> dict[str, float]:
    """Wait until every opportunity had its call, or the deadline; fail if the worker died."""
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    while True:
        arrivals = first_calls(sandbox)
        if all(o in arrivals for o in opportunities) or time.monotonic() > deadline:
            return arrivals
        if worker.popen.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        time.sleep(0.1)


def measure(
    procs: Processes, sandbox: Sandbox, run_dir: Path, database_url: str, store: str, wake: str, count: int
) -> Run:
    """Start web and worker on the database, warm up, post one webhook a second, stop them."""
    write_config(run_dir, wake)
    env = bridge_env(run_dir, database_url, sandbox.url)
    name = f"{store.lower()}-{wake}"
    web = start_bridge_web(procs, f"web-{name}", env)
    worker = start_worker(procs, env)
    try:
        warm = Payment(f"evt_{name}_warm", f"pay_{name}_warm", f"opp-{name}-warm")
        post(web, warm)  # imports, connections and the first transaction come before the clock starts
        wait_for_calls(sandbox, worker, [warm.opportunity_id])
        acks: dict[str, float] = {}
        start = time.monotonic() + 1.0
        for number in range(count):
            time.sleep(max(0.0, start + number - time.monotonic()))
            payment = Payment(f"evt_{name}_{number}", f"pay_{name}_{number}", f"opp-{name}-{number}")
            acks[payment.opportunity_id] = post(web, payment)
        arrivals = wait_for_calls(sandbox, worker, list(acks))
    finally:
        worker.stop()
        web.stop()
    run = Run(store, wake)
    for opportunity, acked in acks.items():
        if opportunity in arrivals:
            run.latencies.append(arrivals[opportunity] - acked)
        else:
            run.missing += 1
    return run


def render(runs: Sequence[Run], command: str, count: int) -> str:
    """Return the report: a row per store and wake mode, and the targets."""
    lines = [
        f"`{command}` ({machine()}; {count} webhooks a run, one a second; sandbox without added latency)",
        "",
        "| store | wake | webhooks | p50 ms | p90 ms | p99 ms | max ms | not delivered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        cells = [run.percentile(share) * 1000 for share in (0.5, 0.9, 0.99, 1.0)]
        values = " | ".join(f"{cell:.0f}" for cell in cells)
        lines.append(f"| {run.store} | {run.wake} | {len(run.latencies)} | {values} | {run.missing} |")
    lines += ["", "Targets with wake = notify (p50 per store, p99 on both):", ""]
    for run in runs:
        if run.wake != "notify":
            continue
        p50, p99 = run.percentile(0.5), run.percentile(0.99)
        p50_target = P50_TARGET_SECONDS[run.store]
        met = p50 <= p50_target and p99 <= P99_TARGET_SECONDS and not run.missing
        lines.append(
            f"- {run.store}: p50 {p50 * 1000:.0f} ms (target {p50_target * 1000:.0f}), "
            f"p99 {p99 * 1000:.0f} ms (target {P99_TARGET_SECONDS * 1000:.0f}): {'met' if met else 'NOT met'}"
        )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, workdir: Path, procs: Processes, stack: ExitStack) -> list[Run]:
    """Measure every store and wake mode asked for, one after the other."""
    sandbox = start_sandbox(procs, latency=0.0, calls_per_window=25, window=5.0)
    stores = [("SQLite", None)] + ([("PostgreSQL", len(WAKE_MODES))] if args.postgres else [])
    runs = []
    for store, databases in stores:
        urls = stack.enter_context(postgres_databases(databases)) if databases else []
        for index, wake in enumerate(WAKE_MODES):
            run_dir = workdir / f"{store.lower()}-{wake}"
            url = urls[index] if urls else f"sqlite:///{run_dir / 'bridge.db'}"
            runs.append(measure(procs, sandbox, run_dir, url, store, wake, args.seconds))
            print(f"{store} wake={wake}: p50 {runs[-1].percentile(0.5) * 1000:.0f} ms", file=sys.stderr)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the latency benchmark, print the table, and write it into the README."""
    args = parse_args(argv)
    stop_on_sigterm()
    with (
        tempfile.TemporaryDirectory(prefix="lsq-latency-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        try:
            runs = run(args, Path(tmp), procs, stack)
        except BaseException:
            for process in procs.started:
                print(f"--- {process.name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)
            raise
    command = " ".join([".venv/bin/python -m bench.latency", *args.flags])
    table = render(runs, command, args.seconds)
    print(table)
    if not args.no_readme:
        write_section(README_START, README_END, table)
        print(f"written into {README}, between {README_START} and {README_END}")
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
