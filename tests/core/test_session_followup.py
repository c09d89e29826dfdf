"""Follow-through through the session: a decision is filed with its ref, details and first
reminder in the turn's own write; a next step clicked on it records once and shows its
draft; the reminder sender sends each due reminder once, never a forgotten one, and keeps
night-time reminders for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bots.reminders import ReminderSender
from core import followup
from core.actions import ControlKind, Result, Row, Say
from core.controls import NextStep
from core.events import Answer, ChangeLanguage, ChangeTone, Start
from core.memory_store import MemoryStore
from core.ports import ConversationKey, DueReminder
from core.questionnaire import Questionnaire
from core.session import REF_EPOCH, Session, journal_ref
from core.turn import Effect, Turn
from tests.conftest import TODAY

ME = ConversationKey("test", "T1", "U1")
SOMEONE = ConversationKey("test", "T1", "U2")
# A Tuesday, mid-morning in Paris.
DECIDED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = DECIDED) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make(q: Questionnaire, clock: Clock | None = None) -> tuple[Session, MemoryStore, Clock]:
    clock = clock or Clock()
    store = MemoryStore()
    return Session(q, store, clock=clock), store, clock


async def negotiate_fee(
    session: Session, key: ConversationKey = ME, *, tz: str = "Europe/Paris"
) -> Turn:
    """A conversation that ends asking Acme for a higher fee (time yes, terms no)."""
    await session.handle(key, Start(today=TODAY, client="Acme", fresh=True, tz=tz))
    turn = None
    for text in ("yes", "yes", "no", "fee", "4500 EUR"):
        turn = await session.handle(key, Answer(text, today=TODAY))
    assert turn is not None
    return turn


def result_of(turn: Turn) -> Result:
    (result,) = [a for a in turn.actions if isinstance(a, Result)]
    return result


def next_steps(result: Result) -> dict[str, str]:
    return {
        f"{c.question}:{c.value}".rstrip(":"): c.label
        for c in result.controls
        if c.kind is ControlKind.NEXT
    }


async def test_a_decision_is_filed_with_its_ref_details_and_first_reminder(
    questionnaire: Questionnaire,
) -> None:
    session, store, _ = make(questionnaire)
    turn = await negotiate_fee(session)
    result = result_of(turn)
    assert result.outcome == "negotiate_fee"
    (entry,) = await store.decisions(ME)
    assert entry.ref == journal_ref(DECIDED) == int((DECIDED - REF_EPOCH).total_seconds() * 1000)
    assert entry.client == "Acme"
    assert entry.detail("tz") == "Europe/Paris"
    assert entry.detail("tone") == "warm"
    assert "4" in (entry.detail("fee_proposal") or "")
    assert entry.status == ""
    # Three working days after a Tuesday: Friday, at the civil hour in Paris.
    assert entry.reminder is not None and entry.reminder.kind == followup.ANSWER
    local = entry.reminder.due_at.astimezone(followup.time_zone("Europe/Paris"))
    assert (local.date().isoformat(), local.time()) == ("2026-12-04", followup.REMIND_AT)
    # The result offers the next steps, in their own row, every one for this entry.
    steps = next_steps(result)
    assert {"agreed", "couldnt", "stop"} <= set(steps)
    assert all(
        c.version == entry.ref and c.row is Row.NEXT_STEPS
        for c in result.controls
        if c.kind is ControlKind.NEXT
    )
    # and says when it will ask.
    assert "Acme" in result.advice.split("\n\n")[-1]


async def test_another_tone_keeps_the_next_steps_and_files_nothing_new(
    questionnaire: Questionnaire,
) -> None:
    session, store, _ = make(questionnaire)
    first = result_of(await negotiate_fee(session))
    again = await session.handle(ME, ChangeTone("formal", version=first.version))
    assert again.effect is Effect.REVISED
    assert next_steps(result_of(again)) == next_steps(first)
    assert len(await store.decisions(ME)) == 1


async def test_a_tone_or_language_picked_on_the_result_writes_the_next_drafts_for_good(
    questionnaire: Questionnaire,
) -> None:
    session, store, clock = make(questionnaire)
    first = result_of(await negotiate_fee(session))
    formal = result_of(await session.handle(ME, ChangeTone("formal", version=first.version)))
    await session.handle(ME, ChangeLanguage("fr", version=formal.version))
    (entry,) = await store.decisions(ME)
    assert (entry.lang, entry.detail("tone")) == ("fr", "formal")
    assert "4" in (entry.detail("fee_proposal") or "")  # the rest as decided
    # Someone else kept the first tone and language.
    await negotiate_fee(session, SOMEONE)
    (theirs,) = await store.decisions(SOMEONE)
    # Two days on, the conversations are gone; the entries remember how they were shown.
    clock.now += timedelta(days=2)
    await store.sweep(clock.now)
    assert await store.load(ME) is None
    mine = await session.handle(ME, NextStep(entry.ref, "couldnt"))
    other = await session.handle(SOMEONE, NextStep(theirs.ref, "couldnt"))
    assert (mine.lang, other.lang) == ("fr", "en")
    assert result_of(mine).draft != result_of(other).draft


async def test_they_couldnt_shows_the_thank_you_once_and_cancels_the_reminder(
    questionnaire: Questionnaire,
) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    clock.now += timedelta(days=2)
    turn = await session.handle(ME, NextStep(entry.ref, "couldnt"))
    draft = result_of(turn).draft
    assert draft is not None and "Acme" in draft
    after = await store.entry(ME, entry.ref)
    assert after is not None and after.status == "couldnt" and after.reminder is None
    assert [s.name for s in after.steps] == ["couldnt"]
    # A replay (a double click, a redelivered request) shows the same draft, records nothing.
    replay = await session.handle(ME, NextStep(entry.ref, "couldnt"))
    assert result_of(replay).draft == draft
    again = await store.entry(ME, entry.ref)
    assert again is not None and len(again.steps) == 1
    # Settled: "they agreed" is no longer open.
    late = await session.handle(ME, NextStep(entry.ref, "agreed"))
    assert not any(isinstance(a, Result) for a in late.actions)
    assert any(isinstance(a, Say) for a in late.actions)


async def test_wait_moves_the_reminder_and_stop_cancels_it(questionnaire: Questionnaire) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    assert entry.reminder is not None
    clock.now += timedelta(days=3)
    await session.handle(ME, NextStep(entry.ref, "wait", "5"))
    moved = await store.entry(ME, entry.ref)
    assert moved is not None and moved.reminder is not None
    assert moved.reminder.due_at > entry.reminder.due_at
    await session.handle(ME, NextStep(entry.ref, "stop"))
    stopped = await store.entry(ME, entry.ref)
    assert stopped is not None and stopped.reminder is None


async def test_a_step_on_an_entry_that_is_gone_says_so_privately(
    questionnaire: Questionnaire,
) -> None:
    session, store, _ = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    # Someone else's key never reaches this entry (the codec refuses their click first;
    # and the store looks entries up under the clicker's own key).
    theirs = await session.handle(SOMEONE, NextStep(entry.ref, "couldnt"))
    assert theirs.effect is Effect.STALE and theirs.private
    await session.forget(ME)
    gone = await session.handle(ME, NextStep(entry.ref, "couldnt"))
    assert gone.effect is Effect.STALE and gone.private
    assert questionnaire.ui("en", "followup_gone") in [
        a.text for a in gone.actions if isinstance(a, Say)
    ]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[DueReminder, Turn]] = []

    async def __call__(self, due: DueReminder, turn: Turn) -> bool:
        self.sent.append((due, turn))
        return True


async def test_the_sender_sends_a_due_reminder_once_with_its_next_steps(
    questionnaire: Questionnaire,
) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    assert entry.reminder is not None
    out = Outbox()
    sender = ReminderSender(session, "test", out)
    assert await sender.run_once() == 0  # not due yet
    clock.now = entry.reminder.due_at + timedelta(minutes=1)
    assert await sender.run_once() == 1
    assert await sender.run_once() == 0  # marked sent: never again
    ((due, turn),) = out.sent
    assert due.entry.ref == entry.ref
    controls = [
        c
        for a in turn.actions
        if isinstance(a, Result)
        for c in a.controls
        if c.kind is ControlKind.NEXT
    ]
    assert {c.question for c in controls} >= {"agreed", "couldnt"}
    # Only the user's own platform's sender claims it.
    assert await ReminderSender(session, "slack", out).run_once() == 0


async def test_a_forgotten_users_reminder_is_never_sent(questionnaire: Questionnaire) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    assert entry.reminder is not None
    await session.forget(ME)
    clock.now = entry.reminder.due_at + timedelta(days=1)
    out = Outbox()
    assert await ReminderSender(session, "test", out).run_once() == 0
    assert out.sent == []


async def test_a_reminder_claimed_then_forgotten_is_dropped_not_sent(
    questionnaire: Questionnaire,
) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session)
    (entry,) = await store.decisions(ME)
    assert entry.reminder is not None
    clock.now = entry.reminder.due_at + timedelta(minutes=1)
    out = Outbox()

    class ForgetsFirst(ReminderSender):
        async def _one(self, reminder: DueReminder) -> bool:
            await session.forget(ME)  # the user runs forget while it is being sent
            return await super()._one(reminder)

    await ForgetsFirst(session, "test", out).run_once()
    assert out.sent == []


async def test_a_reminder_due_at_night_there_waits_for_the_morning(
    questionnaire: Questionnaire,
) -> None:
    session, store, clock = make(questionnaire)
    await negotiate_fee(session, tz="Asia/Tokyo")
    (entry,) = await store.decisions(ME)
    assert entry.reminder is not None
    # The process was down; it comes back at 23:30 in Tokyo, well after the due time.
    tokyo = followup.time_zone("Asia/Tokyo")
    night = (
        (entry.reminder.due_at + timedelta(days=1)).astimezone(tokyo).replace(hour=23, minute=30)
    )
    clock.now = night.astimezone(UTC)
    out = Outbox()
    sender = ReminderSender(session, "test", out)
    assert await sender.run_once() == 0
    assert out.sent == []
    moved = await store.entry(ME, entry.ref)
    assert moved is not None and moved.reminder is not None
    morning = moved.reminder.due_at.astimezone(tokyo)
    assert morning.date() == night.date() + timedelta(days=1)
    assert 8 <= morning.hour < 20
    clock.now = moved.reminder.due_at
    assert await sender.run_once() == 1
    # Sent in the morning, it still says when it was due: a day and a half late.
    ((_, sent),) = out.sent
    (brought_up,) = [a for a in sent.actions if isinstance(a, Result)]
    was_due = followup._day(entry, "en", entry.reminder.due_at, clock.now)
    assert was_due in brought_up.why
