"""A big backlog: claim and sweep times with up to 100,000 pending activities, and ingest beside none.

    .venv/bin/python -m bench.backlog                      # SQLite alone, several minutes
    .venv/bin/python -m bench.backlog --postgres --base 6fa3c08 --readme
    .venv/bin/python -m bench.backlog --quick              # a smoke run, smaller store

The store first gets a history (1,000,000 transformed events and delivered
activities), then backlogs of 1,000, 10,000 and 100,000 pending activities,
ten per opportunity. At each size the claim of a batch is timed (rows given
back after each claim, untimed, so the backlog stays as it was), and so are
the other queries the worker runs on every round: claim_unknown,
claim_lookup, the transform's pick of received events, and the sweep of
expired claims. On PostgreSQL the 100,000 row is measured twice: with the
statistics the store had before it was filled, then after ANALYZE.

Ingest then runs against two copies of the store side by side, one with no
backlog and one with 100,000 pending, each with its gunicorn web process and
a worker draining to the sandbox (25 calls per 5 s, as LeadSquared allows),
taking turns in rounds. --base REV measures the same on another commit (its
code and migrations, this bench) in a temporary git worktree, in the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.backlog_seed import ACCOUNT, NOW, seed_backlog, seed_history
from bench.checkout import README, git, write_section
from bench.ingest import Contender, IngestSettings, run_ingest
from bench.procs import Processes, stop_on_sigterm
from bench.stack import (
    POSTGRES_ADMIN_URL,
    bridge_env,
    start_bridge_web,
    start_sandbox,
    start_worker,
)

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- backlog:start -->", "<!-- backlog:end -->"
PER_OPPORTUNITY = 10


@dataclass(frozen=True)
class Size:
    """How big the store gets and how long each part runs."""

    history: int
    backlogs: tuple[int, ...]
    claims: int
    ingest: IngestSettings


FULL = Size(1_000_000, (1_000, 10_000, 100_000), 200, IngestSettings(32, 1.0, 8.0, 2.0, 4))
QUICK = Size(100_000, (1_000, 10_000), 40, IngestSettings(32, 0.3, 1.0, 0.5, 1))


@dataclass(frozen=True)
class QueryTimes:
    """Milliseconds per query at one backlog size, on one store, for one commit."""

    code: str
    store: str
    backlog: str
    batch_p50: float
    batch_p99: float
    unknown_p50: float
    lookup_p50: float
    transform_p50: float
    release_p50: float


@dataclass(frozen=True)
class IngestRate:
    """Closed-loop acks/s and p99 of one web process, with or without a backlog behind it."""

    code: str
    store: str
    backlog: str
    acks_per_second: float
    p99_ms: float


def timed(action: Callable[[], Any], count: int, after: Callable[[], None] | None = None) -> list[float]:
    """Run action count times; return each run's milliseconds (after runs untimed, between)."""
    spent = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        spent.append(1000 * (time.perf_counter() - start))
        if after is not None:
            after()
    return spent


def p99(values: Sequence[float]) -> float:
    """Return the 99th percentile of the values."""
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


