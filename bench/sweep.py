"""Ingest under other gunicorn settings: WEB_CONCURRENCY x WEB_THREADS, bridge beside minimal (Flask).

    .venv/bin/python -m bench.sweep [--settings 1x1,2x1,2x4] [--seconds 5] [--postgres]

For each setting both servers start with that environment (gunicorn.conf.py
reads it), warm up, and run a closed loop; then an open loop at half the
bridge's rate. Nothing is written; the table is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.ingest import Contender, IngestSettings, Measured, run_ingest
from bench.procs import Processes, stop_on_sigterm
from bench.stack import bridge_env, postgres_databases, start_bridge_web, start_minimal

DEFAULT_SETTINGS = "1x1,1x4,2x1,2x2,2x4,2x8,3x4,4x1"


@contextmanager
def gunicorn_env(workers: int, threads: int) -> Iterator[None]:
    """Set WEB_CONCURRENCY and WEB_THREADS for the processes started in the block."""
    saved = {name: os.environ.get(name) for name in ("WEB_CONCURRENCY", "WEB_THREADS")}
    os.environ.update(WEB_CONCURRENCY=str(workers), WEB_THREADS=str(threads))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure_setting(
    workdir: Path, setting: tuple[int, int], settings: IngestSettings, database: str | None
) -> list[Measured]:
    """Start both servers with one gunicorn setting, measure them, stop them."""
    workers, threads = setting
    tag = f"{workers}x{threads}"
    with gunicorn_env(workers, threads), ExitStack() as stack, Processes(workdir) as procs:
        if database is None:
            bridge_url = f"sqlite:///{workdir / f'bridge-{tag}.db'}"
            minimal_url = str(workdir / f"minimal-{tag}.db")
        else:
            bridge_url, minimal_url = stack.enter_context(postgres_databases(2))
            bridge_url = bridge_url.replace("postgresql://", "postgresql+psycopg://")
        web = start_bridge_web(procs, f"bridge-{tag}", bridge_env(workdir, bridge_url, "http://127.0.0.1:9"))
        minimal = start_minimal(procs, f"minimal-{tag}", minimal_url, "flask")
        label = database or "SQLite"
        contenders = [Contender("bridge", label, web, True), Contender("minimal (Flask)", label, minimal)]
        return run_ingest(contenders, settings)


def row(setting: tuple[int, int], measured: Sequence[Measured]) -> str:
    """Return one Markdown row: rates, ratio, p99s and CPU per ack of both servers."""
    bridge, minimal = measured
    closed_b, closed_m = bridge.results["closed"], minimal.results["closed"]
    share = closed_b.rate / closed_m.rate if closed_m.rate else 0.0
    p99 = [1000 * m.results[mode].percentile(0.99) for mode in ("closed", "open") for m in measured]
    return (
        f"| {setting[0]} x {setting[1]} | {closed_b.rate:.0f} | {closed_m.rate:.0f} | {share:.0%} "
        f"| {p99[0]:.0f} / {p99[1]:.0f} | {bridge.results['open'].offered_rate:.0f}/s "
        f"| {p99[2]:.1f} / {p99[3]:.1f} | {bridge.cpu_ms_per_ack('closed'):.2f} "
        f"/ {minimal.cpu_ms_per_ack('closed'):.2f} | {closed_b.non_2xx + closed_m.non_2xx} "
        f"| {max(m.other_cores(mode) for m in measured for mode in ('closed', 'open')):.2f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every setting and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help="WORKERSxTHREADS, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each closed and open loop")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    settings = IngestSettings(
        warm_seconds=1.5, closed_seconds=args.seconds, open_seconds=args.seconds, rounds=2
    )
    combos = [(int(w), int(t)) for w, t in (item.split("x") for item in args.settings.split(","))]
    lines = [
        "| workers x threads | bridge acks/s | minimal acks/s | bridge / minimal "
        "| closed p99 ms (bridge / minimal) | open rate | open p99 ms (bridge / minimal) "
        "| server CPU ms/ack (bridge / minimal) | non-2xx | other CPUs busy (max) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    database = "PostgreSQL" if args.postgres else None
    with tempfile.TemporaryDirectory(prefix="lsq-sweep-") as tmp:
        for combo in combos:
            lines.append(row(combo, measure_setting(Path(tmp), combo, settings, database)))
            print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
