"""The decision journal; indexes so that sweeping expired rows does not scan tables.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("workspace", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.Text(), nullable=False),
        sa.Column("client", sa.Text(), nullable=True),
    )
    op.create_index("ix_decisions_key_decided_at", "decisions", ["key", "decided_at"])
    op.create_index("ix_conversations_expires_at", "conversations", ["expires_at"])
    op.create_index("ix_deliveries_keep_until", "deliveries", ["keep_until"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_keep_until", table_name="deliveries")
    op.drop_index("ix_conversations_expires_at", table_name="conversations")
    op.drop_table("decisions")
