"""Ingest: signed webhooks acked per second and ack latency, the bridge beside the minimal receivers.

Contenders take turns in short rounds (bridge, minimal, ..., bridge, minimal,
...) rather than one long run each: other work on the machine then slows them
alike instead of whichever happened to be running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.load import Result, closed_loop, open_loop, payments, signed_request
from bench.procs import LOOPBACK, Process, cpu_seconds, machine_busy_seconds
from bench.stack import WEBHOOK_SECRET

OPPORTUNITIES = 100
MODES = ("closed", "open")


@dataclass(frozen=True)
class IngestSettings:
    """How long and how hard each stage runs."""

    connections: int = 32
    warm_seconds: float = 2.0
    # Totals per contender, split over `rounds` turns.
    closed_seconds: float = 8.0
    open_seconds: float = 8.0
    rounds: int = 4
    # The open loop's arrival rate, as a share of the bridge's closed-loop rate on the same database.
    open_share: float = 0.5
    # Requests are built for at most this rate, so a stage never runs out before its time.
    max_rate: float = 4000.0


@dataclass(frozen=True)
class Contender:
    """One server under test."""

    label: str
    database: str
    process: Process
    is_bridge: bool = False


@dataclass
class Measured:
    """A contender's results per mode, with the CPU its server and everything else used meanwhile."""

    contender: Contender
    results: dict[str, Result] = field(default_factory=dict)
    round_rates: dict[str, list[float]] = field(default_factory=dict)
    server_cpu: dict[str, float] = field(default_factory=dict)
    # CPU seconds used by neither this server nor the load generator: other servers, other people's tests.
    other_cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_ack(self, mode: str) -> float:
        """Return the server's CPU milliseconds per answered request in one mode."""
        result = self.results[mode]
        return 1000 * self.server_cpu[mode] / result.requests if result.requests else float("nan")

    def other_cores(self, mode: str) -> float:
        """Return how many CPUs, on average, other processes kept busy during the mode's rounds."""
        seconds = self.results[mode].seconds
        return self.other_cpu[mode] / seconds if seconds else float("nan")

    def record(self, mode: str, result: Result, server_cpu: float, other_cpu: float) -> None:
        """Fold one round into the mode's totals."""
        if mode in self.results:
            self.results[mode].add(result)
        else:
            self.results[mode] = result
        self.round_rates.setdefault(mode, []).append(result.rate)
        self.server_cpu[mode] = self.server_cpu.get(mode, 0.0) + server_cpu
        self.other_cpu[mode] = self.other_cpu.get(mode, 0.0) + other_cpu


def build_requests(port: int, prefix: str, count: int) -> list[bytes]:
    """Sign `count` unique deliveries now, so that signing is not timed."""
    return [signed_request(LOOPBACK, port, WEBHOOK_SECRET, p) for p in payments(prefix, count, OPPORTUNITIES)]


def run_round(measured: Measured, mode: str, number: int, settings: IngestSettings, rate: float) -> None:
    """Run one round of one mode against one contender and record it."""
    process = measured.contender.process
    assert process.port is not None
    total = settings.closed_seconds if mode == "closed" else settings.open_seconds
    seconds = total / settings.rounds
    count = int((settings.max_rate if mode == "closed" else rate) * seconds) + 1
    requests = build_requests(process.port, f"{mode}{number}-{process.name}", count)
    server_before, machine_before = cpu_seconds(process.tree()), machine_busy_seconds()
    if mode == "closed":
        coroutine = closed_loop(LOOPBACK, process.port, requests, settings.connections, seconds)
    else:
        coroutine = open_loop(LOOPBACK, process.port, requests, settings.connections, rate, seconds)
    result = asyncio.run(coroutine)
    server = cpu_seconds(process.tree()) - server_before
    other = machine_busy_seconds() - machine_before - server - result.client_cpu_seconds
    measured.record(mode, result, server, max(0.0, other))


def warm_up(contender: Contender, settings: IngestSettings) -> None:
    """Let every worker import, connect and fill its caches before anything is timed."""
    port = contender.process.port
    assert port is not None
    count = int(settings.max_rate * settings.warm_seconds)
    requests = build_requests(port, f"warm-{contender.process.name}", count)
    asyncio.run(closed_loop(LOOPBACK, port, requests, settings.connections, settings.warm_seconds))


def run_ingest(contenders: Sequence[Contender], settings: IngestSettings) -> list[Measured]:
    """Warm up, run closed-loop rounds, then open-loop rounds at a share of the bridge's rate."""
    measured = [Measured(c) for c in contenders]
    for entry in measured:
        warm_up(entry.contender, settings)
    for number in range(settings.rounds):
        for entry in measured:
            run_round(entry, "closed", number, settings, 0.0)
    for number in range(settings.rounds):
        for entry in measured:
            rate = max(1.0, settings.open_share * bridge_rate(measured, entry.contender.database))
            run_round(entry, "open", number, settings, rate)
    return measured


def bridge_rate(measured: Sequence[Measured], database: str) -> float:
    """Return the bridge's closed-loop rate on a database."""
    for entry in measured:
        if entry.contender.is_bridge and entry.contender.database == database:
            return entry.results["closed"].rate
    raise ValueError(f"no bridge contender on {database}")
