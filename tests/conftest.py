"""Shared fixtures: real SQLite files, a real PostgreSQL database, a sandbox over HTTP."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.config.load import load_settings, normalize_database_url
from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox
from bridge.services import Services
from bridge.store.engine import make_engine
from bridge.store.migrate import upgrade_to_head
from tests.support import RAZORPAY_SECRET
from tests.turns import turn
from transforms import REGISTRY

POSTGRES_ENV = "BRIDGE_TEST_POSTGRES_URL"
# The key of the identifiers' keyed hashes that every bridge process of the tests gets.
ERASURE_KEY = "erasure-key-for-the-tests-0123456789"
ROOT = Path(__file__).resolve().parent.parent
# Engines the tests opened, closed before their database is dropped.
OPENED_ENGINES: list[sa.Engine] = []
# Services the tests built: the operator's reader each may have opened is closed too.
OPENED_SERVICES: list[Services] = []

# A complete configuration; tests change a value with str.replace on a unique line.
TEST_CONFIG = """
[server]
max_body_bytes = 65536

[delivery]
max_attempts = 3
max_age_seconds = 3600
backoff_base_seconds = 0.05
backoff_max_seconds = 0.2
claim_lease_seconds = 30
poll_interval_seconds = 0.05
notified_poll_interval_seconds = 0.05
probe_interval_seconds = 0.2

[accounts.main]
auth = "headers"
calls_per_window = 25
window_seconds = 5
window_margin_seconds = 0.05
max_in_flight = 25
timeout_seconds = 5
key_field = "mx_Custom_10"

[sources.razorpay]
kind = "razorpay"
account = "main"
secret_env = "RAZORPAY_WEBHOOK_SECRET"
previous_secret_envs = ["RAZORPAY_WEBHOOK_SECRET_PREVIOUS"]
opportunity_id_path = "payload.payment.entity.notes.opportunity_id"
owner_email = "payments@example.com"

[sources.razorpay.events."payment.captured"]
activity_event = 201
note = "Payment {payment_id} captured: {currency} {amount} by {method}"
[sources.razorpay.events."payment.captured".fields]
mx_Custom_1 = "payment_id"
mx_Custom_2 = "amount"
mx_Custom_3 = "method"
mx_Custom_4 = "paid_at"

[sources.razorpay.events."payment.failed"]
activity_event = 202
note = "Payment {payment_id} failed: {error_code} {error_description}"
[sources.razorpay.events."payment.failed".fields]
mx_Custom_1 = "payment_id"
mx_Custom_6 = "error_code"
"""


@pytest.fixture(autouse=True)
def take_turns(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under xdist, run an `alone` test with no other test beside it (tests/turns.py); else do nothing."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    # The workers' temporary folders are siblings: their parent is this run's, shared by all.
    with turn(tmp_path_factory.getbasetemp().parent, request.node.get_closest_marker("alone") is not None):
        yield


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every browser test in one xdist group: one Chromium at a time, and one writer per screenshot."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))


def postgres_admin_url() -> str:
    """Return the PostgreSQL URL CI provides, or skip the test saying how to run it."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (bash .ci/run sets it)")
    if url in REACHABLE:
        return REACHABLE[url]
    probe = sa.create_engine(normalize_database_url(url), poolclass=sa.pool.NullPool)
    try:
        with probe.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is not reachable: {error.orig}")
    finally:
        probe.dispose()
    REACHABLE[url] = normalize_database_url(url)
    return REACHABLE[url]


# The server answered once: the hundreds of PostgreSQL tests do not each probe it again.
REACHABLE: dict[str, str] = {}


def migrate(url: str) -> None:
    """Bring a database to the latest migration, as `python -m bridge migrate` does."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (and xdist worker); each test gets a copy of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "bridge.db"
    migrate(f"sqlite:///{path}")
    # The last connection closed checkpointed the WAL into the file: the file alone is the database.
    assert not path.with_name("bridge.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per session; each test's database is created from it.

    `CREATE DATABASE ... TEMPLATE` copies the migrated schema (and the planner's statistics) in
    a fraction of the time the migrations take. The name is unique, so sessions running at once
    (xdist workers, other checkouts) each copy their own template, which nobody is connected to.
    """
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"lsqb_template_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        migrate(admin.url.set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a new PostgreSQL database.

    Both are copies of a database the session migrated once (sqlite_template, postgres_template),
    except for a test marked `migrated_here`, whose own database is migrated from nothing.
    """
    here = request.node.get_closest_marker("migrated_here") is not None
    if request.param == "sqlite":
        path = tmp_path / "bridge.db"
        if here:
            migrate(f"sqlite:///{path}")
        else:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        close_opened()
        return
    template = "template1" if here else request.getfixturevalue("postgres_template")
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"lsqb_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    if here:
        migrate(url)
    yield url
    close_opened()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


# For a process test (e2e) whose store-specific behaviour the integration tier already covers on
# both stores: it runs on PostgreSQL, the production store, alone.
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def close_opened() -> None:
    """Close every engine and reader the test opened."""
    for wired in OPENED_SERVICES:
        if "reader" in wired.__dict__ and wired.reader is not wired.engine:
            wired.reader.dispose()
    for opened in OPENED_ENGINES:
        opened.dispose()
    OPENED_SERVICES.clear()
    OPENED_ENGINES.clear()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A LeadSquared sandbox on a free loopback port."""
    server = start_sandbox(SandboxSettings())
    yield server
    server.stop()


def write_config(tmp_path: Path, text: str = TEST_CONFIG) -> Path:
    """Write a configuration file and return its path."""
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    return path


def bridge_environ(database_url: str, sandbox: SandboxServer | None, **extra: str) -> dict[str, str]:
    """Return the environment a bridge process gets in these tests."""
    environ = {
        "DATABASE_URL": database_url,
        "RAZORPAY_WEBHOOK_SECRET": RAZORPAY_SECRET,
        "BRIDGE_ERASURE_KEY": ERASURE_KEY,
        # A port of its own for every worker's /metrics (0: the system picks one), not the default 9101
        # that workers of tests running at once (xdist, other checkouts) would fight over.
        "WORKER_METRICS_PORT": "0",
    }
    if sandbox is not None:
        environ.update(
            LSQ_HOST=sandbox.url,
            LSQ_ACCESS_KEY=sandbox.settings.access_key,
            LSQ_SECRET_KEY=sandbox.settings.secret_key,
        )
    environ.update(extra)
    return environ


def make_services(
    tmp_path: Path, database_url: str, sandbox: SandboxServer | None, config: str = TEST_CONFIG, **env: str
) -> Services:
    """Load settings from a config text and open the store, as the processes do."""
    environ = bridge_environ(database_url, sandbox, **env)
    settings = load_settings(write_config(tmp_path, config), environ, REGISTRY)
    # Sized as a worker's, the larger of the two: these services run workers and the web app alike.
    engine = make_engine(settings.database_url, settings.worker_pool_size())
    OPENED_ENGINES.append(engine)
    wired = Services(settings, engine, REGISTRY)
    OPENED_SERVICES.append(wired)
    return wired


@pytest.fixture
def services(tmp_path: Path, database_url: str, sandbox: SandboxServer) -> Services:
    """The bridge's services on a fresh database, posting to the sandbox."""
    return make_services(tmp_path, database_url, sandbox)


@pytest.fixture
def app(services: Services) -> Flask:
    """The web app, built by its factory."""
    return create_app(services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client for the web app."""
    return app.test_client()
