"""The session with an inbox row and a draw callback: the row is settled and the drawn
messages queued in the turn's own transaction, and a row is processed once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.events import Answer, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, InboxItem, OutboxMessage, Store
from core.questionnaire import Questionnaire
from core.session import Session
from core.store import open_store
from core.turn import Effect, Turn
from tests.conftest import TODAY

KEY = ConversationKey("test", "T1", "U1")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOLD = NOW + timedelta(seconds=10)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = (
        MemoryStore()
        if request.param == "memory"
        else await open_store(f"sqlite:///{tmp_path}/s.sqlite3")
    )
    yield s
    await s.close()


@pytest.fixture
def session(questionnaire: Questionnaire, store: Store) -> Session:
    return Session(questionnaire, store, clock=lambda: NOW)


class Drawer:
    """Draws a turn as one message per action, and remembers what it drew."""

    def __init__(self) -> None:
        self.drawn: list[tuple[Turn, list[OutboxMessage]]] = []

    def __call__(self, turn: Turn) -> list[OutboxMessage]:
        n = len(self.drawn)
        messages = [
            OutboxMessage(f"m{n}.{i}", KEY.as_string(), json.dumps(type(a).__name__), HOLD)
            for i, a in enumerate(turn.actions)
        ]
        self.drawn.append((turn, messages))
        return messages


async def put(store: Store, delivery: str) -> int:
    inbox_id = await store.inbox_put(
        InboxItem(delivery, KEY.as_string(), "{}", NOW), claim_until=HOLD
    )
    assert inbox_id is not None
    return inbox_id


async def test_a_saved_turn_settles_its_inbox_row_and_queues_what_it_shows(
    session: Session, store: Store
) -> None:
    draw = Drawer()
    inbox_id = await put(store, "ev1")
    turn = await session.handle(KEY, Start(today=TODAY), inbox_id=inbox_id, draw=draw)

    assert turn.effect is Effect.ADVANCED
    drawn_turn, messages = draw.drawn[-1]
    assert drawn_turn is turn and messages  # what was queued is what the caller holds
    assert not await store.inbox_open(inbox_id)
    queued = await store.outbox_claim(HOLD, claim_until=HOLD + timedelta(seconds=1))
    assert [m.id for m in queued] == [m.id for m in messages]


async def test_a_turn_that_saves_nothing_still_settles_its_row_and_queues_its_messages(
    session: Session, store: Store
) -> None:
    await session.handle(KEY, Start(today=TODAY))
    draw = Drawer()
    inbox_id = await put(store, "ev1")
    before = await store.load(KEY)
    turn = await session.handle(KEY, Answer("help", TODAY), inbox_id=inbox_id, draw=draw)

    assert turn.effect is Effect.INFORMED
    assert await store.load(KEY) == before
    assert not await store.inbox_open(inbox_id)
    queued = await store.outbox_claim(HOLD, claim_until=HOLD + timedelta(seconds=1))
    assert [m.id for m in queued] == [m.id for m in draw.drawn[-1][1]]


async def test_an_inbox_row_processed_twice_changes_the_conversation_once(
    session: Session, store: Store
) -> None:
    await session.handle(KEY, Start(today=TODAY))
    await session.handle(KEY, Answer("skip", TODAY))
    inbox_id = await put(store, "typed-yes")
    # Two processes whose claims overlapped replay the same typed answer at once, then
    # a third comes late: one answer lands, once.
    turns = await asyncio.gather(
        *(session.handle(KEY, Answer("yes", TODAY), inbox_id=inbox_id, draw=Drawer()) for _ in "ab")
    )
    late = await session.handle(KEY, Answer("yes", TODAY), inbox_id=inbox_id, draw=Drawer())

    assert sorted(t.effect for t in turns) == sorted([Effect.ADVANCED, Effect.DUPLICATE])
    assert late.effect is Effect.DUPLICATE
    stored = await store.load(KEY)
    assert stored is not None and stored.version == 3  # start, skip, yes: nothing twice
    queued = await store.outbox_claim(HOLD, claim_until=HOLD + timedelta(seconds=1))
    assert len({m.id.split(".")[0] for m in queued}) == 1  # one turn's messages only
