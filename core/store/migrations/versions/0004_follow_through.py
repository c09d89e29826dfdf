"""Follow-through: journal entries with a ref, details, status and steps; reminders; profiles.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNSENT = "sent_at IS NULL"
SENT = "sent_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        # Nullable first: the entries already there get their ref below.
        batch.add_column(sa.Column("ref", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("details", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("status", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("steps", sa.Text(), nullable=False, server_default="[]"))
    # Their row id: unique per table, so per user too, and far below any ref the session
    # makes (milliseconds since 2020).
    op.execute("UPDATE decisions SET ref = id")
    with op.batch_alter_table("decisions") as batch:  # SQLite: the table is rebuilt
        batch.alter_column("ref", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ix_decisions_key_ref", "decisions", ["key", "ref"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column(
            "decision_id",
            sa.Integer(),
            sa.ForeignKey("decisions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["platform", "due_at", "id"],
        sqlite_where=sa.text(UNSENT),
        postgresql_where=sa.text(UNSENT),
    )
    op.create_index("ix_reminders_decision_id_due_at", "reminders", ["decision_id", "due_at"])
    op.create_index(
        "ix_reminders_sent_at",
        "reminders",
        ["sent_at"],
        sqlite_where=sa.text(SENT),
        postgresql_where=sa.text(SENT),
    )

    op.create_table(
        "profiles",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("workspace", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("profiles")
    op.drop_table("reminders")
    op.drop_index("ix_decisions_key_ref", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        for column in ("steps", "status", "details", "ref"):
            batch.drop_column(column)
