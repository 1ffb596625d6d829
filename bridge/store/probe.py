"""Whether the store takes a write now, within a timeout: what /readyz answers by.

The probe inserts a row into intake_refusals and rolls it back, so it leaves
nothing behind and takes only the lock of a key nobody else writes. On SQLite
every transaction begins IMMEDIATE and waits for the write lock for the
connection's busy timeout (30 s): the probe shortens it on its own connection
for its own transaction, so a store held by a long writer answers "not ready"
in time rather than hanging the orchestrator's probe. On PostgreSQL the
statement and any lock wait are bounded with SET LOCAL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa

from bridge.store.engine import SQLITE_BUSY_TIMEOUT_MS
from bridge.store.tables import intake_refusals

# The probe's row: a source no configuration can name (a name starts with a letter), at minute -1.
PROBE_SOURCE = "-readyz-"


def store_accepts_write(engine: sa.Engine, timeout_seconds: float) -> str | None:
    """Write and roll back one row within timeout_seconds; return None, or why the store refused."""
    milliseconds = max(1, int(timeout_seconds * 1000))
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                _probe_sqlite(connection, milliseconds)
            else:
                _probe_postgresql(connection, milliseconds)
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as error:
        # sqlite3's own error: BEGIN IMMEDIATE goes to the driver directly (bridge/store/engine.py).
        return _reason(error)
    return None


def _probe_sqlite(connection: sa.Connection, milliseconds: int) -> None:
    driver: Any = connection.connection.driver_connection
    driver.execute(f"PRAGMA busy_timeout={milliseconds}")
    try:
        with connection.begin() as transaction:
            connection.execute(_probe_row())
            transaction.rollback()
    finally:
        driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _probe_postgresql(connection: sa.Connection, milliseconds: int) -> None:
    with connection.begin() as transaction:
        connection.execute(sa.text(f"SET LOCAL statement_timeout = {milliseconds}"))
        connection.execute(sa.text(f"SET LOCAL lock_timeout = {milliseconds}"))
        connection.execute(_probe_row())
        transaction.rollback()


def _probe_row() -> sa.Insert:
    return sa.insert(intake_refusals).values(source=PROBE_SOURCE, minute=-1.0, error="probe", count=1)


def _reason(error: Exception) -> str:
    """Say why the write failed in a few words, without the statement or its parameters."""
    text = str(getattr(error, "orig", None) or type(error).__name__).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]
