"""Fixtures of the e2e tier: headless Chromium, and the admin process as the Procfile runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver

from tests.conftest import ROOT, bridge_environ, write_config
from tests.e2e.browser import skip_without_chromium, start_chromium
from tests.e2e.test_processes import free_port, wait_until


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A headless Chromium of its own for each test, quit afterwards; skipped where Chromium is missing."""
    skip_without_chromium()
    driver = start_chromium()
    yield driver
    driver.quit()


PASSWORD = "e2e-console-password"
TOKEN = "e2e-api-token"


def procfile_line(name: str) -> str:
    """Return the command of one Procfile process."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process.strip() == name:
            return command.strip()
    raise AssertionError(f"the Procfile has no {name} process")


def start_procfile(name: str, environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run one Procfile line through a shell, as a Procfile runner does, this virtualenv first on PATH."""
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    with log.open("wb") as output:
        return subprocess.Popen(
            ["sh", "-c", f"exec {procfile_line(name)}"],
            cwd=ROOT,
            env={"PATH": path, **environ},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def start_admin(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run the Procfile's admin line."""
    return start_procfile("admin", environ, log)


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
