"""Create the SQLAlchemy engine, with SQLite set up for many writers in WAL mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A command that only migrates or checks needs one connection at a time.
DEFAULT_POOL_SIZE = 2


def make_engine(
    database_url: str, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout_seconds: float = 30.0
) -> sa.Engine:
    """Return an engine for the URL; SQLite files get WAL mode and immediate transactions.

    The pool never opens more than pool_size connections (no overflow), so an
    operator can add up what every process may hold against max_connections;
    a thread that finds them all busy waits up to pool_timeout_seconds.
    Statement parameters never appear in error texts (hide_parameters): they hold
    webhook bodies, emails and phones, and a store error is logged.
    """
    url = make_url(database_url)
    pool: dict[str, Any] = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": pool_timeout_seconds}
    if url.get_backend_name() != "sqlite":
        # No pre-ping: it would cost a round trip on every webhook. A connection
        # the server dropped fails its statement instead; the inbox retries that
        # once on a fresh one, and the worker's claims survive any failure.
        return sa.create_engine(url, **pool, pool_recycle=1800, hide_parameters=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **pool, hide_parameters=True)
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def make_reader(engine: sa.Engine, pool_size: int = DEFAULT_POOL_SIZE) -> sa.Engine:
    """Return an engine for the operator's reads: on SQLite, deferred read-only transactions.

    Every transaction of the main engine begins IMMEDIATE, holding the write
    lock while it runs: a console page reading a million rows would hold up
    every webhook behind it. A deferred transaction in WAL mode reads a
    snapshot beside the writers. PostgreSQL's readers never block writers,
    so there the engine itself is returned.
    """
    if engine.dialect.name != "sqlite":
        return engine
    reader = sa.create_engine(engine.url, pool_size=pool_size, max_overflow=0, hide_parameters=True)
    sa.event.listen(reader, "connect", _configure_sqlite_reader)
    sa.event.listen(reader, "begin", _begin_deferred)
    return reader


def _configure_sqlite_reader(dbapi_connection: Any, record: Any) -> None:
    _configure_sqlite_connection(dbapi_connection, record)
    # A write through the reader is a bug: refuse it rather than take the lock.
    dbapi_connection.execute("PRAGMA query_only=ON")


def _begin_deferred(connection: sa.Connection) -> None:
    connection.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module, which would otherwise
    # begin lazily and deferred: a deferred reader that later writes can fail
    # with "database is locked" instead of waiting its turn.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged webhook survives a power cut, not only a crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: sa.Connection) -> None:
    # Writers queue on the database lock at BEGIN (honouring busy_timeout), so
    # a claim's read and its update can never interleave with another claim.
    # Sent on the driver's connection: this runs once per webhook, and going
    # through SQLAlchemy's statement machinery cost a sixth of an ack's CPU.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
