"""Start and stop the processes under test, find free ports, and read their RSS and CPU time."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_SECONDS = 10.0


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    """A child started in its own process group, so that its own children stop with it."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        """Return the pid of the process itself (the gunicorn master, for a web process)."""
        return self.popen.pid

    def tree(self) -> list[int]:
        """Return this process and all its descendants."""
        return [self.pid, *descendants(self.pid)]

    def stop(self) -> None:
        """Ask the group to stop, then kill it if it has not within STOP_SECONDS."""
        if self.popen.poll() is not None:
            return
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_SECONDS)
        # Workers of a master that died first would otherwise outlive it.
        _signal_group(self.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the process's output, to explain a failure."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that every `with` block stops the processes it started."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


@dataclass
class Processes:
    """Every process a benchmark started; leaving the block stops them all, even on errors."""

    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int | None = None,
        cwd: Path | None = None,
    ) -> Process:
        """Start argv in a new session with its output in log_dir/<name>.log."""
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log_path, port)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process still running, newest first."""
        for process in reversed(self.started):
            process.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def wait_http(process: Process, path: str, timeout: float = 30.0) -> None:
    """Wait until the process answers HTTP on its port, whatever the status."""
    assert process.port is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log_tail()}")
        connection = http.client.HTTPConnection(LOOPBACK, process.port, timeout=2)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"{process.name} did not answer on port {process.port}:\n{process.log_tail()}")


def descendants(pid: int) -> list[int]:
    """Return the pids of every descendant of pid, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _stat_fields(int(entry.name))
            if parent:
                children.setdefault(int(parent[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stat_fields(pid: int) -> list[str]:
    """Return the fields of /proc/pid/stat after the command name, or [] if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name may hold spaces and parentheses; it ends at the last ')'.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pids: Sequence[int]) -> float:
    """Return the user + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """Return the CPU seconds all CPUs of the machine have been busy (steal included), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def rss_mb(pid: int) -> float | None:
    """Return VmRSS of the process in MB (10**6 bytes), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def role_of(pid: int, root: int) -> str:
    """Name a process of a tree by its command line: master, worker, or the command."""
    if pid != root:
        return "worker"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return "master" if b"gunicorn" in b" ".join(argv) else "main"
