"""Recovery: two workers share a burst, one is SIGKILLed mid-burst; how soon are its rows delivered?

`python -m bench.recovery` (`--postgres` adds PostgreSQL) runs the same
drain twice per store: with heartbeats as bridge.example.toml sets them, and
with them effectively off (a stale limit of a billion seconds: only the lease
takes claims back, as before heartbeats), and writes the table into README.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.checkout import README, write_section
from bench.drain import DrainSettings, post_backlog, received
from bench.procs import Process, Processes, stop_on_sigterm
from bench.report import machine
from bench.stack import REPO, Sandbox, bridge_env, postgres_databases, start_bridge_web, start_sandbox
from bridge.config.load import normalize_database_url
from bridge.store.engine import make_engine
from bridge.store.tables import activities

README_START = "<!-- recovery:start -->"
README_END = "<!-- recovery:end -->"
# The burst is under way once this many calls reached the sandbox: the victim has rows in flight and waiting.
KILL_AFTER_CALLS = 10
HEARTBEATS_OFF = 1_000_000_000  # worker_stale_seconds that no heartbeat ever reaches
EXAMPLE_STALE_LINE = "worker_stale_seconds = 10"


@dataclass(frozen=True)
class RecoveryReport:
    """What one run measured, in seconds from the kill unless said otherwise."""

    store: str
    heartbeats: bool
    held: dict[str, int]  # the victim's rows at the kill, by status
    first_held_delivery: float | None
    longest_gap: float
    drain_seconds: float  # from the workers' start to the last delivery
    after_kill_seconds: float  # from the kill to the last delivery
    delivered: int
    unique_keys: int
    finished: bool


def worker_config(workdir: Path, heartbeats: bool) -> None:
    """Write bridge.example.toml into workdir, with heartbeats effectively off when asked."""
    text = (REPO / "bridge.example.toml").read_text()
    if EXAMPLE_STALE_LINE not in text:
        raise SystemExit(f"bridge.example.toml has no line {EXAMPLE_STALE_LINE!r} to change")
    if not heartbeats:
        text = text.replace(EXAMPLE_STALE_LINE, f"worker_stale_seconds = {HEARTBEATS_OFF}")
    (workdir / "bridge.toml").write_text(text)


def held_by(engine: sa.Engine, pid: int) -> dict[str, int]:
    """Return, by status, the rows a worker process holds."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(activities.c.status, sa.func.count())
            .where(activities.c.claimed_by.like(f"%:{pid}:%"))
            .group_by(activities.c.status)
        ).all()
    return {status: count for status, count in rows}


def holders(engine: sa.Engine) -> dict[str, int]:
    """Return how many rows each worker id holds."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(activities.c.claimed_by, sa.func.count())
            .where(activities.c.claimed_by.is_not(None))
            .group_by(activities.c.claimed_by)
        ).all()
    return {worker_id: count for worker_id, count in rows}


def wait_for_burst(sandbox: Sandbox, deadline: float) -> None:
    """Poll the sandbox until the burst is under way."""
    while time.monotonic() < deadline:
        if len(received(sandbox)["calls"]) >= KILL_AFTER_CALLS:
            return
        time.sleep(0.02)
    raise RuntimeError("the workers made no calls")


def delivered_times(engine: sa.Engine) -> tuple[int, list[tuple[int, float]]]:
    """Return how many rows are not delivered yet, and (id, delivered_at) of the rest."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(activities.c.id, activities.c.delivered_at)).all()
    times = [(row.id, row.delivered_at) for row in rows if row.delivered_at is not None]
    return len(rows) - len(times), times


