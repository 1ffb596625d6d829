"""What alerting costs each worker: one evaluation of every condition, on a store with a million rows.

    .venv/bin/python -m bench.alerts                # SQLite, then PostgreSQL when reachable
    .venv/bin/python -m bench.alerts --quick        # a smoke run, smaller store

The store gets a history (1,000,000 delivered activities), a backlog of
100,000 pending activities stored over the last hour and 10,000 dead ones
within it, all of account main, by the database's clock. One
evaluation (bridge.alerts.monitor.Evaluator.evaluate) is then timed again and
again with nothing changing: what every worker and the admin process pay
every evaluate_every_seconds (5 s by default). The first evaluation, which
writes the alerts that hold (dead rows, late deliveries), is left out.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.backlog_seed import NOW, add_activities, add_events, seed_history
from bench.stack import POSTGRES_ADMIN_URL
from bridge.alerts.monitor import Evaluator
from bridge.config.load import load_settings
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.migrate import upgrade_to_head
from transforms import REGISTRY

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def store(kind: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a fresh, migrated store of this kind; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory}/alerts.db"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    name = f"lsqb_alerts_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def seed(engine: sa.Engine, history: int, backlog: int, dead: int) -> None:
    """Fill the store, then move the backlog and the dead rows into the last hour of the database's clock."""
    seed_history(engine, history, 1000)
    with engine.begin() as bind:
        add_events(bind, "backlog", backlog, "transformed", 1000)
        add_activities(bind, "backlog", backlog, "pending", 1000, 3600.0)
        add_events(bind, "dead", dead, "transformed", 1000)
        add_activities(bind, "dead", dead, "dead", 1000, 1800.0)
        shift = NOW - time.time()
        bind.execute(
            sa.text(
                "UPDATE activities SET created_at = created_at - :shift, "
                "next_attempt_at = next_attempt_at - :shift WHERE status <> 'delivered'"
            ),
            {"shift": shift},
        )
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def measure(kind: str, history: int, backlog: int, dead: int, rounds: int) -> str:
    """Seed a store of this kind and return a table row of evaluation times."""
    with tempfile.TemporaryDirectory() as directory, store(kind, Path(directory)) as url:
        engine = make_engine(url, 4)
        upgrade_to_head(engine)
        seed(engine, history, backlog, dead)
        environ = {"RAZORPAY_WEBHOOK_SECRET": "s", "BRIDGE_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/x"}
        settings = load_settings(REPO / "bridge.example.toml", environ, REGISTRY)
        services = Services(settings, engine, REGISTRY)
        evaluator = Evaluator(services)
        first = [change.key[0].value for change in evaluator.evaluate()]
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert evaluator.evaluate() == []
            times.append((time.perf_counter() - started) * 1000)
        if services.reader is not engine:
            services.reader.dispose()
        engine.dispose()
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    return (
        f"| {kind} | {history:,} + {backlog:,} pending + {dead:,} dead | {statistics.median(times):.1f} ms "
        f"| {p95:.1f} ms | {', '.join(sorted(first))} |"
    )


def main() -> None:
    """Measure one evaluation on SQLite and PostgreSQL and print the README's table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller store, fewer rounds")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    options = parser.parse_args()
    sizes = (20_000, 2_000, 200, 20) if options.quick else (1_000_000, 100_000, 10_000, 200)
    rows = [
        "| store | activities | evaluation, median | p95 | alerts the first one wrote |",
        "|---|---|---|---|---|",
    ]
    for kind in ("sqlite",) if options.sqlite_only else ("sqlite", "postgresql"):
        rows.append(measure(kind, *sizes))
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
