"""Keep PostgreSQL's planner statistics of the store's tables current.

PostgreSQL plans from statistics that ANALYZE gathers, and the autovacuum
daemon that would gather them may be off, or far behind after an outage puts
a hundred thousand rows in the outbox in an hour. The claim queries are
written so that the planner picks their index even from statistics of an
empty table (tests check the plans); fresh statistics keep every other
query's plan honest too. ANALYZE samples a bounded number of rows, so a
table of any size costs a fraction of a second, and it blocks no reader or
writer.

SQLite is left without statistics, on purpose: its planner's rules without
them (an index's equality prefix, then an ORDER BY it already satisfies) pick
the claims' indexes, and tests check that too. Its ANALYZE takes the write
lock (pausing every webhook's insert) for as long as it reads each index,
its statistics would then go stale as the queue moves with nothing to
refresh them, and, averaged per status value, they could not tell a
backlog's handful of due rows from a history of finished ones anyway.
"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store.dialect import is_sqlite
from bridge.store.tables import metadata

# As autovacuum's default rule: a table is analyzed again once this many
# rows, plus this share of its rows, were inserted, updated or deleted since.
CHANGED_ROWS = 1000
CHANGED_SHARE = 0.1


def analyze_all(engine: sa.Engine) -> list[str]:
    """Gather statistics for every table of the store (PostgreSQL); return the tables analyzed."""
    if is_sqlite(engine):
        return []
    names = sorted(metadata.tables)
    _analyze(engine, names)
    return names


def analyze_changed(engine: sa.Engine) -> list[str]:
    """Gather statistics for the tables that changed much since their last ANALYZE; return them.

    One read of PostgreSQL's activity counters decides, so calling this every
    minute costs next to nothing while the store is quiet.
    """
    if is_sqlite(engine):
        return []
    with engine.connect() as connection:
        changed = connection.execute(
            sa.text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = ANY(:names) "
                "AND n_mod_since_analyze > :rows + :share * greatest(n_live_tup, 0)"
            ),
            {"names": sorted(metadata.tables), "rows": CHANGED_ROWS, "share": CHANGED_SHARE},
        ).scalars()
        names = sorted(str(name) for name in changed)
    if names:
        _analyze(engine, names)
    return names


def _analyze(engine: sa.Engine, names: list[str]) -> None:
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE " + ", ".join(quote(name) for name in names))
