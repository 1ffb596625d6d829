"""`up`: every process of a one-machine bridge, supervised together.

With no LeadSquared keys in the environment it also starts the sandbox and
points the worker at it, and fills any unset webhook secret with a demo
value it prints, and BRIDGE_ERASURE_KEY with a demo key: nothing can reach a
real LeadSquared account in that mode.
The admin process gets a made-up password and API token when none is set,
printed with the console's address.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.config.load import read_document
from bridge.config.settings import ERASURE_KEY_ENV
from bridge.sandbox import SandboxSettings
from bridge.services import ADMIN_PASSWORD_ENV, ADMIN_TOKEN_ENV, admin_address, config_path
from bridge.sources.kind import SourceKind
from bridge.sources.registry import SourceRegistry
from bridge.sources.senders import demo_secret

EXAMPLE_CONFIG = "bridge.example.toml"
# Sandbox mode's erasure key: the same every run, so an erasure finds what earlier runs recorded.
DEMO_ERASURE_KEY = "demo-erasure-key-not-for-production"


def run_everything(environ: Mapping[str, str], registry: SourceRegistry, port: int, sandbox_port: int) -> int:
    """Start migrate, then sandbox (if needed), web, admin and worker; stop all when one stops.

    The children get a copy of environ, with the sandbox's keys and demo
    secrets added in sandbox mode, and the admin process's credentials.
    """
    environ = dict(environ)
    if not Path(config_path(environ)).exists() and "BRIDGE_CONFIG" not in environ:
        shutil.copyfile(EXAMPLE_CONFIG, config_path(environ))
        print(f"created {config_path(environ)} from {EXAMPLE_CONFIG}", flush=True)
    commands = {}
    if not environ.get("LSQ_ACCESS_KEY"):
        commands["sandbox"] = [sys.executable, "-m", "bridge", "sandbox", "--port", str(sandbox_port)]
        _use_sandbox(environ, registry, sandbox_port)
    subprocess.run([sys.executable, "-m", "bridge", "migrate"], env=environ, check=True)
    environ["PORT"] = str(port)
    commands["web"] = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bridge:create_app()"]
    commands["admin"] = admin_command(environ)
    commands["worker"] = [sys.executable, "-m", "bridge", "worker"]
    announce_console(environ)
    return _supervise(commands, environ)


def admin_command(environ: Mapping[str, str]) -> list[str]:
    """Return the admin process's command: the Procfile's admin line, bound to ADMIN_BIND:ADMIN_PORT."""
    host, port = admin_address(environ)
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    return [*gunicorn, "--bind", f"{host}:{port}", "--workers", "2", "bridge:create_admin_app()"]


def announce_console(environ: dict[str, str]) -> None:
    """Make up the admin password and token where unset, and print where the console is."""
    host, port = admin_address(environ)
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    lines = [f"The console: http://{shown}:{port}  (the API: http://{shown}:{port}/api/)"]
    for variable, what in ((ADMIN_PASSWORD_ENV, "password"), (ADMIN_TOKEN_ENV, "API token")):
        if environ.get(variable):
            lines.append(f"{what}: the value of {variable}")
        else:
            environ[variable] = secrets.token_urlsafe(24)
            lines.append(f"{what}: {environ[variable]}  ({variable} is unset: made up for this run)")
    print("\n".join(["=" * 72, *lines, "=" * 72]), flush=True)


def _use_sandbox(environ: dict[str, str], registry: SourceRegistry, sandbox_port: int) -> None:
    sandbox = SandboxSettings()
    environ.update(
        LSQ_HOST=f"http://127.0.0.1:{sandbox_port}",
        LSQ_ACCESS_KEY=sandbox.access_key,
        LSQ_SECRET_KEY=sandbox.secret_key,
    )
    lines = [
        "NO LEADSQUARED KEYS ARE SET (LSQ_ACCESS_KEY): running against the built-in SANDBOX.",
        f"Activities go to http://127.0.0.1:{sandbox_port}, not to LeadSquared;",
        f"see what it received at http://127.0.0.1:{sandbox_port}/sandbox/received",
    ]
    document = read_document(Path(config_path(environ)))
    key_env = document.get("retention", {}).get("erasure_key_env", ERASURE_KEY_ENV)
    if not environ.get(key_env):
        environ[key_env] = DEMO_ERASURE_KEY
        lines.append(f"{key_env} is unset: using the demo key '{DEMO_ERASURE_KEY}'")
    for name, source in document.get("sources", {}).items():
        variable = source.get("secret_env")
        if variable and not environ.get(variable) and source.get("enabled", True):
            environ[variable] = demo_secret(name, _configured_kind(source, registry))
            lines.append(f"{variable} is unset: using the demo secret '{environ[variable]}'")
        for secret, named in source.get("secret_envs", {}).items():
            if not environ.get(named) and source.get("enabled", True):
                environ[named] = f"demo-{name}-{secret}".replace("_", "-")
                lines.append(f"{named} is unset: using the demo {secret} '{environ[named]}'")
    width = max(len(line) for line in lines) + 4
    print(
        "\n".join(["!" * width, *[f"! {line.ljust(width - 4)} !" for line in lines], "!" * width]), flush=True
    )


def _configured_kind(source: dict[str, Any], registry: SourceRegistry) -> SourceKind | None:
    """Return the source's kind as configured, or None where the file is wrong (start-up says why)."""
    kind = registry.get(str(source.get("kind")))
    try:
        return kind.configured(source.get("scheme", {})) if kind else None
    except ValueError:
        return None


def _supervise(commands: dict[str, list[str]], environ: dict[str, str]) -> int:
    children = {name: subprocess.Popen(argv, env=environ) for name, argv in commands.items()}
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exited = None
    while not stopping and exited is None:
        time.sleep(0.2)
        exited = next((name for name, child in children.items() if child.poll() is not None), None)
    if exited:
        print(f"{exited} exited with status {children[exited].returncode}: stopping the rest", flush=True)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 1 if exited else 0
