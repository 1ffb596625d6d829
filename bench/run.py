"""Run the drain, ingest and memory benchmarks and write bench/RESULTS.md.

    .venv/bin/python -m bench.run             # full run, about two minutes
    .venv/bin/python -m bench.run --quick     # smoke run, about 15 s (it still starts every process)
    .venv/bin/python -m bench.run --postgres  # also the bridge and the minimal receiver on PostgreSQL

The drain runs first through the same web process that ingest measures
afterwards, so the memory table shows every process after both runs (the
worker is stopped after the drain: left running, it would compete for the
CPUs with the web process during ingest).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench.checkout import README, write_section
from bench.drain import DrainReport, DrainSettings, run_drain
from bench.ingest import Contender, IngestSettings, run_ingest
from bench.procs import Processes, role_of, rss_mb, stop_on_sigterm
from bench.report import MemoryRow, render
from bench.stack import (
    REPO,
    bridge_env,
    gunicorn_settings,
    postgres_databases,
    start_bridge_web,
    start_minimal,
    start_sandbox,
)

RESULTS = REPO / "bench" / "RESULTS.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
QUICK_INGEST = IngestSettings(warm_seconds=0.3, closed_seconds=0.7, open_seconds=0.7, rounds=1)
QUICK_DRAIN = DrainSettings(activities=100, opportunities=10, time_limit=20.0)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--postgres", action="store_true", help="also measure ingest on PostgreSQL")
    parser.add_argument("--ingest-only", action="store_true", help="skip the drain")
    parser.add_argument("--output", type=Path, help="write the table here (default: RESULTS.md, full runs)")
    args = parser.parse_args(argv)
    args.flags = list(sys.argv[1:] if argv is None else argv)
    return args


def memory_rows(procs: Processes, drain: DrainReport | None) -> list[MemoryRow]:
    """Return the RSS of every process still running, and the worker's from the end of the drain."""
    rows = []
    for process in procs.started:
        if process.popen.poll() is not None:
            continue
        for pid in process.tree():
            rows.append(MemoryRow(f"{process.name} {role_of(pid, process.pid)}", pid, rss_mb(pid)))
    if drain is not None:
        rows.append(MemoryRow("bridge worker (end of the drain)", drain.worker_pid, drain.worker_rss_mb))
    return rows


def run(args: argparse.Namespace, workdir: Path, procs: Processes, stack: ExitStack) -> str:
    """Start everything, run the phases, and return the report."""
    ingest_settings = QUICK_INGEST if args.quick else IngestSettings()
    drain_settings = QUICK_DRAIN if args.quick else DrainSettings()
    sandbox = start_sandbox(
        procs, drain_settings.latency, drain_settings.calls_per_window, drain_settings.window_seconds
    )
    env = bridge_env(workdir, f"sqlite:///{workdir / 'bridge.db'}", sandbox.url)
    web = start_bridge_web(procs, "bridge-web", env)
    drain = None if args.ingest_only else run_drain(procs, web, sandbox, env, drain_settings)
    flask_db, wsgi_db = str(workdir / "minimal-flask.db"), str(workdir / "minimal-wsgi.db")
    contenders = [
        Contender("bridge", "SQLite", web, is_bridge=True),
        Contender("minimal (Flask)", "SQLite", start_minimal(procs, "minimal-flask", flask_db, "flask")),
        Contender("minimal (WSGI)", "SQLite", start_minimal(procs, "minimal-wsgi", wsgi_db, "wsgi")),
    ]
    if args.postgres:
        bridge_url, minimal_url = stack.enter_context(postgres_databases(2))
        pg_url = bridge_url.replace("postgresql://", "postgresql+psycopg://")
        pg_web = start_bridge_web(procs, "bridge-web-pg", bridge_env(workdir, pg_url, sandbox.url))
        pg_minimal = start_minimal(procs, "minimal-flask-pg", minimal_url, "flask")
        contenders += [
            Contender("bridge", "PostgreSQL", pg_web, is_bridge=True),
            Contender("minimal (Flask)", "PostgreSQL", pg_minimal),
        ]
    measured = run_ingest(contenders, ingest_settings)
    title = "lsq-bridge benchmark" + (" (quick smoke run)" if args.quick else "")
    command = " ".join([".venv/bin/python -m bench.run", *args.flags])
    memory = memory_rows(procs, drain)
    return render(title, command, gunicorn_settings(), ingest_settings, measured, drain, memory)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, and write it where asked."""
    args = parse_args(argv)
    stop_on_sigterm()
    output = args.output or (None if args.quick or args.ingest_only else RESULTS)
    # The ExitStack (databases) closes after Processes, so that servers stop before their database goes.
    with (
        tempfile.TemporaryDirectory(prefix="lsq-bench-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        try:
            table = run(args, Path(tmp), procs, stack)
        except BaseException:
            # The logs go with the temporary directory: show their ends while they exist.
            for process in procs.started:
                print(f"--- {process.name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)
            raise
    print(table)
    if output is not None:
        output.write_text(table)
        print(f"written to {output}")
    if output == RESULTS:
        write_section(README_START, README_END, table.strip().removeprefix("## lsq-bridge benchmark"))
        print(f"and into {README}, between {README_START} and {README_END}")
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
