"""The admin process as the Procfile runs it: gunicorn on loopback, refusing to start without a password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, bridge_environ, write_config
from tests.e2e.test_processes import free_port, wait_until

pytestmark = pytest.mark.slow

PASSWORD = "e2e-console-password"
TOKEN = "e2e-api-token"


def procfile_line(name: str) -> str:
    """Return the command of one Procfile process."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise AssertionError(f"the Procfile has no {name} process")


def start_admin(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run the Procfile's admin line through a shell, as a Procfile runner does."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    with log.open("wb") as output:
        return subprocess.Popen(
            ["sh", "-c", f"exec {procfile_line('admin')}"],
            cwd=ROOT,
            env={"PATH": path, **environ},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def admin_environ(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment of an admin process on a fresh store, on a free port."""
    config = str(write_config(tmp_path))
    return bridge_environ(database_url, None, BRIDGE_CONFIG=config, ADMIN_PORT=str(free_port()))


@pytest.fixture
def admin(tmp_path: Path, admin_environ: dict[str, str]) -> Iterator[str]:
    """The admin process with a password and a token; yields its base URL."""
    environ = {**admin_environ, "BRIDGE_ADMIN_PASSWORD": PASSWORD, "BRIDGE_ADMIN_TOKEN": TOKEN}
    process = start_admin(environ, tmp_path / "admin.log")
    base = f"http://127.0.0.1:{admin_environ['ADMIN_PORT']}"
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).ok, 20, "the admin process's start-up")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_admin_process_listens_on_loopback_and_serves_console_and_api(admin: str, tmp_path: Path) -> None:
    """It binds 127.0.0.1 by default, shows the login page, and answers the API with the token."""
    assert f"Listening at: {admin}" in (tmp_path / "admin.log").read_text()
    page = requests.get(f"{admin}/", timeout=5)
    assert page.url.endswith("/login?next=/?") or page.url.endswith("/login?next=/")
    assert "Content-Security-Policy" in page.headers
    assert requests.get(f"{admin}/api/openapi.json", timeout=5).status_code == 401
    with_token = {"Authorization": f"Bearer {TOKEN}"}
    answer = requests.get(f"{admin}/api/openapi.json", headers=with_token, timeout=5)
    assert answer.status_code == 200 and answer.json()["openapi"].startswith("3.1")


def test_without_a_password_the_admin_process_exits_naming_the_variable(
    tmp_path: Path, admin_environ: dict[str, str]
) -> None:
    """No BRIDGE_ADMIN_PASSWORD: gunicorn stops with a non-zero status and the log says what to set."""
    log = tmp_path / "admin.log"
    process = start_admin(admin_environ, log)
    try:
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert status != 0
    assert "BRIDGE_ADMIN_PASSWORD is not set" in log.read_text()
