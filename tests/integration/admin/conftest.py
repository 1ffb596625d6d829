"""Fixtures of the admin app's tests: the app on a fresh store, a stranger, a signed-in console, the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge import create_admin_app
from bridge.sandbox import SandboxServer
from bridge.services import AdminCredentials, Services
from tests.conftest import make_services
from tests.integration.admin.documented import DocumentedApi
from tests.integration.admin.scenario import History, make_history

PASSWORD = "console-password-for-tests"
TOKEN = "api-token-for-tests"
CREDENTIALS = AdminCredentials(password=PASSWORD, token=TOKEN)
API = {"Authorization": f"Bearer {TOKEN}"}
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def admin_services(tmp_path: Path, database_url: str) -> Services:
    """Services on a fresh store, with no LeadSquared behind them: what the auth tests need."""
    return make_services(tmp_path, database_url, None)


@pytest.fixture
def history(services: Services, sandbox: SandboxServer) -> History:
    """A day of history on services (the sandbox behind them); the admin app then runs on the same store."""
    return make_history(services, sandbox)


@pytest.fixture
def admin_app(admin_services: Services) -> Flask:
    """The admin app, built by its factory with a password and a token."""
    return create_admin_app(admin_services, CREDENTIALS)


@pytest.fixture
def stranger(admin_app: Flask) -> FlaskClient:
    """A client that has not logged in."""
    return admin_app.test_client()


@pytest.fixture
def console(admin_app: Flask) -> FlaskClient:
    """A client logged in to the console."""
    client = admin_app.test_client()
    answer = log_in(client)
    assert answer.status_code == 302, answer.text
    return client


@pytest.fixture
def api(admin_app: Flask) -> DocumentedApi:
    """An API client with the token, checking each answer against the OpenAPI document."""
    return DocumentedApi(admin_app, admin_app.test_client(), TOKEN)


def csrf_token(page: str) -> str:
    """Return the CSRF token a page's form carries."""
    found = _CSRF_FIELD.search(page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: FlaskClient, password: str = PASSWORD, address: str = "127.0.0.1") -> TestResponse:
    """Send the login form as a browser would, from an address: the page first, then the form."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    form = {"password": password, "csrf_token": csrf_token(page.text)}
    return client.post("/login", data=form, environ_base=environ)


def post_form(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> TestResponse:
    """Post a console form with the CSRF token of the page the client last had."""
    page = client.get("/")
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(page.text)})
