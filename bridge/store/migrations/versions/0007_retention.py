"""Retention and erasure: mark erased payloads, find due ones cheaply, keep identifiers' keyed hashes.

The body column stays NOT NULL (an erased body is empty, payload_erased_at
says so): making it nullable would rebuild the events table on SQLite, whose
activities and repeats refer to it with foreign keys enforced.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOT_ERASED = "payload_erased_at IS NULL"
PENDING = "payload_erasure = 'erasure_pending'"


def upgrade() -> None:
    with op.batch_alter_table("events") as events:
        events.add_column(sa.Column("payload_erased_at", sa.Float))
        events.add_column(sa.Column("payload_erasure", sa.String(16)))
    for name, columns, where in (
        ("ix_events_payload_due", ["source", "received_at"], NOT_ERASED),
        ("ix_events_erasure_pending", ["id"], PENDING),
    ):
        clause = sa.text(where)
        op.create_index(name, "events", columns, sqlite_where=clause, postgresql_where=clause)
    op.create_table(
        "identifier_hashes",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("event_id", Id, sa.ForeignKey("events.id"), primary_key=True, autoincrement=False),
    )
    op.create_index("ix_identifier_hashes_event", "identifier_hashes", ["event_id"])


def downgrade() -> None:
    op.drop_table("identifier_hashes")
    op.drop_index("ix_events_erasure_pending", table_name="events")
    op.drop_index("ix_events_payload_due", table_name="events")
    with op.batch_alter_table("events") as events:
        events.drop_column("payload_erasure")
        events.drop_column("payload_erased_at")
