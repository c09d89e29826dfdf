"""An in-memory :class:`core.ports.Store` for unit tests, benchmarks of the core alone and
``--memory`` runs. It passes the same contract suite as the SQL store; it keeps copies,
never shared objects, and everything is lost when the process ends."""

from __future__ import annotations

import asyncio
from datetime import datetime

from core.ports import ConversationKey, Decision, Store, StoredConversation


class MemoryStore(Store):
    def __init__(self) -> None:
        self._rows: dict[str, StoredConversation] = {}
        self._deliveries: dict[str, datetime] = {}
        self._decisions: dict[str, list[Decision]] = {}
        self._lock = asyncio.Lock()

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        return self._rows.get(key.as_string())

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
        if decision is not None:
            _check(key, decision)
        async with self._lock:
            current = self._rows.get(key.as_string())
            if (current.version if current else None) != expected_version:
                return False
            self._rows[key.as_string()] = StoredConversation(data, version, expires_at)
            if decision is not None:
                if replaces_decision and (latest := await self.decisions(key, 1)):
                    self._decisions[key.as_string()].remove(latest[0])
                await self.record_decision(key, decision)
            return True

    async def forget(self, key: ConversationKey) -> None:
        self._rows.pop(key.as_string(), None)

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

    async def record_decision(self, key: ConversationKey, decision: Decision) -> None:
        _check(key, decision)
        self._decisions.setdefault(key.as_string(), []).append(decision)

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        # Newest decided_at first; for the same instant, the one recorded later first.
        recorded = reversed(self._decisions.get(key.as_string(), []))
        return sorted(recorded, key=lambda d: d.decided_at, reverse=True)[:limit]

    async def forget_decisions(self, key: ConversationKey) -> int:
        return len(self._decisions.pop(key.as_string(), []))

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _check(key: ConversationKey, decision: Decision) -> None:
    if decision.platform != key.platform:
        raise ValueError(
            f"decision made on {decision.platform!r} filed under a {key.platform!r} key"
        )
