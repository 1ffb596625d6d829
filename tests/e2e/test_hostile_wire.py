"""Hostile requests on the wire, against gunicorn as the Procfile runs it, under gthread and gevent.

Some answers come from gunicorn before the app sees anything (a malformed
request line, a header past its limits, Content-Length with
Transfer-Encoding): those are gunicorn's HTML pages, and must be 4xx. The
rest are the app's JSON refusals. Nothing refused is stored.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bridge.store.engine import make_engine
from bridge.store.migrate import upgrade_to_head
from bridge.store.tables import events
from tests.conftest import bridge_environ, write_config
from tests.e2e.test_processes import free_port, start, wait_until
from tests.e2e.wire import chunked, request_bytes, send_raw
from tests.support import body_of, payment_event, razorpay_headers

# One xdist worker starts each gunicorn once (the module-scoped fixture) for all of its requests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile_wire")]

PATH = "/webhooks/razorpay"
LIMIT = 65536  # TEST_CONFIG's max_body_bytes
WORKER_CLASSES = [
    "gthread",
    pytest.param(
        "gevent",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("gevent") is None, reason="gevent is not installed"
        ),
    ),
]


@dataclass(frozen=True)
class Gunicorn:
    """A running gunicorn: its port and the database it stores into."""

    port: int
    database_url: str

    def stored(self) -> list[str]:
        """Return the idempotency keys of every stored event."""
        engine = sa.create_engine(self.database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.select(events.c.idempotency_key)).scalars())
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=WORKER_CLASSES)
def gunicorn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """Gunicorn from gunicorn.conf.py with the given worker class, on a fresh SQLite file."""
    tmp_path: Path = tmp_path_factory.mktemp(f"wire-{request.param}")
    database_url = f"sqlite:///{tmp_path}/bridge.db"
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    engine.dispose()
    port = free_port()
    environ = bridge_environ(database_url, None, BRIDGE_CONFIG=str(write_config(tmp_path)), PORT=str(port))
    environ.update(LSQ_HOST="http://127.0.0.1:9", LSQ_ACCESS_KEY="unused", LSQ_SECRET_KEY="unused")
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "-k",
        request.param,
        "bridge:create_app()",
    ]
    process = start(argv, environ, tmp_path / "web.log")
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: requests.get(url, timeout=1).ok, 30, "gunicorn start-up")
        yield Gunicorn(port, database_url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def signed(body: bytes, event_id: str, **replaced: bytes | str) -> list[tuple[str, bytes | str]]:
    """Return a signed Razorpay delivery's header lines, some replaced (None-free, repeats allowed)."""
    lines: list[tuple[str, bytes | str]] = list(razorpay_headers(body, event_id).items())
    names = {name.replace("_", "-").lower() for name in replaced}
    lines = [(name, value) for name, value in lines if name.lower() not in names]
    lines += [(name.replace("_", "-"), value) for name, value in replaced.items()]
    return lines


def with_length(lines: list[tuple[str, bytes | str]], length: int | str) -> list[tuple[str, bytes | str]]:
    """Return the header lines with a Content-Length line."""
    return [*lines, ("Content-Length", str(length))]


BODY = body_of(payment_event("pay_wire", "opp-1"))
BIG = b'{"a": "' + b"x" * LIMIT + b'"}'
SIGNATURE = razorpay_headers(BODY, None)["X-Razorpay-Signature"]

