"""Apply the Alembic migrations, and check that a database is at the latest one."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bridge.store.statistics import analyze_all


class SchemaNotCurrent(Exception):
    """The database is behind the code's migrations."""


def alembic_config(engine: sa.Engine) -> Config:
    """Return an Alembic config pointing at the bridge's migrations."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("bridge.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_to_head(engine: sa.Engine) -> None:
    """Bring the database's schema up to the latest migration, then refresh the planner's statistics.

    A migration can add an index the planner knows nothing about yet, and a
    deploy is a quiet moment to take stock of the tables (PostgreSQL only: see
    bridge/store/statistics.py).
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    analyze_all(engine)


def ensure_current(engine: sa.Engine) -> None:
    """Raise SchemaNotCurrent unless the database is at the latest migration."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"the database is at migration {current or 'none'}, the code needs {head}: "
            "run `python -m bridge migrate` first"
        )
