"""The worker's own small HTTP server: /metrics, /healthz and /readyz, from a thread of its own.

The worker is one process with no web app, so Prometheus and an orchestrator
reach it here, on WORKER_METRICS_BIND:WORKER_METRICS_PORT (127.0.0.1:9101 by
default, bridge/services.py). Each request is answered in a thread of its
own and never touches a delivery thread's store connection: readiness probes
the store through an engine of its own.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from bridge.monitor.exposition import CONTENT_TYPE, render
from bridge.store.probe import store_accepts_write

log = logging.getLogger(__name__)
# Says why the worker is not ready, or None when it is.
Readiness = Callable[[], str | None]
READY_WRITE_TIMEOUT_SECONDS = 2.0


def worker_readiness(heartbeat_fresh: Callable[[], bool], engine: sa.Engine) -> Readiness:
    """Return the worker's readiness: its heartbeat recent enough to claim, and the store taking a write."""

    def check() -> str | None:
        if not heartbeat_fresh():
            return "the worker's heartbeat is not recent: it claims nothing until one is written"
        problem = store_accepts_write(engine, READY_WRITE_TIMEOUT_SECONDS)
        if problem is not None:
            log.warning(f"not ready: the store refused a write: {problem}", extra={"action": "readyz"})
            return f"the database did not take a write within {READY_WRITE_TIMEOUT_SECONDS:g} s"
        return None

    return check


class WorkerMonitor:
    """Serves the worker's metrics and health until stopped."""

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry, readiness: Readiness) -> None:
        self.address = address
        self.registry = registry
        self.readiness = readiness
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        """Return the port it listens on (the one picked, for port 0), or None when not serving."""
        return None if self.server is None else int(self.server.server_address[1])

    def start(self) -> bool:
        """Listen and serve in a daemon thread; False (logged) when the address cannot be bound."""
        try:
            self.server = ThreadingHTTPServer(self.address, _handler(self.registry, self.readiness))
        except OSError as error:
            host, port = self.address
            log.error(
                f"cannot serve /metrics and /readyz on {host}:{port} ({error.strerror}): the worker runs "
                "without them; give each worker on a machine its own WORKER_METRICS_PORT",
                extra={"action": "metrics"},
            )
            return False
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="monitor", daemon=True)
        self.thread.start()
        log.info(f"serving /metrics, /healthz and /readyz on port {self.port}", extra={"action": "metrics"})
        return True

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _handler(registry: CollectorRegistry, readiness: Readiness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Answers the three paths; anything else is 404."""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, render(registry), CONTENT_TYPE)
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                problem = readiness()
                if problem is None:
                    self._json(200, {"status": "ready"})
                else:
                    self._json(503, {"status": "unavailable", "message": problem})
            else:
                self._json(404, {"status": "rejected", "error": "not_found", "message": "no such page"})

        def _json(self, status: int, body: dict[str, str]) -> None:
            self._answer(status, json.dumps(body).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet: a scrape every few seconds is no news."""

    return Handler
