"""Slow and trickling clients against gunicorn started as the Procfile starts it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bridge.sandbox import SandboxServer
from bridge.services import Services
from bridge.store.tables import events
from tests.conftest import (
    POSTGRES_ONLY,
    ROOT,
    TEST_CONFIG,
    bridge_environ,
    make_services,
    postgres_admin_url,
    write_config,
)
from tests.e2e.test_processes import free_port, start, wait_until
from tests.support import body_of, payment_event, razorpay_headers

pytestmark = [pytest.mark.slow, pytest.mark.alone]

READ_TIMEOUT_SECONDS = 1
SHORT_READ_TIMEOUT = TEST_CONFIG.replace(
    "max_body_bytes = 65536", f"max_body_bytes = 65536\nread_timeout_seconds = {READ_TIMEOUT_SECONDS}"
)
# Generous: an answer this late would still be an answer, not a starved receiver.
PROMPTLY_SECONDS = 5.0


@dataclass(frozen=True)
class Web:
    """The web process on a port, and the services that read its database."""

    port: int
    services: Services

    @property
    def base(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"


# The web fixture's tests run on PostgreSQL alone: deadlines and stalled sockets are gunicorn's and
# the receiver's business, and what the store does with the webhook that gets through the
# integration tier checks on both stores.
@pytest.fixture
def web(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Iterator[Web]:
    """Gunicorn serving the app as the Procfile runs it, with a 1 s read timeout."""
    port = free_port()
    config = write_config(tmp_path, SHORT_READ_TIMEOUT)
    environ = bridge_environ(database_url, sandbox, BRIDGE_CONFIG=str(config), PORT=str(port))
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bridge:create_app()"]
    process = start(argv, environ, tmp_path / "web.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).ok, 30, "gunicorn start-up")
        yield Web(port, make_services(tmp_path, database_url, sandbox, SHORT_READ_TIMEOUT))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def signed_delivery(port: int, number: int) -> bytes:
    """Return the raw bytes of a signed Razorpay webhook."""
    body = body_of(payment_event(f"pay_slow_{number}", "opp-1"))
    headers = {**razorpay_headers(body, f"evt_slow_{number}"), "Content-Length": str(len(body))}
    head = f"POST /webhooks/razorpay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode() + body


def stalled_connection(port: int, number: int) -> socket.socket:
    """Open a connection that sends a webhook's headers and one byte of its body, then nothing."""
    raw = signed_delivery(port, number)
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(raw[: raw.index(b"\r\n\r\n") + 5])
    return connection


def stored_events(services: Services) -> int:
    """Return how many events the store holds."""
    with services.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())


@POSTGRES_ONLY
def test_stalled_clients_do_not_stop_health_checks_or_webhooks(web: Web) -> None:
    """With more stalled requests open than the processes have threads, /healthz and webhooks answer."""
    stalled = [stalled_connection(web.port, number) for number in range(8)]
    try:
        assert requests.get(f"{web.base}/healthz", timeout=PROMPTLY_SECONDS).status_code == 200
        body = body_of(payment_event("pay_prompt", "opp-1"))
        answer = requests.post(
            f"{web.base}/webhooks/razorpay",
            data=body,
            headers=razorpay_headers(body, "evt_prompt"),
            timeout=PROMPTLY_SECONDS,
        )
        assert answer.status_code == 202
    finally:
        for connection in stalled:
            connection.close()


@POSTGRES_ONLY
def test_a_trickling_client_is_cut_off_with_408_and_nothing_is_stored(web: Web) -> None:
    """A body sent a byte at a time, each pause shorter than the timeout, is cut off by the total deadline."""
    raw = signed_delivery(web.port, 1)
    connection = socket.create_connection(("127.0.0.1", web.port))
    connection.settimeout(0.2)
    started = time.monotonic()
    connection.sendall(raw[: raw.index(b"\r\n\r\n") + 4])
    answer = b""
    try:
        for offset in range(raw.index(b"\r\n\r\n") + 4, len(raw)):
            try:
                connection.sendall(raw[offset : offset + 1])
                answer = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer or time.monotonic() - started > 10 * READ_TIMEOUT_SECONDS + PROMPTLY_SECONDS:
                break
    finally:
        elapsed = time.monotonic() - started
        connection.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    refusal = json.loads(body)
    assert refusal["status"] == "rejected" and refusal["error"] == "request_timeout"
    assert f"{READ_TIMEOUT_SECONDS} s" in refusal["message"]
    assert elapsed >= READ_TIMEOUT_SECONDS
    assert stored_events(web.services) == 0
    # The process that cut it off goes on serving.
    later = body_of(payment_event("pay_after", "opp-1"))
    headers = razorpay_headers(later, "evt_after")
    url = f"{web.base}/webhooks/razorpay"
    assert requests.post(url, data=later, headers=headers, timeout=PROMPTLY_SECONDS).status_code == 202
    assert stored_events(web.services) == 1


@POSTGRES_ONLY
def test_a_client_trickling_its_headers_is_cut_off_too(web: Web) -> None:
    """Headers that never end get the same 408 once the request's deadline passes."""
    connection = socket.create_connection(("127.0.0.1", web.port))
    connection.settimeout(0.2)
    answer = b""
    try:
        for byte in b"POST /webhooks/razorpay HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: a" + b"a" * 200:
            try:
                connection.sendall(bytes([byte]))
                answer = connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
    finally:
        connection.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer


# psycopg chooses how to wait on its socket when it is imported: after gevent's patching
# (as in a web worker) that wait must yield to other greenlets, or one slow query stalls them all.
COOPERATIVE_PROBE = """
import sys
from gevent import monkey
monkey.patch_all()
import gevent
import psycopg
from psycopg import waiting

ticks = []
def tick():
    while True:
        ticks.append(1)
        gevent.sleep(0.01)

ticker = gevent.spawn(tick)
with psycopg.connect(sys.argv[1]) as connection:
    gevent.sleep(0)
    before = len(ticks)
    connection.execute("SELECT pg_sleep(1)")
    during = len(ticks) - before
ticker.kill()
print(waiting.wait.__name__, during)
"""


@pytest.mark.postgres
def test_psycopg_yields_to_other_greenlets_under_gevent() -> None:
    """Under the web worker's patching psycopg waits cooperatively: other greenlets run during a query."""
    url = sa.make_url(postgres_admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    probe = [sys.executable, "-c", COOPERATIVE_PROBE, url]
    done = subprocess.run(probe, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    wait_name, ticks = done.stdout.split()
    assert wait_name != "wait_c"
    assert int(ticks) > 10
