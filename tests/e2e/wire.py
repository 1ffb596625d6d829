"""Raw HTTP/1.1 for the hostile-wire tests: requests no well-behaved client would write, and their answers."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

CRLF = b"\r\n"


@dataclass(frozen=True)
class RawAnswer:
    """What came back on the socket: the status, and the JSON body if the app (not gunicorn) answered."""

    status: int
    body: bytes

    @property
    def refusal(self) -> dict[str, Any] | None:
        """Return the app's JSON answer, or None for gunicorn's own HTML error page."""
        try:
            answer = json.loads(self.body)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None


def request_bytes(
    path: str, headers: list[tuple[str, bytes | str]], body: bytes = b"", head: bytes = b""
) -> bytes:
    """Return a POST with exactly these header lines (nothing added), then the body as given."""
    lines = [f"POST {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close", head.rstrip(CRLF)]
    for name, value in headers:
        lines.append(
            name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1"))
        )
    return CRLF.join(line for line in lines if line) + CRLF + CRLF + body


def chunked(body: bytes, size: int = 8192) -> bytes:
    """Return the body in chunked transfer coding."""
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def send_raw(port: int, data: bytes, timeout: float = 10.0) -> RawAnswer:
    """Send the bytes, half-close, and read the first answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all; its answer is still there to read
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    head, _, body = received.partition(CRLF + CRLF)
    status_line = head.split(CRLF, 1)[0].split(b" ")
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise AssertionError(f"no HTTP answer: {received[:200]!r}")
    return RawAnswer(int(status_line[1]), body)
