"""Wake workers when a webhook is stored: NOTIFY on every insert into events (PostgreSQL).

A statement-level AFTER INSERT trigger costs the web process no extra round
trip: the notification rides in the insert's own transaction and is sent at
its commit (and never, if it rolls back). A duplicate delivery (ON CONFLICT DO
NOTHING) still fires it: a spare wake-up is cheaper than a transition table on
every insert. SQLite has no NOTIFY; its workers watch PRAGMA data_version.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

# bridge.store.wake.EVENTS_CHANNEL listens on this channel; a migration keeps its own copy of the name.
CHANNEL = "bridge_events"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION bridge_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION bridge_notify_events()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
    op.execute("DROP FUNCTION IF EXISTS bridge_notify_events()")
