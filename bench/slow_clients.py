"""Slow and trickling clients: does the receiver still answer everyone else, and does it cut them off?

    .venv/bin/python -m bench.slow_clients                 # SQLite, gevent and gthread side by side
    .venv/bin/python -m bench.slow_clients --postgres      # also PostgreSQL
    .venv/bin/python -m bench.slow_clients --worker-class gevent --no-readme

Each server model starts the bridge's web process as the Procfile does
(gunicorn.conf.py; WEB_WORKER_CLASS=gthread gives the former threaded model)
and runs three scenarios:

(a) 2 connections send a webhook's headers and one byte of its body, then
    nothing; meanwhile 20 concurrent GET /healthz, each on its own connection;
(b) 64 connections trickle a signed webhook at one byte a second (half its
    headers, half its body after the headers), reconnecting when cut off;
    meanwhile 200 concurrent signed webhooks, each on its own connection;
(c) one client trickles its headers and one its body, a byte a second: how
    long until the server cuts it off, and what it answered.

The table goes into README.md between the slow-clients markers (--no-readme: printed only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkout import README, write_section
from bench.load import Payment, Result, signed_request
from bench.procs import LOOPBACK, Processes, stop_on_sigterm
from bench.stack import (
    WEBHOOK_SECRET,
    bridge_env,
    gunicorn_settings,
    postgres_databases,
    server_env,
    start_bridge_web,
)

START, END = "<!-- slow-clients:start -->", "<!-- slow-clients:end -->"
MODELS = {"gevent": None, "gthread": "gthread"}  # name -> WEB_WORKER_CLASS (None: gunicorn.conf.py's own)
HEALTH_REQUEST = f"GET /healthz HTTP/1.1\r\nHost: {LOOPBACK}\r\nConnection: close\r\n\r\n".encode()


@dataclass(frozen=True)
class SlowSettings:
    """How many slow clients, how slow, and how long to wait for answers."""

    stalled: int = 2
    health_checks: int = 20
    tricklers: int = 64
    webhooks: int = 200
    seconds_per_byte: float = 1.0
    # The speed target: a webhook acked within this long counts as prompt.
    prompt_seconds: float = 1.0
    # A request not answered within this long counts as unanswered.
    answer_limit: float = 5.0
    # The tricklers get this long to settle in before the webhooks arrive.
    settle_seconds: float = 2.0
    # (c) gives up watching a trickler after this long.
    cutoff_limit: float = 30.0


@dataclass
class CutOff:
    """What a trickling client saw: after how long the server ended it, and how."""

    what: str
    seconds: float | None = None
    answer: str = "still open"


@dataclass
class ModelReport:
    """One server model on one database: the three scenarios' results."""

    model: str
    database: str
    health: Result = field(default_factory=lambda: Result("health"))
    webhooks: Result = field(default_factory=lambda: Result("webhooks"))
    prompt: int = 0
    cut_offs: list[CutOff] = field(default_factory=list)


def stalled_head(port: int, payment: Payment) -> bytes:
    """Return a signed webhook's headers and the first byte of its body."""
    request = signed_request(LOOPBACK, port, WEBHOOK_SECRET, payment)
    head, _, body = request.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + body[:1]


async def request_once(port: int, raw: bytes, limit: float) -> tuple[int | None, float]:
    """Send one request on a new connection; return its status (None: none within limit) and latency."""
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            writer.write(raw)
            status_line = await reader.readline()
        return int(status_line.split()[1]), time.perf_counter() - started
    except (TimeoutError, OSError, IndexError, ValueError):
        return None, time.perf_counter() - started
    finally:
        if writer is not None:
            writer.close()


def record(result: Result, status: int | None, latency: float) -> None:
    """Count one answer, or one request left unanswered."""
    if status is None:
        result.errors += 1
        return
    result.latencies.append(latency)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def scenario_stalled(port: int, settings: SlowSettings, report: ModelReport) -> None:
    """(a) Stall two webhooks after one byte of body; time concurrent /healthz meanwhile."""
    stalled = []
    for number in range(settings.stalled):
        _, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(stalled_head(port, Payment(f"evt_stall_{number}", f"pay_stall_{number}", "opp-1")))
        stalled.append(writer)
    await asyncio.sleep(0.5)
    answers = await asyncio.gather(
        *(request_once(port, HEALTH_REQUEST, settings.answer_limit) for _ in range(settings.health_checks))
    )
    for status, latency in answers:
        record(report.health, status, latency)
    for writer in stalled:
        writer.close()


