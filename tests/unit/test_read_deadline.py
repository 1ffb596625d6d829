"""The web worker's read deadline: one total deadline per request, armed by its first byte."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import IterUnreader

from bridge.web import server
from bridge.web.server import (
    DeadlineSocket,
    RequestTimedOut,
    body_left_unread,
    read_timeout_of,
    timeout_answer,
)


@dataclass
class FakeSocket:
    """A connected socket that has these chunks to read, then end of stream."""

    chunks: list[bytes]
    sent: io.BytesIO = field(default_factory=io.BytesIO)

    def recv(self, size: int) -> bytes:
        """Return the next chunk."""
        return self.chunks.pop(0) if self.chunks else b""

    def fileno(self) -> int:
        """Return a made-up descriptor number."""
        return 42


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Replace the worker's clock with one the test moves."""
    fake = Clock()
    monkeypatch.setattr(server, "monotonic", fake)
    return fake


def test_the_first_byte_arms_the_deadline_and_later_reads_share_it(clock: Clock) -> None:
    """A trickle that keeps each read short is still cut off when the request's total time is up."""
    sock = DeadlineSocket(FakeSocket([b"P", b"O", b"S"]), read_timeout=10, idle_seconds=0)
    assert sock.recv(8192) == b"P"
    assert sock.deadline == 1010.0
    clock.now += 9
    assert sock.recv(8192) == b"O"
    clock.now += 1
    with pytest.raises(RequestTimedOut):
        sock.recv(8192)


def test_disarming_starts_the_next_request_afresh(clock: Clock) -> None:
    """After an answer the deadline is off; the next request's first byte arms a new one."""
    sock = DeadlineSocket(FakeSocket([b"GET", b"POST"]), read_timeout=10, idle_seconds=0)
    sock.recv(8192)
    sock.disarm()
    assert sock.deadline is None
    clock.now += 60
    assert sock.recv(8192) == b"POST"
    assert sock.deadline == 1070.0


def test_the_wrapper_passes_everything_else_to_the_socket() -> None:
    """Writes, closes and the rest reach the real socket."""
    assert DeadlineSocket(FakeSocket([]), read_timeout=10, idle_seconds=0).fileno() == 42


def test_the_408_is_json_that_says_what_to_fix() -> None:
    """The answer to a cut-off request is a complete HTTP response with the bridge's JSON refusal."""
    raw = timeout_answer(10)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    answer = json.loads(body)
    assert answer["status"] == "rejected" and answer["error"] == "request_timeout"
    assert "10 s" in answer["message"]


def test_a_body_left_unread_is_noticed() -> None:
    """A request answered before its body was read is told apart from one read to the end."""
    unread = SimpleNamespace(body=Body(LengthReader(IterUnreader([b"{}"]), 2)))
    assert body_left_unread(unread)
    unread.body.read()
    assert not body_left_unread(unread)
    assert not body_left_unread(SimpleNamespace(body=None))


def test_the_read_timeout_comes_from_the_bridge_app_or_defaults() -> None:
    """The bridge's settings give the timeout; another WSGI app (the bench's yardstick) gets 10 s."""
    settings = SimpleNamespace(read_timeout_seconds=1.5)
    bridge_app = SimpleNamespace(extensions={"bridge": SimpleNamespace(settings=settings)})
    assert read_timeout_of(bridge_app) == 1.5
    assert read_timeout_of(lambda environ, start_response: []) == 10
