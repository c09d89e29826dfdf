"""Per-conversation serialisation (issue 12): events racing on one conversation queue in
the process instead of exhausting the store's compare-and-set, and the lock table only
holds the keys with work in flight."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest

from bots.locks import KeyedLocks
from core.events import Restart, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, ConversationWrite, StoredConversation
from core.questionnaire import Questionnaire
from core.session import Session
from core.turn import Effect
from tests.conftest import TODAY

KEY = ConversationKey("test", "T1", "U1")
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)


class SlowStore(MemoryStore):
    """A database's latency: every read and write waits a little, in random amounts, so
    concurrent turns really overlap between their read and their compare-and-set."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.lost_races = 0

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        await asyncio.sleep(self.rng.uniform(0, 0.002))
        return await super().load(key)

    async def save(self, write: ConversationWrite) -> bool:
        await asyncio.sleep(self.rng.uniform(0, 0.002))
        saved = await super().save(write)
        self.lost_races += not saved
        return saved


async def race(session: Session, racers: int) -> list[Effect]:
    await session.handle(KEY, Start(today=TODAY))
    turns = await asyncio.gather(*(session.handle(KEY, Restart()) for _ in range(racers)))
    return [t.effect for t in turns]


@pytest.mark.parametrize("racers", [8, 16])
@pytest.mark.parametrize("seed", range(2))
async def test_racing_events_on_one_conversation_are_all_served(
    questionnaire: Questionnaire, seed: int, racers: int
) -> None:
    store = SlowStore(seed)
    locks = KeyedLocks()
    session = Session(questionnaire, store, clock=lambda: NOW, serialiser=locks)
    effects = await race(session, racers)
    assert Effect.FAILED not in effects
    assert store.lost_races == 0  # nobody even had to retry
    assert len(locks) == 0  # no lock left behind


async def test_without_serialisation_the_same_race_fails_someone(
    questionnaire: Questionnaire,
) -> None:
    """The control: what the locks prevent (the compare-and-set alone gives up)."""
    failed = 0
    for seed in range(5):
        store = SlowStore(seed)
        session = Session(questionnaire, store, clock=lambda: NOW)
        failed += (await race(session, 16)).count(Effect.FAILED)
    assert failed > 0


async def test_the_lock_table_holds_only_keys_in_use() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def hold(key: str, name: str) -> None:
        async with locks.hold(key):
            order.append(name)
            await release.wait()

    tasks = [asyncio.create_task(hold("a", "a1")), asyncio.create_task(hold("a", "a2"))]
    tasks.append(asyncio.create_task(hold("b", "b1")))
    await asyncio.sleep(0.01)
    assert order == ["a1", "b1"] and len(locks) == 2  # a2 waits its turn on "a"
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["a1", "b1", "a2"] and len(locks) == 0
    for n in range(1000):
        async with locks.hold(f"k{n}"):
            pass
    assert len(locks) == 0
