"""An in-memory :class:`core.ports.Store` for unit tests, benchmarks of the core alone and
``--memory`` runs. It passes the same contract suite as the SQL stores; it keeps copies,
never shared objects, and everything is lost when the process ends."""

from __future__ import annotations

from datetime import datetime

from core.ports import ConversationKey, ConversationWrite, Decision, Store, StoredConversation


class MemoryStore(Store):
    def __init__(self) -> None:
        self._rows: dict[str, StoredConversation] = {}
        self._deliveries: dict[str, datetime] = {}
        self._decisions: dict[str, list[Decision]] = {}

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        return self._rows.get(key.as_string())

    async def save(self, write: ConversationWrite) -> bool:
        # No await between the check and the write: atomic on the event loop.
        name = write.key.as_string()
        current = self._rows.get(name)
        if (current.version if current else None) != write.expected_version:
            return False
        expires_at = write.expires_at
        if expires_at is None:
            assert current is not None  # ConversationWrite refuses a new row without one
            expires_at = current.expires_at
        self._rows[name] = StoredConversation(write.data, write.version, expires_at)
        if write.decision is not None:
            journal = self._decisions.setdefault(name, [])
            if write.replaces_decision and journal:
                journal.remove(self._newest(journal, 1)[0])
            journal.append(write.decision)
        return True

    async def forget(self, key: ConversationKey) -> int:
        self._rows.pop(key.as_string(), None)
        return len(self._decisions.pop(key.as_string(), []))

    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        known = self._deliveries.get(delivery_id)
        if known is not None and known > now:
            return False
        self._deliveries[delivery_id] = keep_until
        return True

    async def sweep(self, now: datetime) -> int:
        gone = [k for k, row in self._rows.items() if row.expires_at <= now]
        for k in gone:
            del self._rows[k]
        old = [d for d, until in self._deliveries.items() if until <= now]
        for d in old:
            del self._deliveries[d]
        return len(gone) + len(old)

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._newest(self._decisions.get(key.as_string(), []), limit)

    @staticmethod
    def _newest(journal: list[Decision], limit: int) -> list[Decision]:
        # Newest decided_at first; for the same instant, the one recorded later first.
        return sorted(reversed(journal), key=lambda d: d.decided_at, reverse=True)[:limit]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
