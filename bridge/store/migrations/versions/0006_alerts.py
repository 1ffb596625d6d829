"""Alerts that reach a person: each condition's state, and the messages still to post.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("condition", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("since", sa.Float),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("rows", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claim_expires_at", sa.Float, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.Float),
        sa.Column("gave_up_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_alert_outbox_unsent", "alert_outbox", ["sent_at", "gave_up_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_alert_outbox_unsent", table_name="alert_outbox")
    op.drop_table("alert_outbox")
    op.drop_table("alert_state")
