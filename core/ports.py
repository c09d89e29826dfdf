"""The store port: what the session layer needs from storage, and nothing more.

Implementations: ``core.store.sqlite`` (the embedded default), ``core.store.postgres`` and
``core.memory_store``; every one must pass ``tests/store/test_contract.py``. States travel
as JSON text so a store never needs to understand them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# How long a processed inbox row is kept: it answers a platform's redelivery of the same id
# (Slack retries for about 5 minutes) with a no-op. A sent outbox row is kept as long.
INBOX_KEEP = timedelta(minutes=15)
# An inbox row or outbox message still open after this long is dropped by the sweep
# (a payload that can never be processed, a channel that is gone).
UNDELIVERED_KEEP = timedelta(hours=24)
# A sent reminder is kept this long (the entry's steps keep what happened), then swept.
SENT_REMINDER_KEEP = timedelta(days=30)


def aware(name: str, value: datetime) -> datetime:
    """``value``, refused when naive: every store reads a naive datetime as local time, so
    it is refused rather than guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")
    return value


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
        # an id cannot make two keys collide. Ids rarely hold either character: built a few
        # times per request, the plain join is tried first.
        plain = f"{self.platform}:{self.workspace}:{self.user}"
        if plain.count(":") == 2 and "%" not in plain:
            return plain
        return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in self.parts())

    def parts(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace, self.user)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    data: str  # the state as JSON text; may be unreadable, the session layer decides
    version: int
    expires_at: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class Step:
    """One follow-up step recorded on a journal entry: ``name`` is a step id of
    ``core.followup`` ("agreed", "couldnt", "snoozed", "intro", "reminded", ...)."""

    name: str
    at: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class Reminder:
    """A follow-up to bring up at ``due_at``: ``kind`` is "answer" (did the client answer
    the proposal?) or "reach_back" (the user is free again: write to the client)."""

    kind: str
    due_at: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class Decision:
    """One client request as decided, kept in the user's decision journal, with what
    happened since (its follow-up ``steps`` and ``status``).

    ``ref`` identifies the entry within the user's journal (chosen by the session when it
    is decided; a control carries it). ``details`` are the answers a next-step draft needs
    (tone, fee, dates, colleague, signature, time zone, a fingerprint of the request), as
    sorted ``(name, value)`` pairs. ``status`` is where the request stands ("" as decided).
    ``reminder`` is the entry's pending reminder (not yet sent), when it has one; a store
    fills it in when reading, and ignores it when writing (see ``ConversationWrite``)."""

    outcome: str
    decided_at: datetime  # timezone-aware UTC
    lang: str
    platform: str
    client: str | None = None
    ref: int = 0
    details: tuple[tuple[str, str], ...] = ()
    status: str = ""
    steps: tuple[Step, ...] = ()
    reminder: Reminder | None = None

    def detail(self, name: str) -> str | None:
        for k, v in self.details:
            if k == name:
                return v
        return None


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder a sender has claimed: ``id`` marks it sent; ``entry`` is its journal
    entry as it stands (``entry.reminder`` is this reminder)."""

    id: int
    key: ConversationKey
    kind: str
    due_at: datetime
    entry: Decision


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One event, command or click as the platform delivered it, written before its ack.

    ``delivery_id`` is the platform's id for it (a redelivery has the same one); ``key`` is
    the conversation it concerns (``ConversationKey.as_string()``, "" for none), so rows
    replay in order per conversation; ``payload`` is the platform's JSON."""

    delivery_id: str
    key: str
    payload: str
    received_at: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    key: str
    payload: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message a turn must show, already drawn for its platform (``payload``: JSON).

    ``id`` is chosen by the writer, so it can mark the message sent without reading it
    back; until ``hold_until`` the writer sends it itself and no sender claims it."""

    id: str
    key: str
    payload: str
    hold_until: datetime  # timezone-aware UTC


@dataclass(frozen=True, slots=True)
class EntryLook:
    """How a decided conversation's result was last shown (its tone, in ``details``, and
    its language), for its journal entry ``ref``: the next drafts are written so too,
    after the conversation itself is gone."""

    ref: int
    lang: str
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ConversationWrite:
    """One write of a conversation, and of its journal entry when it has just finished.

    The write lands only if the stored version is still ``expected_version`` (``None``: only
    if there is no row yet). ``expires_at`` is the new deadline, or ``None`` to keep the
    stored one (an update only: a new row needs a deadline). A ``decision`` goes into the
    journal in the same transaction; ``replaces_decision`` first removes the user's latest
    entry (the same conversation, decided again after going back).

    ``inbox_id``: the inbox row this turn processes; it is marked done in the same
    transaction, and the write lands only while that row is still open (a row processed
    twice, by two processes whose claims overlapped, changes the conversation once).
    ``outbox``: the messages the turn must show, queued in the same transaction.
    ``now`` (needed with either) is when the row was processed and the messages queued.
    ``reminder`` (only with a ``decision``) is the entry's first reminder; a replaced
    decision takes its pending reminders with it. ``look`` (never with a ``decision``):
    the result shown again in another tone or language, set on its entry in the same
    transaction (nothing when the entry is gone).
    """

    key: ConversationKey
    data: str
    version: int
    expected_version: int | None
    expires_at: datetime | None
    decision: Decision | None = None
    replaces_decision: bool = False
    inbox_id: int | None = None
    outbox: tuple[OutboxMessage, ...] = ()
    now: datetime | None = None
    reminder: Reminder | None = None  # scheduled for ``decision``, in the same transaction
    look: EntryLook | None = None

    def __post_init__(self) -> None:
        if self.now is None and (self.inbox_id is not None or self.outbox):
            raise ValueError("a write that settles an inbox row or queues messages needs now")
        if self.expires_at is None and self.expected_version is None:
            raise ValueError("a new conversation needs a deadline (expires_at)")
        if self.look is not None and self.decision is not None:
            raise ValueError("a new entry is written whole: no look to set on it")
        times = [("expires_at", self.expires_at), ("decided_at", self._decided_at())]
        times.append(("now", self.now))
        times += [("hold_until", m.hold_until) for m in self.outbox]
        if self.reminder is not None:
            times.append(("due_at", self.reminder.due_at))
        for name, value in times:
            if value is not None:
                aware(name, value)
        if self.decision is not None and self.decision.platform != self.key.platform:
            raise ValueError(
                f"decision made on {self.decision.platform!r} filed under a "
                f"{self.key.platform!r} key"
            )
        if any(m.key != self.key.as_string() for m in self.outbox):
            raise ValueError("an outbox message filed under another conversation")
        if self.reminder is not None and self.decision is None:
            raise ValueError("a reminder is scheduled with the decision it follows up")

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
        """Delete the user's conversation, journal, reminders and profile together; returns
        how many journal entries went."""

    @abstractmethod
    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        """Remember a platform delivery id; True the first time, False for a redelivery."""

    @abstractmethod
    async def sweep(self, now: datetime) -> int:
        """Delete expired conversations and delivery ids, inbox rows processed and outbox
        messages sent more than ``INBOX_KEEP`` ago, and those still open after
        ``UNDELIVERED_KEEP``, and reminders sent more than ``SENT_REMINDER_KEEP`` ago;
        returns how many rows went."""

    # --- the inbox and the outbox (see docs in README "Where your data lives") ----------

    @abstractmethod
    async def inbox_put(self, item: InboxItem, *, claim_until: datetime) -> int | None:
        """Write ``item`` (claimed by the caller until ``claim_until``); its row id, or None
        when its delivery id is already in the inbox (a redelivery: nothing is written)."""

    @abstractmethod
    async def inbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[InboxRow]:
        """Claim until ``claim_until`` the oldest open rows whose claim ran out by ``now``
        (their receiver died, or failed); oldest first."""

    @abstractmethod
    async def inbox_open(self, inbox_id: int) -> bool:
        """True while the row exists and is not processed."""

    @abstractmethod
    async def finish(
        self, inbox_id: int | None, outbox: Sequence[OutboxMessage], *, now: datetime
    ) -> bool:
        """For a turn that saves no conversation: mark the inbox row done and queue its
        messages, in one transaction. False, writing nothing, when the row is already done."""

    @abstractmethod
    async def outbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        """Claim until ``claim_until`` the oldest unsent messages whose hold ran out by
        ``now``; in the order they were queued (``hold_until`` is the new claim)."""

    @abstractmethod
    async def outbox_sent(self, ids: Sequence[str], *, now: datetime) -> None:
        """Mark messages sent."""

    @abstractmethod
    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        """The user's journal, newest first."""

    # --- follow-through: journal entries, their reminders, the user's profile ----------

    @abstractmethod
    async def entry(self, key: ConversationKey, ref: int) -> Decision | None:
        """The user's journal entry ``ref`` (with its pending reminder), or None when there
        is none (never decided, or forgotten)."""

    @abstractmethod
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
        """Record ``step`` on the entry and, when given, its new ``status``; with
        ``reschedule``, replace its pending reminders by ``reminder`` (None: cancel them).
        One transaction. The entry as it now stands, or None (writing nothing) when there
        is no such entry."""

    @abstractmethod
    async def reminders_claim(
        self,
        platform: str,
        now: datetime,
        *,
        claim_until: datetime,
        limit: int = 100,
        key: ConversationKey | None = None,
    ) -> list[DueReminder]:
        """Claim until ``claim_until`` the unsent reminders of ``platform`` due by ``now``
        whose earlier claim (if any) ran out, earliest first; with ``key``, that user's only
        (the terminal shows its own at start, and leaves other people's alone). Atomic
        across processes: two concurrent callers never claim the same reminder."""

    @abstractmethod
    async def reminders_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        """Mark claimed reminders sent: they are never claimed again."""

    @abstractmethod
    async def load_profile(self, key: ConversationKey) -> str | None:
        """The user's saved profile (JSON text, see ``core.profile``), or None."""

    @abstractmethod
    async def save_profile(self, key: ConversationKey, data: str, *, now: datetime) -> None:
        """Create or replace the user's profile."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError when the database cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
