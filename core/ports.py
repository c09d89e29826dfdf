"""The store port: what the session layer needs from storage, and nothing more.

Implementations: ``core.store.sqlite`` (the embedded default), ``core.store.postgres`` and
``core.memory_store``; every one must pass ``tests/store/test_contract.py``. States travel
as JSON text so a store never needs to understand them.
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


@dataclass(frozen=True, slots=True)
class ConversationWrite:
    """One write of a conversation, and of its journal entry when it has just finished.

    The write lands only if the stored version is still ``expected_version`` (``None``: only
    if there is no row yet). ``expires_at`` is the new deadline, or ``None`` to keep the
    stored one (an update only: a new row needs a deadline). A ``decision`` goes into the
    journal in the same transaction; ``replaces_decision`` first removes the user's latest
    entry (the same conversation, decided again after going back).
    """

    key: ConversationKey
    data: str
    version: int
    expected_version: int | None
    expires_at: datetime | None
    decision: Decision | None = None
    replaces_decision: bool = False

    def __post_init__(self) -> None:
        if self.expires_at is None and self.expected_version is None:
            raise ValueError("a new conversation needs a deadline (expires_at)")
        for name, value in (("expires_at", self.expires_at), ("decided_at", self._decided_at())):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                # A naive datetime would be read as local time; refuse it rather than guess.
                raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")
        if self.decision is not None and self.decision.platform != self.key.platform:
            raise ValueError(
                f"decision made on {self.decision.platform!r} filed under a "
                f"{self.key.platform!r} key"
            )

    def _decided_at(self) -> datetime | None:
        return None if self.decision is None else self.decision.decided_at


class Store(ABC):
    """Conversations, delivery ids and the decision journal.

    Every datetime passed in or returned is timezone-aware UTC. ``now`` always comes from
    the caller: a store never reads the clock itself, so tests control time. Each call is
    one transaction.
    """

    @abstractmethod
    async def load(self, key: ConversationKey) -> StoredConversation | None:
        """The stored conversation, expired or not (the caller compares ``expires_at``)."""

    @abstractmethod
    async def save(self, write: ConversationWrite) -> bool:
        """Apply ``write`` (see :class:`ConversationWrite`). Returns False, writing nothing,
        when another writer got there first."""

    @abstractmethod
    async def forget(self, key: ConversationKey) -> int:
        """Delete the user's conversation and journal together; returns how many journal
        entries went."""

    @abstractmethod
    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        """Remember a platform delivery id; True the first time, False for a redelivery."""

    @abstractmethod
    async def sweep(self, now: datetime) -> int:
        """Delete expired conversations and delivery ids; returns how many rows went."""

    @abstractmethod
    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        """The user's journal, newest first."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError when the database cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