# (case, raw request, status, the app's error code or None for a gunicorn page, stored key or None)
CASES: list[tuple[str, bytes, int, str | None, str | None]] = [
    (
        "chunked within the cap",
        request_bytes(
            PATH, [*signed(BODY, "evt_chunked"), ("Transfer-Encoding", "chunked")], chunked(BODY, 100)
        ),
        202,
        None,
        "evt_chunked",
    ),
    (
        "chunked over the cap",
        request_bytes(PATH, [*signed(BIG, "evt_big"), ("Transfer-Encoding", "chunked")], chunked(BIG)),
        413,
        "too_large",
        None,
    ),
    (
        "shorter than Content-Length, then half-closed",
        request_bytes(PATH, with_length(signed(BODY, "evt_short"), len(BODY) + 10), BODY),
        400,
        "incomplete_body",
        None,
    ),
    (
        "longer than Content-Length",
        request_bytes(PATH, with_length(signed(BODY, "evt_long"), len(BODY) - 10), BODY),
        401,
        "bad_signature",
        None,
    ),
    (
        "Content-Length over the cap",
        request_bytes(PATH, with_length(signed(BODY, "evt_cl"), LIMIT + 1), BODY),
        413,
        "too_large",
        None,
    ),
    (
        "deep nesting",
        request_bytes(PATH, with_length(signed(b"[" * 5000, "evt_deep"), 5000), b"[" * 5000),
        400,
        "bad_json",
        None,
    ),
    (
        "Content-Length and Transfer-Encoding",
        request_bytes(
            PATH,
            [*with_length(signed(BODY, "evt_both"), len(BODY)), ("Transfer-Encoding", "chunked")],
            chunked(BODY),
        ),
        400,
        None,
        None,
    ),
    (
        "invalid Content-Length",
        request_bytes(PATH, with_length(signed(BODY, "evt_x"), "12abc"), BODY),
        400,
        None,
        None,
    ),
    (
        "negative Content-Length",
        request_bytes(PATH, with_length(signed(BODY, "evt_x"), -1), BODY),
        400,
        None,
        None,
    ),
    (
        "two Content-Lengths",
        request_bytes(PATH, with_length(with_length(signed(BODY, "evt_x"), len(BODY)), 5), BODY),
        400,
        None,
        None,
    ),
    (
        "unknown Transfer-Encoding",
        request_bytes(PATH, [*signed(BODY, "evt_x"), ("Transfer-Encoding", "gzip")], BODY),
        400,
        None,
        None,
    ),
    (
        "bad chunk size",
        request_bytes(
            PATH, [*signed(BODY, "evt_x"), ("Transfer-Encoding", "chunked")], b"zz\r\nabc\r\n0\r\n\r\n"
        ),
        400,
        "malformed_body",
        None,
    ),
    (
        "chunked, cut off mid-chunk, then half-closed",
        request_bytes(
            PATH, [*signed(BODY, "evt_cut"), ("Transfer-Encoding", "chunked")], chunked(BODY)[:-40]
        ),
        400,
        "incomplete_body",
        None,
    ),
    (
        "two signature headers",
        request_bytes(
            PATH,
            with_length([*signed(BODY, "evt_two_sigs"), ("X-Razorpay-Signature", SIGNATURE)], len(BODY)),
            BODY,
        ),
        401,
        "bad_signature",
        None,
    ),
    (
        "two Content-Types",
        request_bytes(
            PATH, with_length([*signed(BODY, "evt_x"), ("Content-Type", "text/plain")], len(BODY)), BODY
        ),
        400,
        None,
        None,
    ),
    (
        "empty signature",
        request_bytes(PATH, with_length(signed(BODY, "evt_x", X_Razorpay_Signature=""), len(BODY)), BODY),
        401,
        "missing_signature",
        None,
    ),
    (
        "non-ASCII signature",
        request_bytes(
            PATH, with_length(signed(BODY, "evt_x", X_Razorpay_Signature=b"\xe9" * 64), len(BODY)), BODY
        ),
        401,
        "bad_signature",
        None,
    ),
    (
        "non-ASCII event id",
        request_bytes(
            PATH, with_length(signed(BODY, "x", x_razorpay_event_id="évt".encode()), len(BODY)), BODY
        ),
        202,
        None,
        "évt".encode().decode("latin-1"),
    ),
    (
        "NUL in a header",
        request_bytes(PATH, with_length([*signed(BODY, "evt_x"), ("X-N", b"a\x00b")], len(BODY)), BODY),
        400,
        None,
        None,
    ),
    (
        "folded header",
        request_bytes(PATH, with_length([*signed(BODY, "evt_x"), ("X-F", b"a\r\n b")], len(BODY)), BODY),
        400,
        None,
        None,
    ),
    (
        "space before a colon",
        request_bytes(PATH, with_length(signed(BODY, "evt_x"), len(BODY)), BODY, head=b"X-A : b"),
        400,
        None,
        None,
    ),
    (
        "a 9000-byte header",
        request_bytes(PATH, with_length([*signed(BODY, "evt_x"), ("X-Big", "a" * 9000)], len(BODY)), BODY),
        431,
        None,
        None,
    ),
    (
        "120 headers",
        request_bytes(
            PATH,
            with_length([*signed(BODY, "evt_x"), *[(f"X-H{n}", "a") for n in range(120)]], len(BODY)),
            BODY,
        ),
        431,
        None,
        None,
    ),
    ("malformed request line", b"GARBAGE\r\n\r\n", 400, None, None),
    ("request line without a version", b"POST /webhooks/razorpay\r\n\r\n", 400, None, None),
    ("unknown HTTP version", b"POST /webhooks/razorpay HTTP/9.9\r\nHost: x\r\n\r\n", 400, None, None),
    ("a 5000-byte URL", b"POST /webhooks/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, None, None),
]


@pytest.mark.parametrize(
    ("data", "status", "error", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_hostile_request_gets_its_4xx_or_is_accepted(
    gunicorn: Gunicorn, data: bytes, status: int, error: str | None, key: str | None
) -> None:
    """Each case gets its status, from the app (with its code) or from gunicorn; only good ones stored."""
    before = gunicorn.stored()
    answer = send_raw(gunicorn.port, data)
    assert answer.status == status, answer.body[:300]
    if error is None:
        assert answer.refusal is None or answer.refusal.get("status") == "accepted"
    else:
        assert answer.refusal is not None and answer.refusal["error"] == error, answer.body[:300]
    after = gunicorn.stored()
    assert after == before + ([key] if key else [])
