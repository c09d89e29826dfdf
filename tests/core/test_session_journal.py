"""The session reads the user's own journal once, when the triage question is about to be
asked about a named client, and hands what it found to the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.actions import Ask
from core.events import Answer, Back, ChangeLanguage, Help, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, Decision, Store
from core.questionnaire import Questionnaire
from core.session import Session
from core.store import open_store
from tests.conftest import TODAY

ME = ConversationKey("test", "T1", "U1")
SOMEONE_ELSE = ConversationKey("test", "T1", "U2")
OTHER_WORKSPACE = ConversationKey("test", "T2", "U1")


class CountingStore(MemoryStore):
    """Records which journals were read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[ConversationKey] = []

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        self.reads.append(key)
        return await super().decisions(key, limit)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def triage_hint(actions: tuple | list) -> str:
    (ask,) = [a for a in actions if isinstance(a, Ask)]
    assert ask.question == "respond"
    return ask.hint


async def decline(session: Session, key: ConversationKey, client: str) -> None:
    """A whole conversation that ends in a decline."""
    await session.handle(key, Start(today=TODAY, client=client, fresh=True))
    for text in ("yes", "yes", "no", "neither", "no"):
        await session.handle(key, Answer(text, today=TODAY))
    (latest,) = await session.history(key, 1)
    assert latest.outcome == "decline"


async def test_the_journal_is_read_once_and_only_at_the_triage_question(
    questionnaire: Questionnaire,
) -> None:
    store, clock = CountingStore(), Clock()
    session = Session(questionnaire, store, clock=clock)
    # No client known: the "who" question, then a skip: no read.
    await session.handle(ME, Start(today=TODAY))
    await session.handle(ME, Answer("skip", today=TODAY))
    assert store.reads == []
    # A client named at the start: one read, for this user, as the triage question opens.
    turn = await session.handle(ME, Start(today=TODAY, client="Acme", fresh=True))
    assert store.reads == [ME]
    assert triage_hint(turn.actions) == questionnaire.question_hint("en", "respond")
    # Re-asking the same question (help, another language, back to it) reads nothing more.
    await session.handle(ME, Help())
    await session.handle(ME, ChangeLanguage("fr"))
    await session.handle(ME, Answer("oui", today=TODAY))
    await session.handle(ME, Back())
    # Answering the later questions reads nothing either.
    for text in ("no", "no", "no"):
        await session.handle(ME, Answer(text, today=TODAY))
    assert store.reads == [ME]


async def test_a_second_request_from_the_same_client_is_recalled(
    questionnaire: Questionnaire,
) -> None:
    store, clock = CountingStore(), Clock()
    session = Session(questionnaire, store, clock=clock)
    await decline(session, ME, "ACME Inc.")
    clock.now += timedelta(days=20)
    turn = await session.handle(ME, Start(today=TODAY, client="acme", fresh=True))
    hint = triage_hint(turn.actions)
    assert hint.startswith("You declined Acme on November 3, 2026.")
    # Kept in the conversation: the same line after a language change, with no new read.
    reads = len(store.reads)
    turn = await session.handle(ME, ChangeLanguage("fr"))
    assert "3 novembre 2026" in triage_hint(turn.actions)
    assert len(store.reads) == reads


async def test_only_the_users_own_journal_is_read(questionnaire: Questionnaire) -> None:
    store, clock = CountingStore(), Clock()
    session = Session(questionnaire, store, clock=clock)
    await decline(session, ME, "Acme")
    store.reads.clear()
    for key in (SOMEONE_ELSE, OTHER_WORKSPACE):
        turn = await session.handle(key, Start(today=TODAY, client="Acme"))
        assert triage_hint(turn.actions) == questionnaire.question_hint("en", "respond")
    assert store.reads == [SOMEONE_ELSE, OTHER_WORKSPACE]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path}/s.sqlite3")
    yield store
    await store.close()


async def test_the_line_over_sqlite_for_a_client_typed_at_the_who_question(
    questionnaire: Questionnaire, sqlite_store: Store
) -> None:
    clock = Clock()
    session = Session(questionnaire, sqlite_store, clock=clock)
    await session.handle(ME, Start(today=TODAY))
    await session.handle(ME, Answer("Mme Élodie Crème", today=TODAY))
    for text in ("yes", "yes", "no", "fee"):
        await session.handle(ME, Answer(text, today=TODAY))
    turn = await session.handle(ME, Answer("skip", today=TODAY))
    assert [d.outcome for d in await session.history(ME)] == ["negotiate_fee"]
    clock.now += timedelta(days=2)
    await session.handle(ME, Start(today=TODAY, fresh=True, lang="fr"))
    turn = await session.handle(ME, Answer("elodie creme", today=TODAY))
    assert triage_hint(turn.actions).startswith(
        "Vous négociez le tarif avec Elodie Creme depuis le 3 novembre 2026."
    )
