"""The store port: what the session layer needs from storage, and nothing more.

One implementation (``core.store.sql.SqlStore``) serves SQLite and PostgreSQL; every
implementation must pass ``tests/store/test_contract.py``. States travel as JSON text so a
store never needs to understand them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


class StoreError(Exception):
    """The one root of everything a store raises (unreachable database, ...)."""


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """One conversation per (platform, workspace or guild, user)."""

    platform: str
    workspace: str
    user: str

    def as_string(self) -> str:
        # The only place the key string is built; the parts are escaped so that a ':' in
        # an id cannot make two keys collide.
        return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in self.parts())

    def parts(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace, self.user)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    data: str  # the state as JSON text; may be unreadable, the session layer decides
    version: int
    expires_at: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class Decision:
    """One finished conversation, kept in the user's decision journal."""

    outcome: str
    decided_at: datetime  # timezone-aware UTC
    lang: str
    platform: str
    client: str | None = None


class Store(ABC):
    """Conversations, delivery ids and the decision journal.

    Every datetime passed in or returned is timezone-aware UTC. ``now`` always comes from
    the caller: a store never reads the clock itself, so tests control time.
    """

    @abstractmethod
    async def load(self, key: ConversationKey) -> StoredConversation | None:
        """The stored conversation, expired or not (the caller compares ``expires_at``)."""

    @abstractmethod
    async def save(
        self,
        key: ConversationKey,
        data: str,
        *,
        version: int,
        expected_version: int | None,
        expires_at: datetime,
        decision: Decision | None = None,
        replaces_decision: bool = False,
    ) -> bool:
        """Write ``data`` as ``version`` if the stored version is still ``expected_version``
        (``None``: only if there is no row yet). Returns False, writing nothing, when another
        writer got there first. A ``decision`` goes into the journal in the same
        transaction, so a finished conversation and its journal entry land together;
        ``replaces_decision`` first removes the user's latest entry (the same conversation,
        decided again after going back)."""

    @abstractmethod
    async def forget(self, key: ConversationKey) -> None:
        """Delete the conversation (not the journal)."""

    @abstractmethod
    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        """Remember a platform delivery id; True the first time, False for a redelivery."""

    @abstractmethod
    async def sweep(self, now: datetime) -> int:
        """Delete expired conversations and delivery ids; returns how many rows went."""

    @abstractmethod
    async def record_decision(self, key: ConversationKey, decision: Decision) -> None:
        """Add a finished conversation to the user's journal."""

    @abstractmethod
    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        """The user's journal, newest first."""

    @abstractmethod
    async def forget_decisions(self, key: ConversationKey) -> int:
        """Delete the user's journal; returns how many entries went."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError when the database cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
