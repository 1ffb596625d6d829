"""Run the sandbox on a local port, in a background thread or in the foreground."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.settings import SandboxSettings

logger = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Serve requests without werkzeug's per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log: one line per call would slow a benchmark down."""


class SandboxServer:
    """A sandbox serving in a background thread until stop() is called."""

    def __init__(self, server: BaseWSGIServer, host: str, settings: SandboxSettings) -> None:
        self.settings = settings
        self.port: int = server.server_port
        self.url = f"http://{url_host(host)}:{self.port}"
        self._server = server
        # A short poll interval keeps stop() quick; tests start and stop many sandboxes.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"lsq-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def url_host(host: str) -> str:
    """Bracket an IPv6 address so it fits in a URL."""
    return f"[{host}]" if ":" in host else host


def build_server(settings: SandboxSettings, host: str, port: int) -> BaseWSGIServer:
    """Bind a threaded WSGI server, so slow answers do not queue behind each other."""
    app = create_sandbox_app(settings)
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


def start_sandbox(settings: SandboxSettings, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Start a sandbox in a background thread; port 0 picks a free port."""
    return SandboxServer(build_server(settings, host, port), host, settings)


def serve_forever(settings: SandboxSettings, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve a sandbox in the foreground until interrupted."""
    server = build_server(settings, host, port)
    url = f"http://{url_host(host)}:{server.server_port}"
    # The access key is a fake the caller must configure; the secret is never logged.
    logger.info(
        "LeadSquared sandbox listening on %s; expects access key %s",
        url,
        settings.access_key,
        extra={"action": "sandbox_listening", "url": url},
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        # Ctrl-C is how a human stops a foreground sandbox, not an error.
        logger.info("LeadSquared sandbox stopped", extra={"action": "sandbox_stopped"})
    finally:
        server.server_close()
