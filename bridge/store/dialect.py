"""The one place the store's SQLite and PostgreSQL statements differ."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def is_sqlite(bind: sa.Engine | sa.Connection) -> bool:
    """Tell whether the engine or connection speaks to SQLite (else PostgreSQL)."""
    return bind.dialect.name == "sqlite"


def upsert(bind: sa.Engine | sa.Connection, table: sa.Table) -> Any:
    """Return an INSERT for the table that can say ON CONFLICT, in the bind's dialect."""
    return (sqlite if is_sqlite(bind) else postgresql).insert(table)


def greatest(bind: sa.Engine | sa.Connection, column: sa.ColumnElement[Any], value: Any) -> Any:
    """Return the larger of a column and a value: SQLite's two-argument max(), PostgreSQL's greatest()."""
    return sa.func.max(column, value) if is_sqlite(bind) else sa.func.greatest(column, value)


def server_now(bind: sa.Engine | sa.Connection) -> sa.ColumnElement[float]:
    """Return an expression for the database's clock in float seconds since the epoch.

    Every machine that shares a store can agree on this clock when their own
    clocks disagree: PostgreSQL's clock_timestamp() (the time of the statement,
    not of the transaction's start), or SQLite's, which is the one machine's.
    """
    if is_sqlite(bind):
        return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)
    return sa.literal_column("extract(epoch from clock_timestamp())::float8", sa.Float)
