"""Hostile bodies and headers against the Procfile's gunicorn: what each gets, how fast, and if it is stored.

    .venv/bin/python -m bench.hostile              # SQLite
    .venv/bin/python -m bench.hostile --postgres   # SQLite, then PostgreSQL

Each case is sent as raw bytes on its own connection (then half-closed), so
requests no client library would write reach the server as written. The
table goes into README.md between the hostile markers.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.checkout import README, write_section
from bench.procs import LOOPBACK, Processes, stop_on_sigterm
from bench.stack import WEBHOOK_SECRET, bridge_env, postgres_databases, start_bridge_web
from bridge.store.tables import events
from transforms import razorpay

START, END = "<!-- hostile:start -->", "<!-- hostile:end -->"
PATH = "/webhooks/razorpay"
LIMIT = 1048576  # bridge.example.toml's max_body_bytes
CRLF = b"\r\n"
Header = tuple[str, bytes | str]


def signed(body: bytes, event_id: str, *extra: Header, sign_over: bytes | None = None) -> list[Header]:
    """Return a Razorpay delivery's header lines, signed over the body (or other bytes), then extra."""
    signature = razorpay.SOURCE.signature.sign(
        body if sign_over is None else sign_over, WEBHOOK_SECRET, time.time()
    )
    return [
        ("Content-Type", "application/json"),
        *signature.items(),
        ("x-razorpay-event-id", event_id),
        *extra,
    ]


