"""The session moves a conversation's indexed deadline only when it must: turns close
together keep the stored one (no index write), an idle conversation still ends on time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.events import Answer, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, ConversationWrite
from core.questionnaire import Questionnaire
from core.session import EXPIRY_STEP, Session

KEY = ConversationKey("test", "T1", "U1")
TODAY = date(2026, 11, 27)
TTL = timedelta(hours=24)


class RecordingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[ConversationWrite] = []

    async def save(self, write: ConversationWrite) -> bool:
        self.writes.append(write)
        return await super().save(write)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_the_deadline_moves_only_when_it_must(questionnaire: Questionnaire) -> None:
    store, clock = RecordingStore(), Clock()
    session = Session(questionnaire, store, clock=clock, ttl=TTL)
    start = clock.now

    await session.handle(KEY, Start(today=TODAY))
    clock.now += timedelta(seconds=30)
    await session.handle(KEY, Answer("Anna", today=TODAY))
    assert [w.expires_at for w in store.writes] == [start + TTL, None]

    clock.now = start + EXPIRY_STEP  # far enough: the deadline follows the last turn
    await session.handle(KEY, Answer("yes", today=TODAY, question="respond"))
    assert store.writes[-1].expires_at == clock.now + TTL
    stored = await store.load(KEY)
    assert stored is not None and stored.expires_at == clock.now + TTL


async def test_a_kept_deadline_still_ends_an_idle_conversation_within_the_ttl(
    questionnaire: Questionnaire,
) -> None:
    store, clock = RecordingStore(), Clock()
    session = Session(questionnaire, store, clock=clock, ttl=TTL)
    await session.handle(KEY, Start(today=TODAY))
    clock.now += EXPIRY_STEP - timedelta(seconds=1)
    last_turn = clock.now
    await session.handle(KEY, Answer("Anna", today=TODAY))
    assert store.writes[-1].expires_at is None

    # Idle for a full ttl after the last turn: over.
    clock.now = last_turn + TTL
    turn = await session.handle(KEY, Answer("yes", today=TODAY, question="respond"))
    assert any(getattr(a, "kind", None) == "ended" for a in turn.actions)


async def test_a_short_ttl_keeps_its_deadline_for_a_hundredth_of_it_at_most(
    questionnaire: Questionnaire,
) -> None:
    store, clock = RecordingStore(), Clock()
    ttl = timedelta(minutes=10)
    session = Session(questionnaire, store, clock=clock, ttl=ttl)
    await session.handle(KEY, Start(today=TODAY))
    clock.now += ttl / 100
    await session.handle(KEY, Answer("Anna", today=TODAY))
    assert store.writes[-1].expires_at == clock.now + ttl
