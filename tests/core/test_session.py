"""The session layer: exactly-once turns, redelivery, expiry, unreadable state, the journal.

Runs against the in-memory store (with forced interleaving, so races really happen) and a
real SQLite file; the store's own contract suite covers PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.actions import Ask, Result, Say
from core.events import Answer, Back, ChangeTone, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, ConversationWrite, Store, StoredConversation, StoreError
from core.questionnaire import Questionnaire
from core.session import Session
from core.state import ConversationState
from core.store import open_store
from core.turn import Effect
from tests.conftest import TODAY

KEY = ConversationKey("test", "T1", "U1")
OTHER = ConversationKey("test", "T1", "U2")


class InterleavingStore(MemoryStore):
    """Yields to the event loop around every read and write, so concurrent turns interleave."""

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        await asyncio.sleep(0)
        row = await super().load(key)
        await asyncio.sleep(0)
        return row

    async def save(self, write: ConversationWrite) -> bool:
        await asyncio.sleep(0)
        return await super().save(write)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = (
        InterleavingStore()
        if request.param == "memory"
        else await open_store(f"sqlite:///{tmp_path}/s.sqlite3")
    )
    yield s
    await s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(questionnaire: Questionnaire, store: Store, clock: Clock) -> Session:
    return Session(questionnaire, store, clock=clock, ttl=timedelta(hours=24))


async def play(
    session: Session, *answers: str, key: ConversationKey = KEY, **start: object
) -> list:
    turn = await session.handle(key, Start(today=TODAY, **start))  # type: ignore[arg-type]
    actions = list(turn.actions)
    for text in answers:
        actions = list((await session.handle(key, Answer(text, today=TODAY))).actions)
    return actions


async def test_racing_clicks_on_one_button_advance_exactly_once(session: Session) -> None:
    await play(session, "Anna", "yes")
    turns = await asyncio.gather(
        *(session.handle(KEY, Answer("no", today=TODAY, question="time")) for _ in range(20))
    )
    advanced = [
        t for t in turns if any(isinstance(a, Ask) and a.question == "not_yet" for a in t.actions)
    ]
    stale = [t for t in turns if any(isinstance(a, Say) and a.kind == "stale" for a in t.actions)]
    assert (len(advanced), len(stale)) == (1, 19)
    row = await session.store.load(KEY)
    assert row is not None
    state = ConversationState.from_json(row.data)
    assert state.step == "not_yet" and state.history == ("client", "respond", "time")


async def test_many_users_in_parallel_do_not_cross_talk(session: Session) -> None:
    keys = [ConversationKey("test", "T1", f"U{i}") for i in range(30)]
    await asyncio.gather(
        *(
            play(session, f"Client {i}", "yes", "yes" if i % 2 else "no", key=k)
            for i, k in enumerate(keys)
        )
    )
    for i, k in enumerate(keys):
        row = await session.store.load(k)
        assert row is not None
        state = ConversationState.from_json(row.data)
        assert state.answers == {
            "client": f"Client {i}",
            "respond": "yes",
            "time": "yes" if i % 2 else "no",
        }


async def test_a_redelivered_event_is_a_no_op(session: Session) -> None:
    await play(session, "Anna", "yes")
    first = await session.handle(KEY, Answer("no", today=TODAY), delivery_id="Ev123")
    again = await session.handle(KEY, Answer("no", today=TODAY), delivery_id="Ev123")
    assert first.effect is not Effect.DUPLICATE
    assert again.effect is Effect.DUPLICATE and again.actions == ()
    row = await session.store.load(KEY)
    assert row is not None and ConversationState.from_json(row.data).step == "not_yet"


async def test_an_idle_conversation_expires_and_a_late_answer_is_told_kindly(
    session: Session, clock: Clock
) -> None:
    await play(session, "Anna", "yes", "no")
    clock.now += timedelta(hours=25)
    turn = await session.handle(KEY, Answer("yes", today=TODAY, question="not_yet"))
    assert [a.kind for a in turn.actions if isinstance(a, Say)] == ["ended"]
    assert turn.actions[0].text == session.questionnaire.ui("en", "expired")  # type: ignore[union-attr]
    # Writing again starts a new conversation, without a resume prompt.
    turn = await session.handle(KEY, Answer("hello", today=TODAY))
    assert [a.question for a in turn.actions if isinstance(a, Ask)] == ["client"]


async def test_a_start_after_expiry_starts_fresh(session: Session, clock: Clock) -> None:
    await play(session, "Anna", "no")
    clock.now += timedelta(days=2)
    turn = await session.handle(KEY, Start(today=TODAY))
    assert [a.question for a in turn.actions if isinstance(a, Ask)] == ["client"]


async def test_expired_rows_are_swept(session: Session, clock: Clock) -> None:
    await play(session, "Anna")
    await play(session, "Bob", key=OTHER)
    clock.now += timedelta(hours=23)
    await session.handle(OTHER, Answer("yes", today=TODAY))
    clock.now += timedelta(hours=2)
    assert await session.sweep() >= 1
    assert await session.store.load(KEY) is None
    assert await session.store.load(OTHER) is not None


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        '{"schema": 99}',
        ConversationState(
            lang="en", tone="warm", step="a_step_that_was_removed", version=3
        ).to_json(),
        ConversationState(lang="de", tone="warm", step="time", version=3).to_json(),
        ConversationState(
            lang="en",
            tone="warm",
            step="time",
            version=3,
            history=("client",),
            answers={"client": "x"},
            status="done",
            outcome="party",
        ).to_json(),
    ],
    ids=["corrupt", "unknown-schema", "removed-step", "unknown-language", "unknown-outcome"],
)
async def test_unreadable_state_restarts_that_conversation_with_an_apology(
    session: Session, data: str, clock: Clock
) -> None:
    await play(session, "Bob", "yes", "no", key=OTHER)
    assert await session.store.save(
        ConversationWrite(KEY, data, 3, None, clock.now + timedelta(hours=1))
    )
    turn = await session.handle(KEY, Answer("yes", today=TODAY, question="time"))
    says = [a for a in turn.actions if isinstance(a, Say)]
    assert says[0].text == session.questionnaire.ui("en", "reset_apology")
    assert [a.question for a in turn.actions if isinstance(a, Ask)] == ["client"]
    row = await session.store.load(KEY)
    assert row is not None and row.version > 3
    ConversationState.from_json(row.data)  # readable again
    other = await session.store.load(OTHER)
    assert other is not None and ConversationState.from_json(other.data).answers == {
        "client": "Bob",
        "respond": "yes",
        "time": "no",
    }


async def test_finished_conversations_go_to_the_journal_once(session: Session) -> None:
    actions = await play(session, "Anna", "yes", "yes", "yes", lang="fr")
    assert any(isinstance(a, Result) for a in actions)
    await session.handle(KEY, ChangeTone("brief"))
    await play(session, "skip", "no", fresh=True)
    history = await session.history(KEY)
    assert [(d.outcome, d.client, d.lang, d.platform) for d in history] == [
        ("no_reply", None, "fr", "test"),  # the language carries over to the next conversation
        ("accept", "Anna", "fr", "test"),
    ]
    assert await session.history(OTHER) == []
    assert await session.forget(KEY) == 2
    assert await session.history(KEY) == []
    assert await session.store.load(KEY) is None


async def test_changing_an_answer_after_the_result_revises_the_journal_entry(
    session: Session,
) -> None:
    await play(session, "Anna", "yes", "yes", "yes")
    await session.handle(KEY, Back())
    await session.handle(KEY, Answer("no", today=TODAY))
    await session.handle(KEY, Answer("fee", today=TODAY))
    await session.handle(KEY, Answer("skip", today=TODAY))
    # One conversation, one entry: the decision it ended with.
    assert [d.outcome for d in await session.history(KEY)] == ["negotiate_fee"]
    # A new conversation is a new entry.
    await play(session, "Bob", "no", fresh=True)
    assert [d.outcome for d in await session.history(KEY)] == ["no_reply", "negotiate_fee"]


class BrokenStore(MemoryStore):
    async def load(self, key: ConversationKey) -> StoredConversation | None:
        raise StoreError("database is down")


async def test_an_unreachable_store_gives_a_friendly_error_not_a_crash(
    questionnaire: Questionnaire, clock: Clock
) -> None:
    session = Session(questionnaire, BrokenStore(), clock=clock)
    turn = await session.handle(KEY, Start(today=TODAY))
    assert turn.effect is Effect.FAILED and turn.actions == (
        Say(questionnaire.ui("en", "error"), "error"),
    )
    # The apology speaks what the event or the platform says the user speaks.
    for event, locale in (
        (Start(today=TODAY, lang="fr"), None),
        (Start(today=TODAY, locale="fr-CA"), None),
        (Back(), "fr"),
    ):
        turn = await session.handle(KEY, event, locale=locale)
        assert turn.lang == "fr" and turn.actions == (
            Say(questionnaire.ui("fr", "error"), "error"),
        )


class CountingProfiles(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.profile_reads = 0

    async def load_profile(self, key: ConversationKey) -> str | None:
        self.profile_reads += 1
        return await super().load_profile(key)


async def test_the_profile_is_read_only_for_typed_text_that_opens_a_conversation(
    questionnaire: Questionnaire,
) -> None:
    store = CountingProfiles()
    session = Session(questionnaire, store, clock=lambda: datetime.now(UTC))
    await session.handle(KEY, Answer("help", today=TODAY))  # a command word: opens nothing
    assert store.profile_reads == 0
    await session.handle(KEY, Answer("Acme", today=TODAY))  # opens one: the profile applies
    assert store.profile_reads == 1
    for text in ("Acme", "yes", "yes", "yes"):  # who, then yes, yes, yes: taken on
        await session.handle(KEY, Answer(text, today=TODAY))
    stored = await store.load(KEY)
    assert stored is not None and ConversationState.from_json(stored.data).status == "done"
    await session.handle(KEY, Answer("thanks", today=TODAY))  # after the result: a reminder
    assert store.profile_reads == 1