def post(headers: Sequence[Header], body: bytes, length: int | str | None = -1, head: bytes = b"") -> bytes:
    """Return a raw POST: these header lines, a Content-Length (the body's unless given; None for none)."""
    lines = [f"POST {PATH} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    for name, value in headers:
        lines.append(
            name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1"))
        )
    if length is not None:
        lines.append(b"Content-Length: " + str(len(body) if length == -1 else length).encode())
    if head:
        lines.append(head)
    return CRLF.join(lines) + CRLF + CRLF + body


def chunked(body: bytes, size: int = 8192) -> bytes:
    """Return the body in chunked transfer coding."""
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def payment(event_id: str) -> bytes:
    """Return a captured-payment body."""
    return (
        b'{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_'
        + event_id.encode()
        + b'","amount":150000,"currency":"INR","method":"upi","notes":{"opportunity_id":"opp-1"}}}}}'
    )


def signed_body(name: str, body: bytes) -> tuple[str, Callable[[], bytes]]:
    """Return a case: the body correctly signed, with a Content-Length."""
    return name, lambda: post(signed(body, f"evt_{abs(hash(name))}"), body)


GOOD = payment("good")
CHUNKED = payment("chunked")
BIG = b'{"a":"' + b"x" * LIMIT + b'"}'
TE: Header = ("Transfer-Encoding", "chunked")

# Each case builds its request when sent, so signatures are fresh.
CASES: list[tuple[str, Callable[[], bytes]]] = [
    ("a good delivery", lambda: post(signed(GOOD, "evt_good"), GOOD)),
    (
        "UTF-8 BOM before the JSON",
        lambda: post(signed(b"\xef\xbb\xbf" + GOOD, "evt_bom"), b"\xef\xbb\xbf" + GOOD),
    ),
    signed_body("5000 x [", b"[" * 5000),
    signed_body('5000 x {"a":', b'{"a":' * 5000),
    signed_body("NaN", b'{"amount": NaN}'),
    signed_body("Infinity", b'{"amount": Infinity}'),
    signed_body("-Infinity", b'{"amount": -Infinity}'),
    signed_body("repeated key", b'{"event": "a", "event": "b"}'),
    signed_body("5000-digit integer", b'{"amount": ' + b"9" * 5000 + b"}"),
    signed_body("1e999", b'{"amount": 1e999}'),
    signed_body("invalid UTF-8", b'{"event": "\xff"}'),
    signed_body("NUL in a string", b'{"event": "a\\u0000"}'),
    signed_body("lone surrogate", b'{"event": "\\ud800"}'),
    signed_body("array", b"[1, 2]"),
    signed_body("string", b'"payment"'),
    signed_body("number", b"42"),
    signed_body("null", b"null"),
    signed_body("empty body", b""),
    signed_body("event type of 300 characters", b'{"event": "' + b"e" * 300 + b'"}'),
    ("chunked, within the cap", lambda: post(signed(CHUNKED, "evt_chunked", TE), chunked(CHUNKED, 50), None)),
    ("chunked, over the cap", lambda: post(signed(BIG, "evt_big", TE), chunked(BIG), None)),
    ("chunked, bad chunk size", lambda: post(signed(GOOD, "evt_c1", TE), b"zz\r\nabc\r\n0\r\n\r\n", None)),
    ("chunked, cut off, half-closed", lambda: post(signed(GOOD, "evt_c2", TE), chunked(GOOD)[:-40], None)),
    ("Content-Length over the cap", lambda: post(signed(GOOD, "evt_cl"), GOOD, LIMIT + 1)),
    (
        "shorter than Content-Length, half-closed",
        lambda: post(signed(GOOD, "evt_short"), GOOD, len(GOOD) + 10),
    ),
    ("longer than Content-Length", lambda: post(signed(GOOD, "evt_long"), GOOD, len(GOOD) - 10)),
    ("Content-Length and Transfer-Encoding", lambda: post(signed(GOOD, "evt_te", TE), chunked(GOOD))),
    ("invalid Content-Length", lambda: post(signed(GOOD, "evt_x"), GOOD, "12abc")),
    ("two Content-Lengths", lambda: post(signed(GOOD, "evt_x", ("Content-Length", "5")), GOOD)),
    (
        "two signature headers",
        lambda: post(
            signed(GOOD, "evt_x", *razorpay.SOURCE.signature.sign(GOOD, WEBHOOK_SECRET, 0).items()), GOOD
        ),
    ),
    ("two Content-Types", lambda: post(signed(GOOD, "evt_x", ("Content-Type", "text/plain")), GOOD)),
    (
        "empty signature",
        lambda: post([("Content-Type", "application/json"), ("X-Razorpay-Signature", "")], GOOD),
    ),
    (
        "non-ASCII signature",
        lambda: post([("Content-Type", "application/json"), ("X-Razorpay-Signature", b"\xe9" * 64)], GOOD),
    ),
    (
        "non-ASCII event id",
        lambda: post([*signed(GOOD, "x")[:-1], ("x-razorpay-event-id", "évt".encode())], GOOD),
    ),
    ("NUL in a header", lambda: post(signed(GOOD, "evt_x", ("X-N", b"a\x00b")), GOOD)),
    ("folded header", lambda: post(signed(GOOD, "evt_x"), GOOD, head=b"X-F: a\r\n b")),
    ("a 9000-byte header", lambda: post(signed(GOOD, "evt_x", ("X-Big", "a" * 9000)), GOOD)),
    ("120 headers", lambda: post(signed(GOOD, "evt_x", *[(f"X-H{n}", "a") for n in range(120)]), GOOD)),
    ("malformed request line", lambda: b"GARBAGE\r\n\r\n"),
    ("unknown HTTP version", lambda: b"POST /webhooks/razorpay HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("a 5000-byte URL", lambda: b"POST /webhooks/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
]


@dataclass(frozen=True)
class Row:
    """One case's outcome."""

    case: str
    status: int
    error: str
    milliseconds: float
    stored: bool


def send_raw(port: int, data: bytes) -> tuple[bytes, float]:
    """Send the bytes, half-close, read until the server closes; return the answer and seconds taken."""
    started = time.perf_counter()
    with socket.create_connection((LOOPBACK, port), timeout=30) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received, time.perf_counter() - started


def error_of(answer: bytes) -> str:
    """Return the app's error code, or say that gunicorn answered with its own page."""
    body = answer.partition(CRLF + CRLF)[2]
    if body.startswith(b"{"):
        marker = b'"error":"'
        if marker in body:
            return body.split(marker, 1)[1].split(b'"', 1)[0].decode()
        return "(accepted)" if b'"accepted"' in body else "(duplicate)"
    return "(gunicorn's page)"


def count_events(database_url: str) -> int:
    """Return how many events the store holds."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())
    finally:
        engine.dispose()


def run_cases(port: int, database_url: str) -> list[Row]:
    """Send every case in turn and note what it got."""
    rows = []
    for name, build in CASES:
        before = count_events(database_url)
        answer, seconds = send_raw(port, build())
        status_line = answer.split(CRLF, 1)[0].split(b" ")
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
        rows.append(Row(name, status, error_of(answer), seconds * 1000, count_events(database_url) > before))
    return rows


@contextmanager
def bridge_web(workdir: Path, database_url: str) -> Iterator[int]:
    """Run the Procfile's web process on the database; yield its port."""
    with Processes(workdir) as procs:
        env = bridge_env(workdir, database_url, "http://127.0.0.1:9")
        yield start_bridge_web(procs, "bridge-web", env).port or 0


def table(results: Sequence[tuple[str, list[Row]]]) -> str:
    """Return the markdown table: one row per case, a status/stored column pair per database."""
    names = [name for name, _ in results]
    head = (
        "| Case | " + " | ".join(f"{n}: status | {n}: error | {n}: ms | {n}: stored?" for n in names) + " |"
    )
    rule = "|---|" + "--:|---|--:|---|" * len(names)
    lines = [head, rule]
    for index, (case, _) in enumerate(CASES):
        cells = []
        for _, rows in results:
            row = rows[index]
            cells += [str(row.status), row.error, f"{row.milliseconds:.1f}", "yes" if row.stored else "no"]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines)



def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases on SQLite (and PostgreSQL), print the table and write it into the README."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also run the cases on PostgreSQL")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    options = parser.parse_args(argv)
    stop_on_sigterm()
    results: list[tuple[str, list[Row]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as temp, ExitStack() as stack:
        workdir = Path(temp)
        databases = [("SQLite", f"sqlite:///{workdir}/bridge.db")]
        if options.postgres:
            databases.append(("PostgreSQL", stack.enter_context(postgres_databases(1))[0]))
        for name, url in databases:
            (workdir / name).mkdir()
            with bridge_web(workdir / name, url) as port:
                results.append((name, run_cases(port, url)))
    command = "`.venv/bin/python -m bench.hostile" + (" --postgres" if options.postgres else "") + "`"
    intro = (
        f"{command}, against gunicorn.conf.py as is, {time.strftime('%Y-%m-%d')}. ms: from connecting to the"
        " server's close, on a machine shared with other work. stored?: whether the events table grew."
    )
    text = intro + "\n\n" + table(results)
    print(text)
    if not options.no_readme:
        write_section(START, END, text)
        print(f"written into {README}, between {START} and {END}")
    worst = [row for _, rows in results for row in rows if row.status >= 500 or row.status == 0]
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
