"""Index the claims so that picking a batch costs the same with a backlog of any size.

The old indexes found due rows by (status, next_attempt_at) alone: the rows of
one opportunity were then picked out of every due row and sorted, and a tie
on next_attempt_at was sorted by id after the fact. The new ones carry the
account, the group (opportunity or look-up) and id, in the order the claim
queries filter and sort by, so each query reads only the rows it returns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW = {
    "ix_activities_due": ["status", "account", "next_attempt_at", "id"],
    "ix_activities_opportunity": ["account", "opportunity_id", "status", "id"],
    "ix_activities_lookup": ["account", "lookup_key", "status", "id"],
}
OLD = {
    "ix_activities_due": ["status", "next_attempt_at"],
    "ix_activities_opportunity": ["account", "opportunity_id"],
    "ix_activities_lookup": ["account", "lookup_key"],
}


def _replace(indexes: dict[str, list[str]]) -> None:
    for name, columns in indexes.items():
        op.drop_index(name, table_name="activities")
        op.create_index(name, "activities", columns)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
