"""Retention's cost to ingest: webhooks acked while the worker purges 1,000,000 old events, beside no purge.

    .venv/bin/python -m bench.purge                      # SQLite alone
    .venv/bin/python -m bench.purge --postgres --readme  # both stores, the table written into README.md
    .venv/bin/python -m bench.purge --quick              # a smoke run: 100,000 events

Each store is migrated and filled by bench/console_seed.py with 1,000,000
events (and as many activities, a call row each, a call per ten, repeats)
received 450 to 480 days ago, their payloads already erased, as retention
leaves them at 30 days: every finished one is due to be deleted under
bridge.example.toml's retain_events_days = 400. A copy of the store gets a
configuration that keeps everything (36500 days), so nothing is due there.
Each copy then runs its web process (gunicorn, as the Procfile runs it) and a
worker (8 store connections each, for a PostgreSQL server shared with other
work) draining to the sandbox, and signed webhooks are posted to both in
turns (closed loop, then open loop at half the quiet copy's rate), so the
machine's other work slows both alike. The purge runs in the busy copy's
worker throughout, as it would after an upgrade that found a year of history.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.backlog import postgres_store, sqlite_copy
from bench.checkout import README, git, write_section
from bench.console_seed import seed_console
from bench.ingest import Contender, IngestSettings, Measured, run_ingest
from bench.procs import Processes, stop_on_sigterm
from bench.report import machine
from bench.stack import bridge_env, migrate, start_bridge_web, start_sandbox, start_worker
from bridge.config.load import normalize_database_url
from bridge.store.engine import make_engine
from bridge.store.statistics import analyze_all

START, END = "<!-- purge:start -->", "<!-- purge:end -->"
DAY = 86400.0
KEEP_EVERYTHING = "retain_payload_days = 36500\nretain_events_days = 36500\n"


@dataclass(frozen=True)
class Size:
    """How big the store gets and how long ingest runs."""

    rows: int
    ingest: IngestSettings


FULL = Size(1_000_000, IngestSettings(32, 2.0, 12.0, 12.0, 6))
QUICK = Size(100_000, IngestSettings(32, 0.5, 2.0, 2.0, 2))


@dataclass(frozen=True)
class StoreResult:
    """One store's two copies under the same load, and how far the purge got meanwhile."""

    store: str
    seeded_seconds: float
    measured: list[Measured]
    events_before: int
    events_after: int
    activities_before: int
    activities_after: int
    purge_seconds: float


def counts(url: str) -> tuple[int, int]:
    """Return how many of the seeded (old) events and activities a store still holds, none of the load's."""
    old = {"before": time.time() - 100 * DAY}
    engine = make_engine(normalize_database_url(url))
    with engine.connect() as connection:
        found = (
            int(
                connection.execute(
                    sa.text("SELECT count(*) FROM events WHERE received_at < :before"), old
                ).scalar_one()
            ),
            int(
                connection.execute(
                    sa.text("SELECT count(*) FROM activities WHERE created_at < :before"), old
                ).scalar_one()
            ),
        )
    engine.dispose()
    return found


def seed(url: str, rows: int) -> float:
    """Fill a migrated store with events 450-480 days old, payloads erased; return the seconds it took."""
    engine = make_engine(normalize_database_url(url))
    started = time.monotonic()
    seed_console(engine, rows, rows, time.time() - 450 * DAY)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE events SET body = :empty, headers = NULL, payload_erased_at = received_at + :after, "
                "payload_erasure = 'retention'"
            ),
            {"empty": b"", "after": 30 * DAY},
        )
    analyze_all(engine)
    engine.dispose()
    return time.monotonic() - started


def keep_everything(workdir: Path) -> None:
    """Make the copy's configuration keep every payload and record for a hundred years."""
    config = workdir / "bridge.toml"
    text = config.read_text()
    config.write_text(text.replace("retain_payload_days = 30\nretain_events_days = 400\n", KEEP_EVERYTHING))
    if KEEP_EVERYTHING not in config.read_text():
        raise SystemExit("bridge.example.toml's [retention] changed: update bench/purge.py")


def share_the_server(workdir: Path) -> None:
    """Give each worker 8 store connections: both copies and other work share one PostgreSQL server."""
    config = workdir / "bridge.toml"
    config.write_text(
        config.read_text().replace("[delivery]\n", "[database]\nworker_pool_size = 8\n\n[delivery]\n", 1)
    )


