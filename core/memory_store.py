"""An in-memory :class:`core.ports.Store` for unit tests, benchmarks of the core alone and
``--memory`` runs. It passes the same contract suite as the SQL stores; it keeps copies,
never shared objects, and everything is lost when the process ends."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from core.ports import (
    INBOX_KEEP,
    SENT_REMINDER_KEEP,
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
    aware,
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


@dataclass
class _Reminder:
    id: int
    key: ConversationKey
    kind: str
    due_at: datetime
    created_at: datetime
    claimed_until: datetime | None = None
    sent_at: datetime | None = None


@dataclass
class _Entry:
    """A journal entry as stored (``decision.reminder`` always None) and its reminders."""

    id: int
    decision: Decision
    reminders: list[_Reminder]

    def pending(self) -> Reminder | None:
        unsent = [r for r in self.reminders if r.sent_at is None]
        if not unsent:
            return None
        first = min(unsent, key=lambda r: (r.due_at, r.id))
        return Reminder(first.kind, first.due_at)

    def as_read(self) -> Decision:
        return replace(self.decision, reminder=self.pending())


def _utc(step: Step) -> Step:
    return Step(step.name, step.at.astimezone(UTC))


def _as_stored(d: Decision) -> Decision:
    """The decision as the SQL stores read it back: times in UTC, details sorted, and no
    reminder (the write's own is the one scheduled)."""
    return replace(
        d,
        decided_at=d.decided_at.astimezone(UTC),
        details=tuple(sorted(dict(d.details).items())),
        steps=tuple(_utc(s) for s in d.steps),
        reminder=None,
    )


class MemoryStore(Store):
    def __init__(self) -> None:
        self._rows: dict[str, StoredConversation] = {}
        self._deliveries: dict[str, datetime] = {}
        self._journal: dict[str, list[_Entry]] = {}
        self._reminders: dict[int, tuple[_Entry, _Reminder]] = {}  # insertion order is id order
        self._profiles: dict[str, str] = {}
        self._inbox: dict[int, _Inbox] = {}  # insertion order is id order
        self._inbox_ids: dict[str, int] = {}  # delivery id → row id
        self._outbox: dict[str, _Outbox] = {}  # insertion order is queue order
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
            journal = self._journal.setdefault(name, [])
            if write.replaces_decision and journal:
                self._drop(journal, self._newest(journal, 1)[0])
            # Ignored when written (see Decision): the write's own reminder is the one.
            added = _Entry(next(self._next_id), _as_stored(write.decision), [])
            journal.append(added)
            if write.reminder is not None:
                self._schedule(write.key, added, write.reminder, write.decision.decided_at)
        if write.now is not None:
            self._settle(write.inbox_id, write.outbox, write.now)
        if write.look is not None:
            found = self._find(write.key, write.look.ref)
            if found is not None:
                look = write.look
                found.decision = replace(found.decision, lang=look.lang, details=look.details)
        return True

    def _is_open(self, inbox_id: int) -> bool:
        row = self._inbox.get(inbox_id)
        return row is not None and row.done_at is None

    def _settle(self, inbox_id: int | None, outbox: Sequence[OutboxMessage], now: datetime) -> None:
        if inbox_id is not None:
            self._inbox[inbox_id].done_at = now
        for m in outbox:
            self._outbox[m.id] = _Outbox(m, now)

    def _drop(self, journal: list[_Entry], entry: _Entry) -> None:
        journal.remove(entry)
        for r in entry.reminders:
            self._reminders.pop(r.id, None)

    def _schedule(
        self, key: ConversationKey, entry: _Entry, reminder: Reminder, at: datetime
    ) -> None:
        due_at = reminder.due_at.astimezone(UTC)
        row = _Reminder(next(self._next_id), key, reminder.kind, due_at, at.astimezone(UTC))
        entry.reminders.append(row)
        self._reminders[row.id] = (entry, row)

    async def forget(self, key: ConversationKey) -> int:
        name = key.as_string()
        self._rows.pop(name, None)
        self._profiles.pop(name, None)
        journal = self._journal.pop(name, [])
        for entry in journal:
            for r in entry.reminders:
                self._reminders.pop(r.id, None)
        return len(journal)

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
        reminded = [
            (entry, r)
            for entry, r in self._reminders.values()
            if r.sent_at is not None and r.sent_at <= now - SENT_REMINDER_KEEP
        ]
        for entry, r in reminded:
            entry.reminders.remove(r)
            del self._reminders[r.id]
        return len(gone) + len(old) + len(done) + len(sent) + len(reminded)

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
        journal = self._journal.get(key.as_string(), [])
        return [e.as_read() for e in self._newest(journal, limit)]

    @staticmethod
    def _newest(journal: list[_Entry], limit: int) -> list[_Entry]:
        # Newest decided_at first; for the same instant, the one recorded later first.
        return sorted(journal, key=lambda e: (e.decision.decided_at, e.id), reverse=True)[:limit]

    def _find(self, key: ConversationKey, ref: int) -> _Entry | None:
        # The one recorded last with that ref, as the SQL stores pick it.
        found = [e for e in self._journal.get(key.as_string(), []) if e.decision.ref == ref]
        return max(found, key=lambda e: e.id) if found else None

    async def entry(self, key: ConversationKey, ref: int) -> Decision | None:
        found = self._find(key, ref)
        return None if found is None else found.as_read()

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
        aware("at", step.at)
        if reminder is not None:
            aware("due_at", reminder.due_at)
        found = self._find(key, ref)
        if found is None:
            return None
        d = found.decision
        found.decision = replace(
            d, steps=(*d.steps, _utc(step)), status=d.status if status is None else status
        )
        if reschedule:
            for r in [r for r in found.reminders if r.sent_at is None]:
                found.reminders.remove(r)
                del self._reminders[r.id]
            if reminder is not None:
                self._schedule(key, found, reminder, step.at)
        return found.as_read()

    async def reminders_claim(
        self,
        platform: str,
        now: datetime,
        *,
        claim_until: datetime,
        limit: int = 100,
        key: ConversationKey | None = None,
    ) -> list[DueReminder]:
        due = sorted(
            (
                (entry, r)
                for entry, r in self._reminders.values()
                if r.key.platform == platform
                and (key is None or r.key == key)
                and r.sent_at is None
                and r.due_at <= now
                and (r.claimed_until is None or r.claimed_until <= now)
            ),
            key=lambda pair: (pair[1].due_at, pair[1].id),
        )[:limit]
        claimed = []
        for entry, r in due:
            r.claimed_until = claim_until
            reminder = Reminder(r.kind, r.due_at)
            as_read = replace(entry.decision, reminder=reminder)
            claimed.append(DueReminder(r.id, r.key, r.kind, r.due_at, as_read))
        return claimed

    async def reminders_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        for i in ids:
            found = self._reminders.get(i)
            if found is not None and found[1].sent_at is None:
                found[1].sent_at = now

    async def load_profile(self, key: ConversationKey) -> str | None:
        return self._profiles.get(key.as_string())

    async def save_profile(self, key: ConversationKey, data: str, *, now: datetime) -> None:
        aware("now", now)
        self._profiles[key.as_string()] = data

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
