"""The gunicorn worker of the web process: gevent, with one read deadline per request.

gunicorn's gevent worker serves each connection in a greenlet, so a client
that sends slowly holds a greenlet, not the process. It bounds the wait for
a request's headers by `keepalive`, but nothing bounds the body: a client
that sends a byte a second would hold its greenlet forever, and enough of
them would exhaust `worker_connections`. This worker gives every request
one total deadline instead, armed by the request's first byte: all of its
headers and body must arrive within `[server] read_timeout_seconds`, or the
client gets 408 and is cut off. A deadline per recv() would never trip on a
one-byte-a-second trickle. The time a connection may sit idle between
requests stays `keepalive`.

Only gunicorn.conf.py names this module, and gunicorn loads it before the
worker's monkey-patching: it must import nothing that opens sockets or
picks a wait strategy at import time (psycopg does: bridge.services is
imported later, with the app, after the patching).
"""

from __future__ import annotations

import contextlib
import json
from time import monotonic
from typing import Any

import gevent
from gunicorn import util
from gunicorn.http.body import ChunkedReader, EOFReader, LengthReader
from gunicorn.workers.ggevent import GeventWorker

from bridge.config.settings import DEFAULT_READ_TIMEOUT_SECONDS

# Bytes of an unread body (a delivery refused before its body was read) discarded
# under the request's deadline before the connection is reused; past this it closes.
DRAIN_MAX_BYTES = 64 * 1024
# How long the 408 may take to leave, and how long to linger for the client to
# take it before closing: a close with its unread bytes pending would reset the
# connection and could destroy the answer in flight.
ANSWER_SECONDS = 1.0
LINGER_SECONDS = 0.5


class RequestTimedOut(BaseException):
    """A request's headers and body did not all arrive by its deadline.

    A BaseException, like gevent's own Timeout: it must pass through the web
    app's error handlers (which would answer 500) up to the worker, which
    answers 408.
    """


class DeadlineSocket:
    """A client socket whose reads share one deadline per request.

    The first byte of a request arms the deadline; the worker disarms it once
    the answer is sent. Before that first byte the read waits at most
    `idle_seconds` (gunicorn's keepalive) and then reads as end of stream,
    which closes the connection quietly.
    """

    def __init__(self, raw: Any, read_timeout: float, idle_seconds: float) -> None:
        self.raw = raw
        self.read_timeout = read_timeout
        self.idle_seconds = idle_seconds
        self.deadline: float | None = None

    def recv(self, size: int) -> bytes:
        """Read up to size bytes, within the idle time or the request's deadline."""
        if self.deadline is None:
            data = self._recv_idle(size)
            if data:
                self.deadline = monotonic() + self.read_timeout
            return data
        remaining = self.deadline - monotonic()
        if remaining <= 0:
            raise RequestTimedOut()
        with gevent.Timeout(remaining, RequestTimedOut()):
            chunk: bytes = self.raw.recv(size)
        return chunk

    def _recv_idle(self, size: int) -> bytes:
        if self.idle_seconds <= 0:
            idle: bytes = self.raw.recv(size)
            return idle
        data: bytes = b""
        with gevent.Timeout(self.idle_seconds, False):
            data = self.raw.recv(size)
        return data

    def disarm(self) -> None:
        """End the request: the next byte read starts the next one."""
        self.deadline = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def body_left_unread(request: Any) -> bool:
    """Return whether the app answered without reading the request's body to its end."""
    reader = getattr(getattr(request, "body", None), "reader", None)
    if isinstance(reader, LengthReader):
        return bool(reader.length > 0)
    if isinstance(reader, ChunkedReader):
        return reader.parser is not None
    if isinstance(reader, EOFReader):
        return not reader.finished
    return False


def drain(request: Any) -> bool:
    """Discard the rest of an unread body; return False if it is too long to keep the connection."""
    drained = 0
    while drained < DRAIN_MAX_BYTES:
        data = request.body.read(8192)
        if not data:
            return True
        drained += len(data)
    return False


def timeout_answer(read_timeout: float) -> bytes:
    """Return the raw 408 answer, JSON like every other refusal."""
    message = (
        f"the request did not arrive in full within {read_timeout:g} s of its first byte; "
        "send the headers and the body without pauses"
    )
    body = json.dumps({"status": "rejected", "error": "request_timeout", "message": message}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def read_timeout_of(app: Any) -> float:
    """Return the read timeout of the bridge's app, or the default for another WSGI app."""
    services = getattr(app, "extensions", {}).get("bridge")
    settings = getattr(services, "settings", None)
    return float(getattr(settings, "read_timeout_seconds", DEFAULT_READ_TIMEOUT_SECONDS))


class DeadlineGeventWorker(GeventWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's gevent worker, with a total read deadline on every request."""

    read_timeout = DEFAULT_READ_TIMEOUT_SECONDS

    def load_wsgi(self) -> None:
        """Load the app, then read its read timeout."""
        super().load_wsgi()
        self.read_timeout = read_timeout_of(self.wsgi)

    def timeout_ctx(self) -> contextlib.AbstractContextManager[None]:
        """Bound nothing around the parser: DeadlineSocket bounds the idle wait and the request."""
        return contextlib.nullcontext()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        """Serve one connection through a DeadlineSocket."""
        client.setblocking(1)
        wrapped = DeadlineSocket(client, self.read_timeout, float(self.cfg.keepalive))
        # GeventWorker.handle would only set blocking mode again; go to the serving loop.
        super(GeventWorker, self).handle(listener, wrapped, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: DeadlineSocket, addr: Any) -> bool:
        """Serve one request; disarm its deadline once answered, closing if its body is left unread."""
        try:
            keep_alive = bool(super().handle_request(listener_name, req, sock, addr))
            if body_left_unread(req):
                try:
                    drained = drain(req)
                except RequestTimedOut:
                    drained = False
                if not drained:
                    # The answer is out; where the next request would start is unknown.
                    raise StopIteration()
        finally:
            sock.disarm()
        return keep_alive

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer 408 to a request cut off by its deadline; leave every other error to gunicorn."""
        if not isinstance(exc, RequestTimedOut):
            super().handle_error(req, client, addr, exc)
            return
        # Imported here, in the worker process: gunicorn's master imports this module too, before
        # gunicorn.conf.py tells prometheus_client to keep its values in files (README, Monitoring).
        from bridge.observe.metrics import WEBHOOKS

        # No source: the request line, or the headers naming it, may not have arrived.
        WEBHOOKS.labels("", "request_timeout").inc()
        raw = client.raw if isinstance(client, DeadlineSocket) else client
        shown = (addr or ("",))[0]
        self.log.warning("Request from ip=%s cut off: incomplete after %g s", shown, self.read_timeout)
        with contextlib.suppress(OSError), gevent.Timeout(ANSWER_SECONDS, False):
            raw.sendall(timeout_answer(self.read_timeout))
        util.close_graceful(raw, timeout=LINGER_SECONDS)
