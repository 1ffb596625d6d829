"""Keep what an operator needs to see and act on: every LeadSquared call, repeats, refusals, audit, jobs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The problem rows an operator's needs-attention page groups by reason (bridge/store/tables.py).
EVENT_PROBLEMS = "status IN ('failed', 'ignored')"
ACTIVITY_PROBLEMS = "status IN ('dead', 'unknown', 'unresolved')"
DELIVERED = "status = 'delivered'"


def _partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    clause = sa.text(where)
    op.create_index(name, table, columns, sqlite_where=clause, postgresql_where=clause)


def upgrade() -> None:
    with op.batch_alter_table("events") as events:
        events.add_column(sa.Column("headers", sa.JSON))
    op.create_index("ix_events_source_id", "events", ["source", "id"])
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.create_index("ix_activities_opportunity_id", "activities", ["opportunity_id"])
    op.create_index("ix_activities_status_id", "activities", ["status", "id"])
    _partial_index("ix_activities_delivered", "activities", ["delivered_at", "account"], DELIVERED)
    _partial_index("ix_events_attention", "events", ["status", "reason", "received_at"], EVENT_PROBLEMS)
    _partial_index(
        "ix_activities_attention", "activities", ["status", "last_error", "created_at"], ACTIVITY_PROBLEMS
    )
    with op.batch_alter_table("account_state") as account_state:
        account_state.add_column(sa.Column("paused_by", sa.String(16)))
        account_state.add_column(sa.Column("paused_at", sa.Float))
    op.create_table(
        "lsq_calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("opportunity_id", sa.String(255)),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("waited_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("http_status", sa.Integer),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reaction", sa.String(16), nullable=False),
        sa.Column("exception_type", sa.String(255)),
        sa.Column("message", sa.Text),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_lsq_calls_account_started", "lsq_calls", ["account", "started_at"])
    op.create_index("ix_lsq_calls_started", "lsq_calls", ["started_at"])
    op.create_table(
        "lsq_call_activities",
        sa.Column("call_id", Id, sa.ForeignKey("lsq_calls.id"), primary_key=True, autoincrement=False),
        sa.Column("activity_id", Id, sa.ForeignKey("activities.id"), primary_key=True, autoincrement=False),
        sa.Column("result", sa.Text),
    )
    op.create_index("ix_lsq_call_activities_activity", "lsq_call_activities", ["activity_id"])
    op.create_table(
        "event_duplicates",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", Id, sa.ForeignKey("events.id"), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_event_duplicates_event", "event_duplicates", ["event_id"])
    op.create_index("ix_event_duplicates_source_at", "event_duplicates", ["source", "received_at"])
    op.create_table(
        "intake_refusals",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("minute", sa.Float, primary_key=True),
        sa.Column("error", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("rows", sa.Integer),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_audit_log_action_address_at", "audit_log", ["action", "address", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "operator_jobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("filter", sa.JSON, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cursor", Id),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claim_expires_at", sa.Float),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_operator_jobs_status_id", "operator_jobs", ["status", "id"])


def downgrade() -> None:
    for table in ("operator_jobs", "audit_log", "intake_refusals", "event_duplicates"):
        op.drop_table(table)
    op.drop_table("lsq_call_activities")
    op.drop_table("lsq_calls")
    with op.batch_alter_table("account_state") as account_state:
        account_state.drop_column("paused_at")
        account_state.drop_column("paused_by")
    op.drop_index("ix_activities_attention", table_name="activities")
    op.drop_index("ix_activities_delivered", table_name="activities")
    op.drop_index("ix_events_attention", table_name="events")
    op.drop_index("ix_activities_status_id", table_name="activities")
    op.drop_index("ix_activities_opportunity_id", table_name="activities")
    op.drop_index("ix_events_received_at", table_name="events")
    op.drop_index("ix_events_source_id", table_name="events")
    with op.batch_alter_table("events") as events:
        events.drop_column("headers")
