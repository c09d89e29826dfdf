"""An in-memory :class:`core.ports.Store` for unit tests, benchmarks of the core alone and
``--memory`` runs. It passes the same contract suite as the SQL stores; it keeps copies,
never shared objects, and everything is lost when the process ends."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from core.ports import (
    INBOX_KEEP,
    UNDELIVERED_KEEP,
    ConversationKey,
    ConversationWrite,
    Decision,
    DueReminder,
    InboxItem,
    InboxRow,
    OutboxMessage,
    Reminder,
    Step,
    Store,
    StoredConversation,
)


@dataclass
class _Inbox:
    row: InboxRow
    claimed_until: datetime
    done_at: datetime | None = None


@dataclass
class _Outbox:
    message: OutboxMessage
    created_at: datetime
    sent_at: datetime | None = None


class MemoryStore(Store):
    def __init__(self) -> None:
        self._rows: dict[str, StoredConversation] = {}
        self._deliveries: dict[str, datetime] = {}
        self._decisions: dict[str, list[Decision]] = {}
        self._inbox: dict[int, _Inbox] = {}  # insertion order is id order
        self._inbox_ids: dict[str, int] = {}  # delivery id → row id
        self._outbox: dict[str, _Outbox] = {}  # insertion order is queue order
        self._profiles: dict[str, str] = {}  # key → the profile's JSON text
        self._next_id = itertools.count(1)

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        return self._rows.get(key.as_string())

    async def save(self, write: ConversationWrite) -> bool:
        # No await between the check and the write: atomic on the event loop.
        name = write.key.as_string()
        current = self._rows.get(name)
        if (current.version if current else None) != write.expected_version:
            return False
        if write.inbox_id is not None and not self._is_open(write.inbox_id):
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
        if write.now is not None:
            self._settle(write.inbox_id, write.outbox, write.now)
        return True

    def _is_open(self, inbox_id: int) -> bool:
        row = self._inbox.get(inbox_id)
        return row is not None and row.done_at is None

    def _settle(self, inbox_id: int | None, outbox: Sequence[OutboxMessage], now: datetime) -> None:
        if inbox_id is not None:
            self._inbox[inbox_id].done_at = now
        for m in outbox:
            self._outbox[m.id] = _Outbox(m, now)

    async def forget(self, key: ConversationKey) -> int:
        self._rows.pop(key.as_string(), None)
        self._profiles.pop(key.as_string(), None)
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
        done = [
            i
            for i, r in self._inbox.items()
            if (r.done_at is not None and r.done_at <= now - INBOX_KEEP)
            or r.row.received_at <= now - UNDELIVERED_KEEP
        ]
        for i in done:
            self._inbox_ids.pop(self._find_delivery(i), None)
            del self._inbox[i]
        sent = [
            m
            for m, r in self._outbox.items()
            if (r.sent_at is not None and r.sent_at <= now - INBOX_KEEP)
            or r.created_at <= now - UNDELIVERED_KEEP
        ]
        for m in sent:
            del self._outbox[m]
        return len(gone) + len(old) + len(done) + len(sent)

    def _find_delivery(self, inbox_id: int) -> str:
        return next((d for d, i in self._inbox_ids.items() if i == inbox_id), "")

    async def inbox_put(self, item: InboxItem, *, claim_until: datetime) -> int | None:
        if item.delivery_id in self._inbox_ids:
            return None
        inbox_id = next(self._next_id)
        row = InboxRow(inbox_id, item.key, item.payload, item.received_at)
        self._inbox[inbox_id] = _Inbox(row, claim_until)
        self._inbox_ids[item.delivery_id] = inbox_id
        return inbox_id

    async def inbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[InboxRow]:
        claimed: list[InboxRow] = []
        for r in self._inbox.values():
            if len(claimed) >= limit:
                break
            if r.done_at is None and r.claimed_until <= now:
                r.claimed_until = claim_until
                claimed.append(r.row)
        return claimed

    async def inbox_open(self, inbox_id: int) -> bool:
        return self._is_open(inbox_id)

    async def finish(
        self, inbox_id: int | None, outbox: Sequence[OutboxMessage], *, now: datetime
    ) -> bool:
        if inbox_id is not None and not self._is_open(inbox_id):
            return False
        self._settle(inbox_id, outbox, now)
        return True

    async def outbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        claimed: list[OutboxMessage] = []
        for r in self._outbox.values():
            if len(claimed) >= limit:
                break
            if r.sent_at is None and r.message.hold_until <= now:
                r.message = replace(r.message, hold_until=claim_until)
                claimed.append(r.message)
        return claimed

    async def outbox_sent(self, ids: Sequence[str], *, now: datetime) -> None:
        for i in ids:
            if i in self._outbox:
                self._outbox[i].sent_at = now

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._newest(self._decisions.get(key.as_string(), []), limit)

    @staticmethod
    def _newest(journal: list[Decision], limit: int) -> list[Decision]:
        # Newest decided_at first; for the same instant, the one recorded later first.
        return sorted(reversed(journal), key=lambda d: d.decided_at, reverse=True)[:limit]

    async def load_profile(self, key: ConversationKey) -> str | None:
        return self._profiles.get(key.as_string())

    async def save_profile(self, key: ConversationKey, data: str, *, now: datetime) -> None:
        self._profiles[key.as_string()] = data

    # --- TEMPORARY (branch i13-profile only): the follow-through methods are the store
    # branch's; these placeholders only let this branch instantiate the memory store.
    # Drop this block when merging (the store branch's implementations replace it).

    async def entry(self, key: ConversationKey, ref: int) -> Decision | None:
        raise NotImplementedError

    async def follow_up(
        self,
        key: ConversationKey,
        ref: int,
        step: Step,
        *,
        status: str | None = None,
        reschedule: bool = False,
        reminder: Reminder | None = None,
    ) -> Decision | None:
        raise NotImplementedError

    async def reminders_claim(
        self, platform: str, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[DueReminder]:
        raise NotImplementedError

    async def reminders_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        raise NotImplementedError

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