def measure_store(store: str, size: Size, workdir: Path, stack: ExitStack) -> StoreResult:
    """Seed a store, copy it, and run ingest against both copies in turns while one purges."""
    quiet_dir, busy_dir = workdir / "quiet", workdir / "busy"
    quiet_dir.mkdir()
    busy_dir.mkdir()
    if store == "PostgreSQL":
        make = stack.enter_context(postgres_store())
        busy_url = make(None)
    else:
        busy_url = f"sqlite:///{workdir / 'busy.db'}"
    migrate(bridge_env(busy_dir, busy_url, "http://127.0.0.1:9"))
    print(f"{store}: storing {size.rows:,} old events ...", flush=True)
    seeded = seed(busy_url, size.rows)
    quiet_url = make(busy_url) if store == "PostgreSQL" else sqlite_copy(busy_url, workdir, "quiet")
    events_before, activities_before = counts(busy_url)
    print(f"{store}: ingest with and without the purge ...", flush=True)
    with Processes(workdir) as procs:
        sandbox = start_sandbox(procs, 0.1, 25, 5.0)
        started = time.monotonic()  # the busy copy's worker purges from its start
        contenders = []
        for label, url, folder in (("no purge", quiet_url, quiet_dir), ("purging", busy_url, busy_dir)):
            env = bridge_env(folder, url, sandbox.url)
            share_the_server(folder)
            if label == "no purge":
                keep_everything(folder)
            web = start_bridge_web(procs, f"web-{folder.name}", env)
            start_worker(procs, env, f"worker-{folder.name}")
            contenders.append(Contender(label, store, web, is_bridge=label == "no purge"))
        measured = run_ingest(contenders, size.ingest)
    # Counted once the processes stopped (the purge with them): four engines at once would crowd
    # a PostgreSQL that other work shares.
    purge_seconds = time.monotonic() - started
    events_after, activities_after = counts(busy_url)
    return StoreResult(
        store,
        seeded,
        measured,
        events_before,
        events_after,
        activities_before,
        activities_after,
        purge_seconds,
    )


def render(command: str, results: Sequence[StoreResult], size: Size) -> str:
    """Return the report in Markdown."""
    ingest = size.ingest
    lines = [
        f"`{command}` on {machine()}, at {git('rev-parse', '--short', 'HEAD')}.",
        "",
        f"Each store holds {size.rows:,} events received 450-480 days ago (payloads already erased), "
        "as many activities, a call row each and a call per ten, and a repeat of every 20th: all due "
        "to be deleted under retain_events_days = 400 but the few whose activities are still unknown or "
        "pending. Two copies, each with its web process and a worker: `purging` runs "
        "bridge.example.toml, so its worker deletes them in the background throughout; `no purge` keeps "
        f"everything. Load: {ingest.connections} keep-alive connections, a closed loop then an open loop "
        f"at half the quiet copy's rate, {ingest.rounds} rounds each, the copies in turns.",
        "",
        "| Store | Copy | closed-loop acks/s (rounds) | vs no purge | p99 ms | open-loop rate | p99 ms "
        "| events (activities) deleted meanwhile | per second |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        quiet = result.measured[0].results["closed"].rate
        for entry in result.measured:
            closed, opened = entry.results["closed"], entry.results["open"]
            rounds = entry.round_rates["closed"]
            purging = entry.contender.label == "purging"
            deleted = result.events_before - result.events_after
            deleted_activities = result.activities_before - result.activities_after
            gone = f"{deleted:,} ({deleted_activities:,})" if purging else "-"
            rate = f"{deleted / result.purge_seconds:,.0f}" if purging else "-"
            lines.append(
                f"| {result.store} | {entry.contender.label} | {closed.rate:.0f} ({min(rounds):.0f}-"
                f"{max(rounds):.0f}) | {100 * closed.rate / quiet:.0f}% "
                f"| {1000 * closed.percentile(0.99):.1f} | {opened.rate:.0f} "
                f"| {1000 * opened.percentile(0.99):.1f} | {gone} | {rate} |"
            )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.purge", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL as well as SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a smaller store, shorter loads")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each store asked for, print the table, and write it where asked."""
    args = parse_args(argv)
    stop_on_sigterm()
    size = QUICK if args.quick else FULL
    results = []
    with tempfile.TemporaryDirectory(prefix="lsq-purge-") as tmp, ExitStack() as stack:
        for store in ["SQLite", *(["PostgreSQL"] if args.postgres else [])]:
            workdir = Path(tmp) / store
            workdir.mkdir()
            results.append(measure_store(store, size, workdir, stack))
            print(render(store, results[-1:], size), flush=True)
    flags = [flag for flag in ("--postgres", "--quick") if getattr(args, flag[2:])]
    table = render(" ".join([".venv/bin/python -m bench.purge", *flags]), results, size)
    print(table)
    if args.readme:
        write_section(START, END, table)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
