"""Start the bridge's processes as the Procfile does, and the minimal receivers beside them."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import minimal_receiver
from bench.procs import LOOPBACK, Process, Processes, free_port, wait_http
from bridge.sandbox import SandboxSettings

REPO = Path(__file__).resolve().parent.parent
GUNICORN_CONF = REPO / "gunicorn.conf.py"
WEBHOOK_SECRET = "bench-webhook-secret"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# gunicorn.conf.py's switch between its gevent worker (the default) and the former gthread model.
WORKER_CLASS_ENV = "WEB_WORKER_CLASS"
# Variables of the bridge this benchmark sets itself; inherited values would change what is measured.
_OWN_PREFIXES = (
    "BRIDGE_",
    "ADMIN_",
    "DATABASE_URL",
    "LSQ_",
    "RAZORPAY_",
    "MINIMAL_",
    "PORT",
    WORKER_CLASS_ENV,
)


@dataclass(frozen=True)
class Sandbox:
    """The LeadSquared sandbox, as a separate process."""

    process: Process

    @property
    def url(self) -> str:
        """Return the sandbox's base URL."""
        return f"http://{LOOPBACK}:{self.process.port}"


@dataclass(frozen=True)
class GunicornSettings:
    """The server model gunicorn.conf.py gives every server a benchmark starts."""

    workers: int
    worker_class: str
    threads: int
    worker_connections: int

    def describe(self) -> str:
        """Return the model in a few words, e.g. '2 workers x 1 thread (gthread)'."""
        if self.worker_class == "gthread":
            return f"{self.workers} workers x {self.threads} threads (gthread)"
        name = self.worker_class.rsplit(".", 1)[-1]
        return f"{self.workers} workers x {self.worker_connections} connections ({name}, gevent)"


def gunicorn_settings(worker_class: str | None = None) -> GunicornSettings:
    """Return the settings gunicorn.conf.py computes from this environment (and this worker class)."""
    saved = os.environ.get(WORKER_CLASS_ENV)
    if worker_class:
        os.environ[WORKER_CLASS_ENV] = worker_class
    try:
        settings = runpy.run_path(str(GUNICORN_CONF))
    finally:
        if saved is None:
            os.environ.pop(WORKER_CLASS_ENV, None)
        else:
            os.environ[WORKER_CLASS_ENV] = saved
    return GunicornSettings(
        int(settings["workers"]),
        str(settings["worker_class"]),
        int(settings["threads"]),
        int(settings.get("worker_connections", 1000)),
    )


def server_env(worker_class: str | None) -> dict[str, str]:
    """Return the variables that pick gunicorn.conf.py's worker class; none for its default."""
    return {WORKER_CLASS_ENV: worker_class} if worker_class else {}


def base_env() -> dict[str, str]:
    """Return this environment without the variables the benchmark sets per process."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}


def bridge_env(workdir: Path, database_url: str, sandbox_url: str) -> dict[str, str]:
    """Return the environment of the bridge's web and worker processes."""
    config = workdir / "bridge.toml"
    if not config.exists():
        shutil.copyfile(REPO / "bridge.example.toml", config)
    keys = SandboxSettings()
    return {
        **base_env(),
        "BRIDGE_CONFIG": str(config),
        "DATABASE_URL": database_url,
        "RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BRIDGE_ERASURE_KEY": "bench-erasure-key-0123456789abcdef",
        "LSQ_HOST": sandbox_url,
        "LSQ_ACCESS_KEY": keys.access_key,
        "LSQ_SECRET_KEY": keys.secret_key,
    }


def start_sandbox(
    procs: Processes, latency: float, calls_per_window: int, window: float, extra: Sequence[str] = ()
) -> Sandbox:
    """Start `python -m bridge sandbox` on a free port, with extra flags (faults), and wait for it."""
    port = free_port()
    argv = [sys.executable, "-m", "bridge", "sandbox", "--port", str(port), "--latency", str(latency)]
    argv += ["--calls-per-window", str(calls_per_window), "--window-seconds", str(window), *extra]
    process = procs.start("sandbox", argv, base_env(), port, cwd=REPO)
    wait_http(process, "/sandbox/health")
    return Sandbox(process)


def migrate(env: dict[str, str]) -> None:
    """Run the Procfile's release step."""
    command = [sys.executable, "-m", "bridge", "migrate"]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout}{done.stderr}")


def start_gunicorn(
    procs: Processes, name: str, app: str, env: dict[str, str], port: int | None = None
) -> Process:
    """Start gunicorn with gunicorn.conf.py as is; only the bind is moved to loopback (a free port)."""
    port = port or free_port()
    # The config binds 0.0.0.0:$PORT; the command line wins over it, and nothing else is overridden.
    argv = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"{LOOPBACK}:{port}", app]
    process = procs.start(name, argv, {**env, "PORT": str(port)}, port, cwd=REPO)
    wait_http(process, "/")
    return process


def start_bridge_web(procs: Processes, name: str, env: dict[str, str], port: int | None = None) -> Process:
    """Migrate, then start the Procfile's web process (on a given port, to restart one)."""
    migrate(env)
    return start_gunicorn(procs, name, "bridge:create_app()", env, port)


def procfile_command(name: str) -> str:
    """Return the command the Procfile gives one of its processes."""
    for line in (REPO / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise RuntimeError(f"the Procfile has no {name} process")


def start_admin(procs: Processes, env: dict[str, str], name: str = "admin") -> Process:
    """Start the Procfile's admin process (console and API) through a shell, on a free loopback port.

    env must hold BRIDGE_ADMIN_PASSWORD (and BRIDGE_ADMIN_TOKEN for the API).
    """
    port = free_port()
    # The Procfile names gunicorn bare: this interpreter's scripts come first on the PATH.
    path = f"{Path(sys.executable).parent}:{env.get('PATH', os.defpath)}"
    admin_env = {**env, "PATH": path, "ADMIN_BIND": LOOPBACK, "ADMIN_PORT": str(port)}
    # exec: the shell becomes gunicorn's master, so stopping the process stops gunicorn.
    argv = ["sh", "-c", f"exec {procfile_command('admin')}"]
    process = procs.start(name, argv, admin_env, port, cwd=REPO)
    wait_http(process, "/healthz")
    return process


def start_worker(procs: Processes, env: dict[str, str], name: str = "worker") -> Process:
    """Start the Procfile's worker process, its metrics server on a free port unless env names one."""
    # Several workers on this machine would otherwise all ask for 9101, and all but one log an error.
    env = {"WORKER_METRICS_PORT": str(free_port()), **env}
    return procs.start(name, [sys.executable, "-m", "bridge", "worker"], env, cwd=REPO)


def start_minimal(
    procs: Processes, name: str, database: str, flavour: str, worker_class: str | None = None
) -> Process:
    """Start the minimal receiver ('flask' or 'wsgi') under the same gunicorn settings."""
    minimal_receiver.create_schema(database)
    env = {**base_env(), "RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET, "MINIMAL_DATABASE": database}
    env.update(server_env(worker_class))
    factory = "create_app()" if flavour == "flask" else "create_wsgi_app()"
    return start_gunicorn(procs, name, f"bench.minimal_receiver:{factory}", env)


@contextmanager
def postgres_databases(count: int) -> Iterator[list[str]]:
    """Create `count` fresh PostgreSQL databases on loopback; drop them afterwards."""
    import psycopg

    names = [f"lsq_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
