"""A local alert sink for the tests: a small threaded HTTP server that keeps every JSON body posted to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class AlertSink:
    """What the sink received, and the statuses it answers with next (then 200)."""

    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)  # every body, taken or not
    statuses: list[int] = field(default_factory=list)  # answered to the posts, in order
    answers: list[int] = field(default_factory=list)  # queued statuses for the next posts
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Cleared: every post is held unanswered until it is set again (a sink that hangs).
    answering: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)  # set by the first post

    def __post_init__(self) -> None:
        self.answering.set()

    def taken(self) -> list[str]:
        """Return the text of every alert the sink answered 2xx to, in order."""
        with self.lock:
            return [
                body["text"] for body, status in zip(self.posts, self.statuses, strict=True) if status < 300
            ]

    def answer_next(self, *statuses: int) -> None:
        """Answer the next posts with these statuses, in order."""
        with self.lock:
            self.answers.extend(statuses)


def _handler(sink: AlertSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            sink.received.set()
            sink.answering.wait(60)
            with sink.lock:
                status = sink.answers.pop(0) if sink.answers else 200
                sink.posts.append(body)
                sink.statuses.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@contextmanager
def alert_sink() -> Iterator[AlertSink]:
    """Serve a sink on a free loopback port until the block ends; the URL carries a made-up key."""
    sink = AlertSink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/sink-key-0123"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
