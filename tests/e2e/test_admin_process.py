"""The admin process as the Procfile runs it: gunicorn on loopback, refusing to start without a password."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.conftest import POSTGRES_ONLY
from tests.e2e.conftest import TOKEN, start_admin

# PostgreSQL alone: how the process listens and starts is no store's business; the console and API
# run on both stores in tests/integration/admin.
pytestmark = [pytest.mark.slow, POSTGRES_ONLY]


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
