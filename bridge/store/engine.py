"""Create the SQLAlchemy engine, with SQLite set up for many writers in WAL mode."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_SIZE, MAX_OVERFLOW = 10, 30


def make_engine(database_url: str) -> sa.Engine:
    """Return an engine for the URL; SQLite files get WAL mode and immediate transactions.

    Statement parameters never appear in error texts (hide_parameters): they hold
    webhook bodies, emails and phones, and a store error is logged.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        # No pre-ping: it would cost a round trip on every webhook. A connection
        # the server dropped fails its statement instead; the inbox retries that
        # once on a fresh one, and the worker's claims survive any failure.
        return sa.create_engine(
            url, pool_size=POOL_SIZE, max_overflow=_max_overflow(), pool_recycle=1800, hide_parameters=True
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=_max_overflow(), hide_parameters=True)
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def _max_overflow() -> int:
    """Return the pool's overflow: none in a gevent-patched process (the web process's workers).

    Greenlets outnumber threads: with 32 connections in flight a web process can have
    16 inserts waiting on PostgreSQL at once, and the 6 past pool_size each opened
    a connection that the pool closed again on return, a server fork per webhook.
    Under gevent they wait their turn for a pooled connection instead.
    """
    monkey = sys.modules.get("gevent.monkey")
    return 0 if monkey is not None and monkey.is_module_patched("threading") else MAX_OVERFLOW


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