async def trickle(
    port: int, raw: bytes, first_slow_byte: int, settings: SlowSettings, stop: asyncio.Event
) -> None:
    """Send raw a byte every seconds_per_byte from first_slow_byte on, reconnecting whenever cut off."""
    while not stop.is_set():
        writer = None
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, port)
            writer.write(raw[:first_slow_byte])
            for offset in range(first_slow_byte, len(raw)):
                await asyncio.sleep(settings.seconds_per_byte)
                if stop.is_set() or writer.is_closing():
                    break
                writer.write(raw[offset : offset + 1])
                await writer.drain()
        except OSError:
            await asyncio.sleep(0.1)
        finally:
            if writer is not None:
                writer.close()


def trickled_request(port: int, number: int) -> tuple[bytes, int]:
    """Return a trickler's request and where its slow part starts: byte 0 if number is even, else the body."""
    raw = signed_request(
        LOOPBACK, port, WEBHOOK_SECRET, Payment(f"evt_trk_{number}", f"pay_trk_{number}", "opp-2")
    )
    return raw, 0 if number % 2 == 0 else raw.index(b"\r\n\r\n") + 4


async def scenario_tricklers(port: int, settings: SlowSettings, report: ModelReport) -> None:
    """(b) 64 tricklers, then 200 concurrent signed webhooks: how many are acked, and how fast."""
    stop = asyncio.Event()
    tricklers = [
        asyncio.create_task(trickle(port, *trickled_request(port, number), settings, stop))
        for number in range(settings.tricklers)
    ]
    await asyncio.sleep(settings.settle_seconds)
    requests = [
        signed_request(LOOPBACK, port, WEBHOOK_SECRET, Payment(f"evt_ok_{n}", f"pay_ok_{n}", f"opp-{n % 50}"))
        for n in range(settings.webhooks)
    ]
    answers = await asyncio.gather(*(request_once(port, raw, settings.answer_limit) for raw in requests))
    for status, latency in answers:
        record(report.webhooks, status, latency)
        if status is not None and 200 <= status < 300 and latency <= settings.prompt_seconds:
            report.prompt += 1
    stop.set()
    await asyncio.gather(*tricklers)


async def watch_trickler(port: int, number: int, settings: SlowSettings) -> CutOff:
    """(c) Trickle one request (its headers if number is even, else its body); say when and how it ended."""
    raw, first_slow_byte = trickled_request(port, number)
    cut_off = CutOff("body" if first_slow_byte else "headers")
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    started = time.perf_counter()
    writer.write(raw[: max(1, first_slow_byte)])
    sender = asyncio.create_task(_send_slowly(writer, raw, max(1, first_slow_byte), settings))
    try:
        async with asyncio.timeout(settings.cutoff_limit):
            answer = await reader.read(65536)
        cut_off.seconds = time.perf_counter() - started
        cut_off.answer = _describe(answer)
    except TimeoutError:
        pass
    except OSError as error:
        cut_off.seconds, cut_off.answer = time.perf_counter() - started, f"reset ({error.__class__.__name__})"
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
    return cut_off


async def _send_slowly(writer: asyncio.StreamWriter, raw: bytes, offset: int, settings: SlowSettings) -> None:
    with contextlib.suppress(OSError):
        for position in range(offset, len(raw)):
            await asyncio.sleep(settings.seconds_per_byte)
            writer.write(raw[position : position + 1])
            await writer.drain()


def _describe(answer: bytes) -> str:
    """Return a short account of what the server sent before closing."""
    if not answer:
        return "closed, no answer"
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")
    error = body.split('"error": "', 1)[1].split('"', 1)[0] if '"error": "' in body else ""
    return status_line.decode("latin-1").removeprefix("HTTP/1.1 ") + (f", {error}" if error else "")


async def run_scenarios(port: int, settings: SlowSettings, report: ModelReport) -> None:
    """Run (a), (b) and (c) in turn against one server."""
    await scenario_stalled(port, settings, report)
    await scenario_tricklers(port, settings, report)
    report.cut_offs = list(
        await asyncio.gather(watch_trickler(port, 10_000, settings), watch_trickler(port, 10_001, settings))
    )


