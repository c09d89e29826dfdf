"""The tables as the current code sees them (the head of ``migrations/versions``).

The migrations create these tables; ``tests/store`` checks that the two agree. Times are
stored in UTC and always come back timezone-aware, on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime: ``timestamptz`` on PostgreSQL, text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        # SQLite keeps no offset; naive UTC text in one format also sorts by time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("key", Text, primary_key=True),  # ConversationKey.as_string()
    Column("platform", Text, nullable=False),
    Column("workspace", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    Index("ix_conversations_expires_at", "expires_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("keep_until", UtcDateTime, nullable=False),
    Index("ix_deliveries_keep_until", "keep_until"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),  # ConversationKey.as_string() of the user
    Column("platform", Text, nullable=False),
    Column("workspace", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("lang", Text, nullable=False),
    Column("client", Text, nullable=True),
    # Follow-through (see core.ports.Decision): the entry's id within the user's journal
    # (not unique by constraint: lookups take the newest), the answers a next-step draft
    # needs (a JSON object), where it stands, and its steps (a JSON list of [name, time]).
    Column("ref", BigInteger, nullable=False),
    Column("details", Text, nullable=False, server_default="{}"),
    Column("status", Text, nullable=False, server_default=""),
    Column("steps", Text, nullable=False, server_default="[]"),
    Index("ix_decisions_key_decided_at", "key", "decided_at"),
    Index("ix_decisions_key_ref", "key", "ref"),
)

# Follow-ups to bring up, one row per scheduled reminder; they go with their journal entry.
reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),  # ConversationKey.as_string() of the user
    Column("platform", Text, nullable=False),  # whose process sends it
    Column(
        "decision_id",
        Integer,
        ForeignKey("decisions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # "Unsent reminders of this platform due by now, earliest first": a range scan of the
    # unsent rows only, however many are scheduled or were sent.
    Index(
        "ix_reminders_due",
        "platform",
        "due_at",
        "id",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
    # An entry's reminders (its pending one, the cascade when it is deleted).
    Index("ix_reminders_decision_id_due_at", "decision_id", "due_at"),
    # Sent reminders by age, for the sweep.
    Index(
        "ix_reminders_sent_at",
        "sent_at",
        sqlite_where=text("sent_at IS NOT NULL"),
        postgresql_where=text("sent_at IS NOT NULL"),
    ),
    # An id is never reused on SQLite either: a sender marking a reminder deleted under it
    # (forget) must not mark a newer one.
    sqlite_autoincrement=True,
)

# The user's saved profile (core.profile): JSON text the store does not read.
profiles = Table(
    "profiles",
    metadata,
    Column("key", Text, primary_key=True),  # ConversationKey.as_string()
    Column("platform", Text, nullable=False),
    Column("workspace", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Every event, command and click, written before it is acknowledged (see core.ports).
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Text, nullable=False, unique=True),
    Column("key", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    # Open rows (done_at NULL) in id order; processed rows by age, for the sweep.
    Index("ix_inbox_done_at_id", "done_at", "id"),
)

# The messages turns must show, queued with the turn, until they are sent.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("key", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("hold_until", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Index("ix_outbox_sent_at_seq", "sent_at", "seq"),
)
