"""An asyncio HTTP/1.1 load generator: keep-alive connections, pre-built requests, closed or open loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

WEBHOOK_PATH = "/webhooks/razorpay"
CONNECT_RETRIES = 3


@dataclass(frozen=True)
class Payment:
    """One payment.captured delivery to build: its event id and opportunity."""

    event_id: str
    payment_id: str
    opportunity_id: str


def payment_body(payment: Payment, created_at: int = 1_700_000_000, event: str = "payment.captured") -> bytes:
    """Return a Razorpay payment event's body (payment.captured, or another of the same shape) as sent."""
    entity = {
        "id": payment.payment_id,
        "amount": 100050,
        "currency": "INR",
        "method": "upi",
        "created_at": created_at,
        "notes": {"opportunity_id": payment.opportunity_id},
    }
    body = {"event": event, "created_at": created_at, "payload": {"payment": {"entity": entity}}}
    return json.dumps(body, separators=(",", ":")).encode()


def signed_request(host: str, port: int, secret: str, payment: Payment) -> bytes:
    """Return the raw bytes of one signed webhook POST, ready to write to a socket."""
    body = payment_body(payment)
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Razorpay-Signature: {signature}\r\n"
        f"x-razorpay-event-id: {payment.event_id}\r\n"
        "\r\n"
    )
    return head.encode() + body


def payments(prefix: str, count: int, opportunities: int) -> Iterator[Payment]:
    """Yield count payments with unique ids, spread round-robin over opportunities."""
    for number in range(count):
        yield Payment(f"evt_{prefix}_{number}", f"pay_{prefix}_{number}", f"opp-{number % opportunities}")


@dataclass
class Result:
    """What one load run measured; latencies in seconds."""

    mode: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    client_cpu_seconds: float = 0.0
    # The open loop's arrival rate; 0 for a closed loop.
    offered_rate: float = 0.0

    @property
    def requests(self) -> int:
        """Return how many requests were answered."""
        return len(self.latencies)

    @property
    def non_2xx(self) -> int:
        """Return how many answers were not 2xx, plus broken connections."""
        return self.errors + sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def client_cpu_ms_per_request(self) -> float:
        """Return the load generator's own CPU milliseconds per answered request."""
        return 1000 * self.client_cpu_seconds / self.requests if self.requests else math.nan

    @property
    def rate(self) -> float:
        """Return answers per second over the run."""
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, other: Result) -> None:
        """Fold another run of the same mode into this one, as if it had followed it."""
        self.seconds += other.seconds
        self.latencies += other.latencies
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.errors += other.errors
        self.client_cpu_seconds += other.client_cpu_seconds
        self.offered_rate = other.offered_rate

    def percentile(self, share: float) -> float:
        """Return the latency below which `share` of the answers fell (nearest rank)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


class Connection:
    """One keep-alive connection that reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        """Send one request and return the answer's status; raise OSError if it cannot."""
        for attempt in range(CONNECT_RETRIES):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(request)
                return await self._read_answer(self.reader)
            except (OSError, asyncio.IncompleteReadError):
                # A keep-alive connection the server closed while idle: reconnect and send again.
                await self.close()
                if attempt == CONNECT_RETRIES - 1:
                    raise
        raise OSError("unreachable")

    async def _read_answer(self, reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, closing = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                closing = True
        await reader.readexactly(length)
        if closing:
            await self.close()
        return status

    async def close(self) -> None:
        """Close the socket, if open."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _timed_send(connection: Connection, request: bytes, since: float, result: Result) -> None:
    try:
        status = await connection.send(request)
    except (OSError, asyncio.IncompleteReadError):
        result.errors += 1
        return
    result.latencies.append(time.perf_counter() - since)
    result.statuses[status] = result.statuses.get(status, 0) + 1


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], connections: int, time_limit: float
) -> Result:
    """Keep `connections` requests outstanding until the requests or the time run out."""
    result = Result("closed")
    pending = iter(requests)
    cpu_start, start = time.process_time(), time.perf_counter()
    deadline = start + time_limit

    async def client() -> None:
        connection = Connection(host, port)
        try:
            for request in pending:
                await _timed_send(connection, request, time.perf_counter(), result)
                if time.perf_counter() >= deadline:
                    return
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    result.client_cpu_seconds = time.process_time() - cpu_start
    return result


async def open_loop(
    host: str, port: int, requests: Sequence[bytes], connections: int, rate: float, time_limit: float
) -> Result:
    """Send requests at a fixed arrival rate over a pool of connections.

    Latency counts from each request's scheduled time, so waiting for a free
    connection is part of it (no coordinated omission).
    """
    result = Result("open", offered_rate=rate)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    count = min(len(requests), int(rate * time_limit))
    cpu_start, start = time.process_time(), time.perf_counter()

    async def produce() -> None:
        for number in range(count):
            due = start + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, requests[number]))
        for _ in range(connections):
            queue.put_nowait(None)

    async def client() -> None:
        connection = Connection(host, port)
        try:
            while (item := await queue.get()) is not None:
                due, request = item
                await _timed_send(connection, request, due, result)
        finally:
            await connection.close()

    await asyncio.gather(produce(), *(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    result.client_cpu_seconds = time.process_time() - cpu_start
    return result