def measure_queries(engine: sa.Engine, code: str, store: str, backlog: str, claims: int) -> QueryTimes:
    """Time the worker's hot queries against the store as it is."""
    from bridge.store import lookups, outbox
    from bridge.store.claims import release_expired
    from bridge.store.inbox import received_events

    accounts = [ACCOUNT]

    def give_back() -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE activities SET status = 'pending', claimed_by = NULL, claim_expires_at = NULL "
                    "WHERE status = 'claimed'"
                )
            )

    def claim() -> None:
        if outbox.claim_batch(engine, "bench", NOW, 30, accounts) is None:
            raise RuntimeError("the backlog gave no batch")

    def pick() -> None:
        with engine.begin() as connection:
            received_events(connection, 100)

    batch = timed(claim, claims, give_back)
    few = max(10, claims // 4)
    return QueryTimes(
        code,
        store,
        backlog,
        statistics.median(batch),
        p99(batch),
        statistics.median(timed(lambda: outbox.claim_unknown(engine, "bench", NOW, 30, accounts), few)),
        statistics.median(timed(lambda: lookups.claim_lookup(engine, "bench", NOW, 30, accounts), few)),
        statistics.median(timed(pick, few)),
        statistics.median(timed(lambda: release_expired(engine, NOW), few)),
    )


@contextmanager
def postgres_store() -> Iterator[Callable[[str | None], str]]:
    """Yield a maker of PostgreSQL databases (empty, or copies of another); drop them all afterwards."""
    import psycopg

    made: list[str] = []

    def make(template: str | None) -> str:
        name = f"lsq_backlog_{uuid.uuid4().hex[:10]}"
        copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"{copy}')
        made.append(name)
        server = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{server}/{name}"

    try:
        yield make
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_copy(source: str, workdir: Path, name: str) -> str:
    """Copy a SQLite store (its WAL folded in first) and return the copy's URL."""
    path = source.removeprefix("sqlite:///")
    with sa.create_engine(source).connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    target = workdir / f"{name}.db"
    shutil.copyfile(path, target)
    return f"sqlite:///{target}"


def measure_store(
    store: str, code: str, size: Size, workdir: Path, stack: ExitStack
) -> tuple[list[QueryTimes], list[IngestRate]]:
    """Fill one store, time its queries at each backlog, then ingest beside a copy with no backlog."""
    from bridge.store.engine import make_engine
    from bridge.store.migrate import upgrade_to_head

    if store == "PostgreSQL":
        make = stack.enter_context(postgres_store())
        quiet_url = make(None)
    else:
        quiet_url = f"sqlite:///{workdir / 'quiet.db'}"
    engine = make_engine(quiet_url)
    upgrade_to_head(engine)
    print(f"{code} {store}: storing a history of {size.history} ...", flush=True)
    seed_history(engine, size.history, 10_000)
    engine.dispose()
    busy_url = make(quiet_url) if store == "PostgreSQL" else sqlite_copy(quiet_url, workdir, "busy")
    busy = make_engine(busy_url)
    if store == "SQLite":
        # Timed without waiting for the disk at each commit: a flush costs the same
        # at any backlog, and on a shared disk its noise would hide the queries' cost.
        sa.event.listen(busy, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA synchronous=OFF"))
    times = []
    stored = 0
    for backlog in size.backlogs:
        seed_backlog(busy, f"backlog{backlog}", backlog - stored, max(1, backlog // PER_OPPORTUNITY))
        stored = backlog
        print(f"{code} {store}: timing claims over {backlog} pending ...", flush=True)
        times.append(measure_queries(busy, code, store, f"{backlog:,}", size.claims))
    if store == "PostgreSQL":
        with busy.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        times.append(measure_queries(busy, code, store, f"{stored:,}, analyzed", size.claims))
    busy.dispose()
    print(f"{code} {store}: ingest with no backlog and with {stored} ...", flush=True)
    rates = measure_ingest(code, store, quiet_url, busy_url, stored, size, workdir)
    return times, rates


def measure_ingest(
    code: str, store: str, quiet_url: str, busy_url: str, stored: int, size: Size, workdir: Path
) -> list[IngestRate]:
    """Run the web and worker processes on both stores and load them in turns."""
    with Processes(workdir) as procs:
        sandbox = start_sandbox(procs, 0.1, 25, 5.0)
        contenders: list[Contender] = []
        for label, url in (("none", quiet_url), (f"{stored:,}", busy_url)):
            env = bridge_env(workdir, url, sandbox.url)
            web = start_bridge_web(procs, f"web-{len(contenders)}", env)
            start_worker(procs, env)
            contenders.append(Contender(label, store, web, is_bridge=len(contenders) == 0))
        measured = run_ingest(contenders, size.ingest)
    closed = [(m.contender.label, m.results["closed"]) for m in measured]
    return [IngestRate(code, store, label, r.rate, 1000 * r.percentile(0.99)) for label, r in closed]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every store asked for with the code of this checkout; return the results as JSON data."""
    size = QUICK if args.quick else FULL
    code = args.label
    times: list[QueryTimes] = []
    rates: list[IngestRate] = []
    with tempfile.TemporaryDirectory(prefix="lsq-backlog-") as tmp, ExitStack() as stack:
        for store in ["SQLite", *(["PostgreSQL"] if args.postgres else [])]:
            workdir = Path(tmp) / store
            workdir.mkdir()
            store_times, store_rates = measure_store(store, code, size, workdir, stack)
            times += store_times
            rates += store_rates
    return {"times": [asdict(t) for t in times], "rates": [asdict(r) for r in rates]}


def measure_base(args: argparse.Namespace, base: str, tmp: Path) -> dict[str, Any]:
    """Measure the same with another commit's code, in a temporary worktree with this bench."""
    tree = tmp / "base"
    git("worktree", "add", "--detach", str(tree), base)
    try:
        for path in (REPO / "bench").glob("*.py"):
            shutil.copyfile(path, tree / "bench" / path.name)
        output = tmp / "base.json"
        argv = [sys.executable, "-m", "bench.backlog", "--label", f"base ({base})", "--json", str(output)]
        argv += [flag for flag in ("--postgres", "--quick") if getattr(args, flag[2:])]
        subprocess.run(argv, cwd=tree, check=True)
        data: dict[str, Any] = json.loads(output.read_text())
        return data
    finally:
        git("worktree", "remove", "--force", str(tree))


def render(command: str, data: dict[str, Any]) -> str:
    """Return the report in Markdown: query times, then ingest rates, each code's rows together."""
    lines = [
        f"`{command}`, {time.strftime('%Y-%m-%d')}, on a machine shared with other work: "
        "milliseconds per call, each its own transaction (median, and p99 for the batch claim), "
        "with the history of finished rows in the store throughout; SQLite timed with synchronous=OFF "
        "(a commit's flush to disk is the same at any backlog).",
        "",
        "| Code | Store | Pending | claim_batch p50 | p99 | claim_unknown | claim_lookup "
        "| transform pick | release sweep |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for t in data["times"]:
        lines.append(
            f"| {t['code']} | {t['store']} | {t['backlog']} | {t['batch_p50']:.2f} | {t['batch_p99']:.2f} "
            f"| {t['unknown_p50']:.2f} | {t['lookup_p50']:.2f} | {t['transform_p50']:.2f} "
            f"| {t['release_p50']:.2f} |"
        )
    lines += [
        "",
        "Ingest beside it: closed loop, 32 connections, web and worker on each copy, turns in rounds.",
        "",
        "| Code | Store | Pending at start | Acks/s | vs none | p99 ms |",
        "|---|---|--:|--:|--:|--:|",
    ]
    quiet = {(r["code"], r["store"]): r["acks_per_second"] for r in data["rates"] if r["backlog"] == "none"}
    for r in data["rates"]:
        none_rate = quiet.get((r["code"], r["store"]))
        share = r["acks_per_second"] / none_rate if none_rate else 0.0
        lines.append(
            f"| {r['code']} | {r['store']} | {r['backlog']} | {r['acks_per_second']:.0f} "
            f"| {100 * share:.0f}% | {r['p99_ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"



def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL as well as SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a smaller store, shorter loads")
    parser.add_argument("--base", help="also measure this commit's code, e.g. 6fa3c08")
    parser.add_argument("--readme", action="store_true", help="write the tables into README.md")
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the tables, and write them where asked."""
    args = parse_args(argv)
    stop_on_sigterm()
    if args.json is not None:  # one side of a --base run
        args.json.write_text(json.dumps(measure(args)))
        return 0
    with tempfile.TemporaryDirectory(prefix="lsq-backlog-base-") as tmp:
        base = measure_base(args, git("rev-parse", "--short", args.base), Path(tmp)) if args.base else None
    # Read after the base's turn: the commit whose code this checkout's turn runs.
    args.label = f"this ({git('rev-parse', '--short', 'HEAD')})"
    data = measure(args)
    if base is not None:
        data = {key: data[key] + base[key] for key in data}
    flags = [f for f in ("--postgres", "--quick") if getattr(args, f[2:])]
    command = " ".join(["python -m bench.backlog", *flags, *(["--base", args.base] if args.base else [])])
    table = render(command, data)
    print(table)
    if args.readme:
        write_section(START, END, table)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
