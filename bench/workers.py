"""Several workers: one backlog drained by one worker process, then by three, each on a fresh store.

    .venv/bin/python -m bench.workers               # SQLite
    .venv/bin/python -m bench.workers --postgres    # PostgreSQL
    .venv/bin/python -m bench.workers --quick       # 100 activities, a smoke run

The sandbox answers each call after 800 ms and allows 25 calls per 5 s, as in
bench/drain.py. More workers may not post faster than the account allows, but
they must not be slower than one, nor split an opportunity's rows into more
calls. The table goes into README.md between the workers markers (full runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.drain import KEY_FIELD, SETTLE_SECONDS, DrainSettings, bursts, post_backlog, received
from bench.procs import Process, Processes, stop_on_sigterm
from bench.stack import REPO, Sandbox, bridge_env, postgres_databases, start_bridge_web, start_sandbox

README = REPO / "README.md"
README_START, README_END = "<!-- workers:start -->", "<!-- workers:end -->"
WORKER_COUNTS = (1, 3)
QUICK = DrainSettings(activities=100, opportunities=10, time_limit=30.0)


@dataclass(frozen=True)
class WorkersReport:
    """What the sandbox saw while `workers` worker processes drained the backlog."""

    workers: int
    store: str
    span: float
    calls: int
    rate_limited: int
    delivered: int
    unique_keys: int
    finished: bool
    # (start after the first call, calls, spread in seconds)
    bursts: list[tuple[float, int, float]]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL stores (default SQLite)")
    parser.add_argument("--quick", action="store_true", help="100 activities; the README is left alone")
    args = parser.parse_args(argv)
    args.flags = list(sys.argv[1:] if argv is None else argv)
    return args


def drain_with(
    procs: Processes, workdir: Path, database_url: str, settings: DrainSettings, workers: int, store: str
) -> WorkersReport:
    """Post the backlog to a fresh store and sandbox, drain it with `workers` processes, read the log."""
    sandbox = start_sandbox(procs, settings.latency, settings.calls_per_window, settings.window_seconds)
    env = bridge_env(workdir, database_url, sandbox.url)
    web = start_bridge_web(procs, f"web-{store}-{workers}", env)
    accepted, _ = post_backlog(web, settings, connections=32)
    web.stop()
    if accepted != settings.activities:
        raise RuntimeError(f"only {accepted} of {settings.activities} webhooks were accepted")
    command = [sys.executable, "-m", "bridge", "worker"]
    started = [procs.start(f"worker-{store}-{workers}-{n}", command, env, cwd=REPO) for n in range(workers)]
    finished = wait_for_all(sandbox, started, settings)
    time.sleep(SETTLE_SECONDS)
    log = received(sandbox)
    for worker in started:
        worker.stop()
    sandbox.process.stop()
    calls = log["calls"]
    keys = [key_of_row(activity["row"]) for activity in log["activities"]]
    span = calls[-1]["at"] + settings.latency - calls[0]["at"] if calls else 0.0
    return WorkersReport(
        workers=workers,
        store=store,
        span=span,
        calls=len(calls),
        rate_limited=sum(1 for call in calls if call["status"] == 429),
        delivered=len(keys),
        unique_keys=len(set(keys)),
        finished=finished,
        bursts=bursts([call["at"] for call in calls]),
    )


def wait_for_all(sandbox: Sandbox, workers: list[Process], settings: DrainSettings) -> bool:
    """Poll the sandbox until every activity arrived or the time limit passed; fail if a worker died."""
    deadline = time.monotonic() + settings.time_limit
    while time.monotonic() < deadline:
        if len(received(sandbox)["activities"]) >= settings.activities:
            return True
        for worker in workers:
            if worker.popen.poll() is not None:
                raise RuntimeError(f"{worker.name} exited during the drain:\n{worker.log_tail()}")
        time.sleep(0.1)
    return False


def key_of_row(row: dict[str, Any]) -> str | None:
    """Return the bridge's activity key carried in a posted row."""
    return next((f["Value"] for f in row.get("Fields", []) if f.get("SchemaName") == KEY_FIELD), None)


