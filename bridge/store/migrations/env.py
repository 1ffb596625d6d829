"""Alembic environment: runs the bridge's migrations on the engine it is handed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bridge.store.engine import make_engine
from bridge.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def run_migrations() -> None:
    """Run the migrations on the given connection, or on one made from the URL."""
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()


def _run(conn: Connection) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
