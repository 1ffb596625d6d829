"""Where a receiver's time goes: one thread, Werkzeug's test client, cProfile grouped by library.

    .venv/bin/python -m bench.hotspots [--requests 2000]

Runs the bridge's app (with its JSON logging, as in production), the bridge
with its logs raised to WARNING (what logging costs), and the minimal
receivers, each on a fresh SQLite file. No HTTP server and no concurrency: it
shows CPU per request, which is what limits the rate on two shared cores.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import logging
import os
import pstats
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.test import Client

from bench import minimal_receiver
from bench.load import WEBHOOK_PATH, payment_body, payments
from bench.stack import REPO, WEBHOOK_SECRET, bridge_env, migrate

# (area, substring of the profiled function's file or name), first match wins.
AREAS = (
    ("SQLite (execute, commit with its fsync)", "sqlite3"),
    ("SQLAlchemy", "/sqlalchemy/"),
    ("logging (bridge/observe/logs.py + stdlib)", "/logging/"),
    ("logging (bridge/observe/logs.py + stdlib)", "bridge/observe/logs.py"),
    ("Flask, Werkzeug (incl. test client)", "/flask/"),
    ("Flask, Werkzeug (incl. test client)", "/werkzeug/"),
    ("json", "/json/"),
    ("HMAC, hashlib", "hmac"),
    ("HMAC, hashlib", "_hashlib"),
    ("bridge, transforms, bench code", f"{REPO}/"),
)
Request = tuple[bytes, dict[str, str]]


def signed(prefix: str, count: int) -> list[Request]:
    """Return count signed deliveries, body and headers."""
    requests = []
    for payment in payments(prefix, count, 100):
        body = payment_body(payment)
        signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature,
            "x-razorpay-event-id": payment.event_id,
        }
        requests.append((body, headers))
    return requests


def post_all(client: Client, requests: Sequence[Request]) -> None:
    """Post every delivery; stop at the first one not accepted."""
    for body, headers in requests:
        answer = client.post(WEBHOOK_PATH, data=body, headers=headers)
        if answer.status_code != 202:
            raise RuntimeError(f"answered {answer.status_code}: {answer.get_data(as_text=True)}")


def area_of(function: tuple[str, int, str]) -> str:
    """Return the area a profiled function belongs to."""
    text = f"{function[0]}:{function[2]}"
    return next((area for area, mark in AREAS if mark in text), "other (stdlib, C builtins)")


@dataclass(frozen=True)
class Receiver:
    """An app to measure, and the root log level it runs with."""

    name: str
    app: Any
    log_level: int = logging.INFO


def cpu_per_request(receiver: Receiver, prefix: str, count: int) -> tuple[float, float]:
    """Post count deliveries; return wall and CPU milliseconds per request."""
    logging.getLogger().setLevel(receiver.log_level)
    client, requests = Client(receiver.app), signed(prefix, count)
    wall, cpu = time.perf_counter(), time.process_time()
    post_all(client, requests)
    return 1000 * (time.perf_counter() - wall) / count, 1000 * (time.process_time() - cpu) / count


def profile_by_area(receiver: Receiver, count: int) -> str:
    """Profile count deliveries and return each area's share of the own time."""
    logging.getLogger().setLevel(receiver.log_level)
    client, requests = Client(receiver.app), signed(f"profiled-{receiver.name}", count)
    profiler = cProfile.Profile()
    profiler.runcall(post_all, client, requests)
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    by_area: dict[str, float] = {}
    for function, (_calls, _primitive, own_time, _cumulative, _callers) in stats.items():
        by_area[area_of(function)] = by_area.get(area_of(function), 0.0) + own_time
    total = sum(by_area.values())
    return ", ".join(f"{area} {t / total:.0%}" for area, t in sorted(by_area.items(), key=lambda i: -i[1]))


def measure(receivers: Sequence[Receiver], count: int, rounds: int) -> list[str]:
    """Time the receivers in turns and keep each one's best round, then profile each; return rows."""
    best: dict[str, tuple[float, float]] = {}
    for receiver in receivers:
        cpu_per_request(receiver, f"warm-{receiver.name}", 200)
    # Turns, and the best of them: other work on the machine only ever adds time.
    for number in range(rounds):
        for receiver in receivers:
            wall, cpu = cpu_per_request(receiver, f"timed{number}-{receiver.name}", count)
            previous = best.get(receiver.name, (wall, cpu))
            best[receiver.name] = (min(wall, previous[0]), min(cpu, previous[1]))
    return [
        f"| {r.name} | {best[r.name][0]:.2f} | {best[r.name][1]:.2f} | {profile_by_area(r, count)} |"
        for r in receivers
    ]


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the apps read them when built)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def bridge_app(workdir: Path, log_path: Path) -> Any:
    """Build the bridge's app as gunicorn does, its JSON logs going to a file."""
    from bridge import create_app

    env = bridge_env(workdir, f"sqlite:///{workdir / 'bridge.db'}", "http://127.0.0.1:9")
    migrate(env)
    with environment(env):
        app = create_app()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_path.open("a"))
    return app


def minimal_app(workdir: Path, factory: Callable[[], Any], name: str) -> Any:
    """Build a minimal receiver on its own SQLite file."""
    database = str(workdir / f"{name}.db")
    minimal_receiver.create_schema(database)
    with environment({"RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET, "MINIMAL_DATABASE": database}):
        return factory()


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each receiver and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round and receiver")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [
        "| Receiver (one thread, test client) | wall ms/req (best round) | CPU ms/req (best round) "
        "| profiled own time by area |",
        "|---|--:|--:|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="lsq-hotspots-") as tmp:
        workdir = Path(tmp)
        bridge = bridge_app(workdir, workdir / "bridge.log")
        receivers = [
            Receiver("bridge", bridge),
            Receiver("bridge, logs at WARNING", bridge, logging.WARNING),
            Receiver("minimal (Flask)", minimal_app(workdir, minimal_receiver.create_app, "flask")),
            Receiver("minimal (WSGI)", minimal_app(workdir, minimal_receiver.create_wsgi_app, "wsgi")),
        ]
        rows += measure(receivers, args.requests, args.rounds)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