def render(reports: Sequence[WorkersReport], settings: DrainSettings, command: str) -> str:
    """Return the markdown table, with whether several workers kept up with one."""
    lines = [
        f"`{command}`: {settings.activities} accepted activities over {settings.opportunities}"
        f" opportunities, sandbox {settings.latency * 1000:.0f} ms a call,"
        f" {settings.calls_per_window} calls per {settings.window_seconds:g} s;"
        f" at least {settings.minimum_calls} calls, ideal span {settings.ideal_span:.1f} s;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end.",
        "",
        "| store | workers | drain span (s) | calls | 429s | delivered | distinct | finished |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.store} | {r.workers} | {r.span:.1f} | {r.calls} | {r.rate_limited} | {r.delivered}"
            f" | {r.unique_keys} | {'yes' if r.finished else 'no'} |"
        )
    lines.append("")
    for r in reports:
        shown = ", ".join(f"{n} at +{start:.1f} s" for start, n, _ in r.bursts)
        lines.append(f"- bursts, {r.store}, {r.workers} worker(s): {shown}")
    by_count = {r.workers: r for r in reports}
    one, many = by_count[WORKER_COUNTS[0]], by_count[WORKER_COUNTS[-1]]
    lines += [
        "",
        f"- {many.workers} workers no slower than 1 (span within 10 %):"
        f" {'met' if many.span <= one.span * 1.1 else 'NOT met'} ({many.span:.1f} s vs {one.span:.1f} s)",
        f"- no more calls than 1 worker: {'met' if many.calls <= one.calls else 'NOT met'}"
        f" ({many.calls} vs {one.calls})",
        f"- every activity delivered once: {'met' if all(once(r, settings) for r in reports) else 'NOT met'}",
    ]
    return "\n".join(lines)


def once(report: WorkersReport, settings: DrainSettings) -> bool:
    """Tell whether every activity of the backlog arrived, and none twice."""
    return report.delivered == report.unique_keys == settings.activities


def run(args: argparse.Namespace, workdir: Path, procs: Processes, stack: ExitStack) -> str:
    """Drain the backlog once per worker count on a fresh store; return the table."""
    settings = QUICK if args.quick else DrainSettings()
    store = "PostgreSQL" if args.postgres else "SQLite"
    urls = (
        [
            u.replace("postgresql://", "postgresql+psycopg://")
            for u in stack.enter_context(postgres_databases(2))
        ]
        if args.postgres
        else [f"sqlite:///{workdir / f'workers-{n}.db'}" for n in WORKER_COUNTS]
    )
    reports = []
    for count, url in zip(WORKER_COUNTS, urls, strict=True):
        rundir = workdir / f"run-{count}"
        rundir.mkdir()
        reports.append(drain_with(procs, rundir, url, settings, count, store))
    command = " ".join([".venv/bin/python -m bench.workers", *args.flags])
    return render(reports, settings, command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drains, print the table, and write it into the README on full runs."""
    args = parse_args(argv)
    stop_on_sigterm()
    with (
        tempfile.TemporaryDirectory(prefix="lsq-bench-workers-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        try:
            table = run(args, Path(tmp), procs, stack)
        except BaseException:
            for process in procs.started:
                print(f"--- {process.name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)
            raise
    print(table)
    if not args.quick:
        write_into_readme(table, "postgres" if args.postgres else "sqlite")
        print(f"written into {README}, between {README_START} and {README_END}")
    return 0


def write_into_readme(table: str, store: str) -> None:
    """Put this store's table into the README's workers section, keeping the other store's."""
    text = README.read_text()
    head, start, rest = text.partition(README_START)
    body, end, tail = rest.partition(README_END)
    if not start or not end:
        raise SystemExit(f"{README} has no {README_START} ... {README_END} section to write into")
    sections = dict.fromkeys(("sqlite", "postgres"), "")
    for part in body.split("<!-- store:")[1:]:
        name, _, content = part.partition(" -->")
        sections[name.strip()] = content.strip()
    sections[store] = table.strip()
    written = "\n\n".join(
        f"<!-- store:{name} -->\n{content}" for name, content in sections.items() if content
    )
    README.write_text(f"{head}{start}\n{written}\n{end}{tail}")


if __name__ == "__main__":
    raise SystemExit(main())
