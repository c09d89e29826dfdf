"""The session reads the user's saved profile once, at a start, and hands it to the engine;
no other turn reads it, and ``forget`` deletes it."""

from __future__ import annotations

from datetime import UTC, datetime

from core.actions import Ask, Result
from core.events import Answer, ChangeTone, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey
from core.profile import UserProfile
from core.questionnaire import Questionnaire
from core.session import Session
from tests.conftest import TODAY
from tests.core.paths import PATHS

ME = ConversationKey("test", "T1", "U1")
SOMEONE_ELSE = ConversationKey("test", "T1", "U2")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class CountingStore(MemoryStore):
    """Records whose profile was read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[ConversationKey] = []

    async def load_profile(self, key: ConversationKey) -> str | None:
        self.reads.append(key)
        return await super().load_profile(key)


SAVED = UserProfile(signature="Camille Martin", tone="brief", lang="fr", colleagues=("Zoé Roy",))


async def test_a_start_applies_the_saved_profile_with_one_read(
    questionnaire: Questionnaire,
) -> None:
    store = CountingStore()
    session = Session(questionnaire, store, clock=lambda: NOW)
    await store.save_profile(ME, SAVED.to_json(), now=NOW)
    turn = await session.handle(ME, Start(today=TODAY, locale="en-US", signature="cam_92"))
    assert store.reads == [ME]
    assert turn.lang == "fr"
    # The rest of the conversation reads nothing more.
    for text in ("Anna", *PATHS["refer"][:-1]):
        turn = await session.handle(ME, Answer(text, today=TODAY))
    (ask,) = [a for a in turn.actions if isinstance(a, Ask)]
    assert [c.label for c in ask.choices] == ["Zoé Roy"]
    turn = await session.handle(ME, Answer("1", today=TODAY))
    await session.handle(ME, ChangeTone("formal"))
    assert store.reads == [ME]
    (result,) = [a for a in turn.actions if isinstance(a, Result)]
    assert (result.lang, result.tone) == ("fr", "brief")
    assert result.draft is not None and "Zoé Roy" in result.draft
    assert result.draft.rstrip().endswith("Camille Martin")


async def test_each_user_gets_their_own_profile(questionnaire: Questionnaire) -> None:
    store = CountingStore()
    session = Session(questionnaire, store, clock=lambda: NOW)
    await store.save_profile(ME, SAVED.to_json(), now=NOW)
    mine = await session.handle(ME, Start(today=TODAY, locale="en-US"))
    theirs = await session.handle(SOMEONE_ELSE, Start(today=TODAY, locale="en-US"))
    assert (mine.lang, theirs.lang) == ("fr", "en")
    assert store.reads == [ME, SOMEONE_ELSE]


async def test_an_unreadable_profile_never_stops_a_conversation(
    questionnaire: Questionnaire,
) -> None:
    store = MemoryStore()
    session = Session(questionnaire, store, clock=lambda: NOW)
    await store.save_profile(ME, '{"tone": "shouty", "lang": 7', now=NOW)
    turn = await session.handle(ME, Start(today=TODAY, locale="en-US"))
    (ask,) = [a for a in turn.actions if isinstance(a, Ask)]
    assert (ask.question, ask.lang) == ("client", "en")


async def test_forget_deletes_the_profile(questionnaire: Questionnaire) -> None:
    store = MemoryStore()
    session = Session(questionnaire, store, clock=lambda: NOW)
    await store.save_profile(ME, SAVED.to_json(), now=NOW)
    await store.save_profile(SOMEONE_ELSE, SAVED.to_json(), now=NOW)
    await session.forget(ME)
    assert await store.load_profile(ME) is None
    assert await store.load_profile(SOMEONE_ELSE) == SAVED.to_json()
    turn = await session.handle(ME, Start(today=TODAY, locale="en-US", fresh=True))
    assert turn.lang == "en"


async def test_a_whole_profile_saved_waits_for_an_edit_under_way(
    questionnaire: Questionnaire,
) -> None:
    """A form's save and a typed edit for one user take turns: the edit's read and write
    are not split by the form's, so the form, saved last, is what stays."""
    import asyncio

    from bots.locks import KeyedLocks

    session = Session(questionnaire, CountingStore(), clock=lambda: NOW, serialiser=KeyedLocks())
    async with session.serialiser.hold(ME.as_string()):  # an edit under way
        saving = asyncio.create_task(session.replace_profile(ME, SAVED))
        await asyncio.sleep(0.01)
        assert not saving.done()
    await saving
    assert await session.profile(ME) == SAVED
    edited = await session.edit_profile(ME, "tone formal")
    assert isinstance(edited, UserProfile) and edited.tone == "formal"
    assert (await session.profile(ME)).signature == "Camille Martin"
