"""The operator console with a million rows: every page and API list timed, and a bulk replay by filter.

    .venv/bin/python -m bench.console                      # SQLite alone
    .venv/bin/python -m bench.console --postgres --readme  # both stores, the report written into README.md
    .venv/bin/python -m bench.console --quick              # a smoke run: 100,000 rows of each

Each store is migrated and filled by bench/console_seed.py with 1,000,000
events and 1,000,000 activities (their calls, repeats and refusals too), the
newest at the time of the run, and, on PostgreSQL, analyzed as a running
worker would. The admin process then runs as the Procfile starts it, with a
password and a token made up for the run; a session logs in through the
login form and every console page and API list is fetched in rounds, each
URL once a round and the stores in turn, after warm-up rounds. Any answer
but a 2xx fails the run. The target: at most 200 ms at the 95th percentile.

The replay (bench/console_replay.py) runs on a store of its own per database:
10,000 ignored events, replayed by filter through the API once the worker
maps their type, delivered to a sandbox allowing 25 calls per 5 s.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.checkout import README, write_section
from bench.console_http import Probes, Target, Timing, log_in, targets, time_rounds
from bench.console_replay import EVENT_TYPE, ReplayReport, ReplaySettings, measure_replay
from bench.console_report import TARGET_MS, replay_table, replay_verdict, timing_verdicts, timings_table
from bench.console_seed import seed_console
from bench.procs import Processes, stop_on_sigterm
from bench.report import machine
from bench.stack import bridge_env, migrate, postgres_databases, procfile_command, start_admin
from bridge.config.load import normalize_database_url
from bridge.store.engine import make_engine
from bridge.store.statistics import analyze_all

START, END = "<!-- console:start -->", "<!-- console:end -->"
# The console's reads call no LeadSquared: its processes get an address nothing listens on.
NO_LEADSQUARED = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Size:
    """How big the stores get and how many times each URL is fetched."""

    rows: int
    warm: int
    rounds: int
    replay: ReplaySettings


FULL = Size(1_000_000, 3, 30, ReplaySettings())
QUICK = Size(100_000, 1, 5, ReplaySettings(events=1_000, opportunities=10))


@dataclass(frozen=True)
class Store:
    """One database: its name, the console's store and the replay's, and a folder for its files."""

    name: str
    console_url: str
    replay_url: str
    workdir: Path


@dataclass(frozen=True)
class Seeded:
    """A filled console store: how long it took, and the rows its URLs name."""

    seconds: float
    event_id: int
    key: str


def make_stores(postgres: bool, tmp: Path, stack: ExitStack) -> list[Store]:
    """Return SQLite files and, if asked, two fresh PostgreSQL databases (dropped when the stack closes)."""
    made = [
        Store("SQLite", f"sqlite:///{tmp / 'console.db'}", f"sqlite:///{tmp / 'replay.db'}", tmp / "sqlite")
    ]
    if postgres:
        console_url, replay_url = stack.enter_context(postgres_databases(2))
        made.append(Store("PostgreSQL", console_url, replay_url, tmp / "postgres"))
    for store in made:
        store.workdir.mkdir()
    return made


def seed(store: Store, rows: int) -> Seeded:
    """Migrate and fill the console's store; find an event with activities, calls and repeats, and a key."""
    migrate(bridge_env(store.workdir, store.console_url, NO_LEADSQUARED))
    engine = make_engine(normalize_database_url(store.console_url))
    started = time.monotonic()
    seed_console(engine, rows, rows, time.time())
    # A worker gathers PostgreSQL's statistics once tables changed this much (bridge/store/statistics.py).
    analyze_all(engine)
    seconds = time.monotonic() - started
    with engine.connect() as connection:
        # The seed gives the oldest events a second activity (key ending :1) and every 20th a repeat.
        event_id = connection.execute(
            sa.text(
                "SELECT max(event_id) FROM activities WHERE activity_key LIKE :second AND event_id % 20 = 0"
            ),
            {"second": "%:1"},
        ).scalar_one()
        key = connection.execute(
            sa.text("SELECT idempotency_key FROM events WHERE id = :id"), {"id": rows // 2}
        ).scalar_one()
    engine.dispose()
    return Seeded(seconds, int(event_id), str(key))


def measure_pages(
    stores: Sequence[Store], seeded: Sequence[Seeded], size: Size, credentials: tuple[str, str], log_dir: Path
) -> list[list[Timing]]:
    """Start an admin process per store, log in, and time every URL of every store in the same rounds."""
    password, token = credentials
    with Processes(log_dir) as procs:
        admins = []
        for store, filled in zip(stores, seeded, strict=True):
            env = bridge_env(store.workdir, store.console_url, NO_LEADSQUARED)
            env |= {"BRIDGE_ADMIN_PASSWORD": password, "BRIDGE_ADMIN_TOKEN": token}
            process = start_admin(procs, env, f"admin-{store.name.lower()}")
            admin = log_in(f"http://127.0.0.1:{process.port}", password, token)
            after = admin.get(Target("first page", True, "/api/events")).json()["next_after"]
            admins.append((admin, targets(Probes(filled.event_id, filled.key, int(after)))))
        return time_rounds(admins, size.warm, size.rounds)


def render(
    command: str,
    stores: Sequence[Store],
    seeded: Sequence[Seeded],
    size: Size,
    timings: Sequence[Sequence[Timing]],
    replays: Sequence[ReplayReport],
    loads: tuple[str, str],
) -> str:
    """Return the report in Markdown."""
    names = [store.name for store in stores]
    seeding = ", ".join(f"{s.seconds:.0f} s on {store.name}" for store, s in zip(stores, seeded, strict=True))
    replay = size.replay
    lines = [
        f"`{command}` on {machine()}; load average {loads[0]} at the start, {loads[1]} at the end, "
        "on a machine shared with other work.",
        "",
        f"Each store holds {size.rows:,} events over 30 days and {size.rows:,} activities, with "
        f"{size.rows // 10:,} calls, a call row per activity, {size.rows // 20:,} repeats and "
        f"refusals (seeded in {seeding}; PostgreSQL then analyzed, as a running worker does). "
        f"The admin process runs as the Procfile starts it (`{procfile_command('admin')}`). "
        f"Each URL is fetched {size.rounds} times after {size.warm} warm-up round(s), every URL once "
        "a round and the stores in turn, one request at a time over a kept-alive connection: "
        "milliseconds from the request to the answer's last byte. Lists show 50 rows; `since 1 day` "
        "is the age 1d; `none match` filters read every row, the worst case of a filter without an index.",
        "",
        *timings_table(names, timings),
        "",
        f"Every page and API list at most {TARGET_MS:.0f} ms p95:",
        "",
        *timing_verdicts(names, timings),
        "",
        f"A bulk replay by filter, on a store of its own: {replay.events:,} Razorpay {EVENT_TYPE} "
        f"events stored ignored (no mapping), over {replay.opportunities} opportunities; the worker runs "
        "bridge.example.toml, which maps them, and the sandbox answers each call after "
        f"{replay.latency:g} s and allows {replay.calls_per_window} calls per {replay.window_seconds:g} s. "
        "The replay is asked for through the API (a dry run, then the job); times are from that request.",
        "",
        *replay_table(replays),
        "",
        *[replay_verdict(report) for report in replays],
    ]
    return "\n".join(lines) + "\n"


def load_average() -> str:
    """Return the machine's 1-minute load average."""
    return f"{os.getloadavg()[0]:.1f}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL as well as SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100,000 rows, fewer rounds")
    parser.add_argument("--readme", action="store_true", help="write the report into README.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Fill the stores, time the console and the API, run the replay, print the report."""
    args = parse_args(argv)
    stop_on_sigterm()
    size = QUICK if args.quick else FULL
    credentials = (secrets.token_urlsafe(), secrets.token_urlsafe())
    with tempfile.TemporaryDirectory(prefix="lsq-console-") as tmp, ExitStack() as stack:
        stores = make_stores(args.postgres, Path(tmp), stack)
        start_load = load_average()
        seeded = []
        for store in stores:
            print(f"{store.name}: filling the store with {size.rows:,} events and activities ...", flush=True)
            seeded.append(seed(store, size.rows))
        print("timing the console's pages and the API's lists ...", flush=True)
        timings = measure_pages(stores, seeded, size, credentials, Path(tmp))
        replays = []
        for store in stores:
            print(f"{store.name}: replaying {size.replay.events:,} ignored events ...", flush=True)
            replay_dir = store.workdir / "replay"
            replay_dir.mkdir()
            replays.append(measure_replay(store.name, store.replay_url, replay_dir, size.replay, credentials))
        flags = [flag for flag in ("--postgres", "--quick") if getattr(args, flag[2:])]
        command = " ".join([".venv/bin/python -m bench.console", *flags])
        report = render(command, stores, seeded, size, timings, replays, (start_load, load_average()))
    print(report)
    if args.readme:
        write_section(START, END, report)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