def run_once(
    procs: Processes, workdir: Path, database_url: str, store: str, heartbeats: bool, time_limit: float
) -> RecoveryReport:
    """Post the backlog, start two workers, kill the one holding most mid-burst, measure until drained."""
    workdir.mkdir()
    worker_config(workdir, heartbeats)
    settings = DrainSettings(activities=600, opportunities=60, latency=0.8, calls_per_window=25)
    sandbox = start_sandbox(procs, settings.latency, settings.calls_per_window, settings.window_seconds)
    env = bridge_env(workdir, database_url, sandbox.url)
    web = start_bridge_web(procs, f"web-{workdir.name}", env)
    accepted, _ = post_backlog(web, settings, connections=16)
    if accepted != settings.activities:
        raise RuntimeError(f"only {accepted} of {settings.activities} webhooks were accepted")
    web.stop()
    engine = make_engine(normalize_database_url(database_url))
    started = time.time()
    pair = [start_named_worker(procs, f"worker-{workdir.name}-{n}", env) for n in range(2)]
    wait_for_burst(sandbox, time.monotonic() + 60)
    counts = holders(engine)
    victim = max(pair, key=lambda p: sum(n for w, n in counts.items() if f":{p.pid}:" in w))
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    victim.popen.wait(timeout=10)
    held = held_by(engine, victim.pid)
    with engine.connect() as connection:
        held_ids = set(
            connection.execute(
                sa.select(activities.c.id).where(activities.c.claimed_by.like(f"%:{victim.pid}:%"))
            ).scalars()
        )
    deadline = time.monotonic() + time_limit
    waiting, times = delivered_times(engine)
    while waiting and time.monotonic() < deadline:
        time.sleep(0.2)
        waiting, times = delivered_times(engine)
    log = received(sandbox)
    for process in pair:
        process.stop()
    sandbox.process.stop()
    engine.dispose()
    keys = [
        next((f["Value"] for f in a["row"].get("Fields", []) if f.get("SchemaName") == "mx_Custom_10"), None)
        for a in log["activities"]
    ]
    after = sorted(at for _, at in times if at >= killed_at)
    points = [killed_at, *after]
    held_times = [at for row_id, at in times if row_id in held_ids]
    last = max((at for _, at in times), default=killed_at)
    return RecoveryReport(
        store=store,
        heartbeats=heartbeats,
        held=held,
        first_held_delivery=min(held_times) - killed_at if held_times else None,
        longest_gap=max((b - a for a, b in itertools.pairwise(points)), default=0.0),
        drain_seconds=last - started,
        after_kill_seconds=last - killed_at,
        delivered=len(keys),
        unique_keys=len(set(keys)),
        finished=not waiting,
    )


def start_named_worker(procs: Processes, name: str, env: dict[str, str]) -> Process:
    """Start the Procfile's worker process, logging under its own name."""
    return procs.start(name, [sys.executable, "-m", "bridge", "worker"], env, cwd=REPO)


def render(reports: Sequence[RecoveryReport], command: str) -> str:
    """Return the reports as a Markdown table with the command and machine above it."""
    lines = [
        f"`{command}` on {machine()}",
        "600 activities over 60 opportunities, two workers, a sandbox answering in 0.8 s and allowing "
        f"25 calls / 5 s; the worker holding most rows is SIGKILLed once {KILL_AFTER_CALLS} calls arrived. "
        "Heartbeats on: bridge.example.toml (every 2 s, stale after 10 s); off: only the 120 s lease.",
        "",
        "| store | heartbeats | rows the killed worker held | kill to first delivery of one | "
        "longest gap with no delivery | kill to last delivery | workers' start to drained | "
        "delivered / unique |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in reports:
        held = ", ".join(f"{n} {status}" for status, n in sorted(r.held.items())) or "none"
        first = f"{r.first_held_delivery:.1f} s" if r.first_held_delivery is not None else "never"
        done = "" if r.finished else " (not drained)"
        lines.append(
            f"| {r.store} | {'on' if r.heartbeats else 'off'} | {held} | {first} | {r.longest_gap:.1f} s | "
            f"{r.after_kill_seconds:.1f} s{done} | {r.drain_seconds:.1f} s | "
            f"{r.delivered} / {r.unique_keys} |"
        )
    return "\n".join(lines) + "\n"



def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL at 127.0.0.1:5432")
    parser.add_argument("--only-on", action="store_true", help="skip the runs with heartbeats off")
    parser.add_argument("--time-limit", type=float, default=200.0, help="seconds to wait for the drain")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the recoveries, print the table, and write it into README.md."""
    args = parse_args(argv)
    stop_on_sigterm()
    modes = [True] if args.only_on else [True, False]
    reports = []
    with (
        tempfile.TemporaryDirectory(prefix="lsq-recovery-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        stores = ["SQLite"] + (["PostgreSQL"] if args.postgres else [])
        urls = stack.enter_context(postgres_databases(len(modes))) if args.postgres else []
        try:
            for store in stores:
                for number, heartbeats in enumerate(modes):
                    workdir = Path(tmp) / f"{store.lower()}-{number}"
                    url = f"sqlite:///{workdir}/bridge.db" if store == "SQLite" else urls[number]
                    reports.append(run_once(procs, workdir, url, store, heartbeats, args.time_limit))
                    print(render(reports[-1:], "run"), file=sys.stderr)
        except BaseException:
            for process in procs.started:
                print(f"--- {process.name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)
            raise
    command = "python -m bench.recovery" + (" --postgres" if args.postgres else "")
    table = render(reports, command)
    print(table)
    if not args.no_readme:
        write_section(README_START, README_END, table)
        print(f"written into {README}, between {README_START} and {README_END}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