def measure(
    workdir: Path, procs: Processes, stack: ExitStack, model: str, postgres: bool, settings: SlowSettings
) -> ModelReport:
    """Start the bridge's web process with one server model on one database and run the scenarios."""
    if postgres:
        (url,) = stack.enter_context(postgres_databases(1))
        database_url, label = url.replace("postgresql://", "postgresql+psycopg://"), "PostgreSQL"
    else:
        database_url, label = f"sqlite:///{workdir / f'slow-{model}.db'}", "SQLite"
    env = {**bridge_env(workdir, database_url, "http://127.0.0.1:9"), **server_env(MODELS[model])}
    web = start_bridge_web(procs, f"web-{model}-{label}", env)
    assert web.port is not None
    report = ModelReport(model, label)
    asyncio.run(run_scenarios(web.port, settings, report))
    web.stop()
    return report


def _ms(result: Result, share: float) -> str:
    return f"{1000 * result.percentile(share):.0f}" if result.latencies else "n/a"


def render(command: str, settings: SlowSettings, reports: Sequence[ModelReport]) -> str:
    """Return the Markdown table and what it measured."""
    lines = [
        f"`{command}` on {len(os.sched_getaffinity(0))} CPUs, {time.strftime('%Y-%m-%d')}; "
        f"server models: {'; '.join(_model_line(m) for m in dict.fromkeys(r.model for r in reports))}.",
        f"(a) {settings.stalled} connections stalled after headers + 1 byte of body, "
        f"{settings.health_checks} concurrent GET /healthz; (b) {settings.tricklers} connections trickling "
        f"a webhook at 1 byte/{settings.seconds_per_byte:g} s (half headers, half bodies), "
        f"{settings.webhooks} concurrent signed webhooks; (c) one client trickling headers, one its body. "
        f"Unanswered: no status line within {settings.answer_limit:g} s.",
        "",
        "| Server model | DB | (a) /healthz answered | (a) p50 / max ms | (b) webhooks acked 2xx "
        f"| (b) 2xx within {settings.prompt_seconds:g} s | (b) p50 / p99 / max ms "
        "| (c) header trickler cut off after | (c) body trickler cut off after |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in reports:
        acked = sum(n for status, n in r.webhooks.statuses.items() if 200 <= status < 300)
        total = settings.webhooks
        cut = [_cut(c, settings) for c in r.cut_offs]
        lines.append(
            f"| {r.model} | {r.database} | {r.health.requests} of {settings.health_checks} "
            f"| {_ms(r.health, 0.5)} / {_ms(r.health, 1.0)} | {acked} of {total} ({acked / total:.0%}) "
            f"| {r.prompt} ({r.prompt / total:.1%}) "
            f"| {_ms(r.webhooks, 0.5)} / {_ms(r.webhooks, 0.99)} / {_ms(r.webhooks, 1.0)} "
            f"| {' | '.join(cut)} |"
        )
    return "\n".join(lines) + "\n"


def _model_line(model: str) -> str:
    return f"{model} = {gunicorn_settings(MODELS[model]).describe()}"


def _cut(cut_off: CutOff, settings: SlowSettings) -> str:
    if cut_off.seconds is None:
        return f"not within {settings.cutoff_limit:g} s"
    return f"{cut_off.seconds:.1f} s: {cut_off.answer}"



def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios for each server model and database, print the table, write it where asked."""
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument(
        "--worker-class",
        default="gevent,gthread",
        help="server models, comma-separated (default gevent,gthread)",
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table, do not write README.md")
    args = parser.parse_args(argv)
    models = [name.strip() for name in args.worker_class.split(",")]
    if unknown := [name for name in models if name not in MODELS]:
        parser.error(f"unknown worker class {unknown[0]!r}: choose from {', '.join(MODELS)}")
    stop_on_sigterm()
    settings = SlowSettings()
    reports = []
    with (
        tempfile.TemporaryDirectory(prefix="lsq-slow-") as tmp,
        ExitStack() as stack,
        Processes(Path(tmp)) as procs,
    ):
        for postgres in (False, True) if args.postgres else (False,):
            for model in models:
                print(f"measuring {model} on {'PostgreSQL' if postgres else 'SQLite'} ...", flush=True)
                reports.append(measure(Path(tmp), procs, stack, model, postgres, settings))
    command = " ".join([".venv/bin/python -m bench.slow_clients", *(sys.argv[1:] if argv is None else argv)])
    table = render(command, settings, reports)
    print(table)
    if not args.no_readme:
        write_section(START, END, table)
        print(f"written into {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
