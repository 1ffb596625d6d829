"""Create the inbox, outbox, rate limiter log and account state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255)),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.UniqueConstraint("source", "idempotency_key", name="uq_events_source_key"),
    )
    op.create_index("ix_events_status_id", "events", ["status", "id"])
    op.create_table(
        "activities",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", Id, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("activity_key", sa.String(400), nullable=False, unique=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("opportunity_id", sa.String(255), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claim_expires_at", sa.Float),
        sa.Column("prospect_activity_id", sa.String(64)),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_activities_due", "activities", ["status", "next_attempt_at"])
    op.create_index("ix_activities_opportunity", "activities", ["account", "opportunity_id"])
    op.create_index("ix_activities_event", "activities", ["event_id"])
    op.create_table(
        "rate_calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_calls_account_at", "rate_calls", ["account", "at"])
    op.create_table(
        "account_state",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("calls_per_window", sa.Integer),
        sa.Column("lowered_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("blocked_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("paused_reason", sa.Text),
        sa.Column("next_probe_at", sa.Float, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("account_state")
    op.drop_table("rate_calls")
    op.drop_table("activities")
    op.drop_table("events")
