"""Let activities wait for a look-up of their opportunity, and cache what look-ups find.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop NOT NULL in place, so the table is copied.
    with op.batch_alter_table("activities") as batch:
        batch.alter_column("opportunity_id", existing_type=sa.String(255), nullable=True)
        batch.add_column(sa.Column("lookup", sa.JSON))
        batch.add_column(sa.Column("lookup_key", sa.String(64)))
        batch.create_index("ix_activities_lookup", ["account", "lookup_key"])
    op.create_table(
        "opportunity_cache",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("lead_field", sa.String(64), primary_key=True),
        sa.Column("lookup_value", sa.Text, primary_key=True),
        sa.Column("opportunity_type", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("opportunity_id", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("opportunity_cache")
    # Rows still waiting for a look-up have no opportunity to keep: refuse rather than lose them.
    waiting = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM activities WHERE opportunity_id IS NULL"))
        .scalar_one()
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} activities have no opportunity id yet (resolving or unresolved): "
            "settle or delete them before downgrading"
        )
    with op.batch_alter_table("activities") as batch:
        batch.drop_index("ix_activities_lookup")
        batch.drop_column("lookup_key")
        batch.drop_column("lookup")
        batch.alter_column("opportunity_id", existing_type=sa.String(255), nullable=False)
