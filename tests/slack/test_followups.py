"""Follow-through on Slack, end to end: a decision offers its next steps, the reminder DM
comes when it is due (and only then, and only in the user's daytime), its buttons work,
the history and the App Home say where each request stands and take next steps too.

The clock is the test's (:class:`~tests.slack.conftest.Clock`): days pass between a
decision and its reminder. The reminder sender is driven by hand (``run_once``), as its
loop would every half minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.slack.translate import conversation_key
from core import followup
from core.actions import ControlKind as Kind
from core.memory_store import MemoryStore
from core.ports import Decision
from core.profile import UserProfile
from core.store import open_store
from tests.fakes.slack_api import FakeSlackApi, User
from tests.slack.conftest import NOW, TEAM, USER, Clock, Slack, open_slack, refs
from tests.slack.test_conversation import draft, header, reach, texts

KEY = conversation_key(TEAM, None, USER)
OTHER = "U0002"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def slack(api: FakeSlackApi, clock: Clock) -> AsyncIterator[Slack]:
    async with aiohttp.ClientSession() as http:
        harness, client = await open_slack(api, MemoryStore(), http=http, clock=clock)
        # Driven by hand: the loop would also claim what comes due while a test runs.
        await harness.bot.reminders.close()
        yield harness
        await client.close()
        await harness.bot.close()


# --- helpers ----------------------------------------------------------------------------


def steps(message: dict[str, Any]) -> dict[str, str]:
    """The message's next-step buttons: "couldnt", "wait 3"… → action_id."""
    return {
        f"{r.question} {r.value}".strip(): action
        for action, r in refs(message).items()
        if r.kind is Kind.NEXT
    }


def labels(message: dict[str, Any]) -> dict[str, str]:
    """The next-step buttons' labels: action_id → label."""
    return {
        e["action_id"]: e["text"]["text"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] in steps(message).values()
    }


async def latest(slack: Slack) -> Decision:
    """The newest journal entry, as the store holds it now."""
    (newest,) = await slack.bot.store.decisions(KEY, 1)
    found = await slack.bot.store.entry(KEY, newest.ref)
    assert found is not None
    return found


async def run_reminders(slack: Slack) -> int:
    sent = await slack.bot.reminders.run_once()
    assert await slack.bot.work.wait(10)
    return sent


def reminders_to(slack: Slack, user: str = USER) -> list[dict[str, Any]]:
    """What was posted with the user id as the channel: reminders, into the user's DM."""
    return [c.args for c in slack.api.to("chat.postMessage") if c.args["channel"] == user]


def responses(slack: Slack, since: int = 0) -> list[dict[str, Any]]:
    return [c.args for c in slack.api.calls[since:] if c.method == "respond"]


def as_shown(args: dict[str, Any], ts: str = "1.5") -> dict[str, Any]:
    """An ephemeral response or a view as the click helper takes a message."""
    return {"ts": ts, "text": args.get("text", ""), "blocks": args["blocks"]}


def home_view(slack: Slack) -> dict[str, Any]:
    return dict(slack.api.to("views.publish")[-1].args["view"])


def entry_blocks(blocks: list[dict[str, Any]], ref: int) -> list[dict[str, Any]]:
    """The actions blocks holding next steps of entry ``ref``."""
    return [
        b
        for b in blocks
        if b["type"] == "actions"
        and any(r.kind is Kind.NEXT and r.version == ref for r in refs({"blocks": [b]}).values())
    ]


async def negotiate(slack: Slack, client: str = "Acme", clock: Clock | None = None) -> Decision:
    """A negotiation decided (a minute later than the last, when ``clock`` is given: an
    entry's ref is the millisecond it was decided)."""
    if clock is not None:
        clock.advance(timedelta(minutes=1))
    await reach(slack, "negotiate_timeline", client=client)
    return await latest(slack)


async def reminder_due(slack: Slack, clock: Clock, entry: Decision) -> dict[str, Any]:
    """Time passes to an hour after the reminder's due time; the sender sends it."""
    assert entry.reminder is not None
    clock.now = entry.reminder.due_at + timedelta(hours=1)
    assert await run_reminders(slack) == 1
    return slack.last()


# --- a negotiation and its reminder -----------------------------------------------------


async def test_a_negotiation_shows_its_next_steps_and_files_a_reminder(slack: Slack) -> None:
    entry = await negotiate(slack)
    result = slack.last()
    assert header(result) == slack.q.outcome_text("en", "negotiate_timeline", "title")
    # The core's buttons, with the core's labels; the result's rows in the core's order.
    offered = followup.next_controls(slack.q, entry, "en", NOW)
    assert list(steps(result)) == [c.word for c in offered]
    assert list(labels(result).values()) == [c.label for c in offered]
    rows = [b["block_id"] for b in result["blocks"] if b["type"] == "actions"]
    assert rows == sorted(rows)
    # The entry, its details and its first reminder, in the user's Slack time zone.
    assert (entry.outcome, entry.client, entry.status) == ("negotiate_timeline", "Acme", "")
    assert entry.detail("tz") == User().tz
    assert entry.reminder is not None and entry.reminder.kind == followup.ANSWER
    assert entry.reminder.due_at == followup.answer_due(NOW, User().tz, followup.DEFAULT_WAIT)
    # The result says when the bot will ask.
    assert "whether Acme answered" in texts(result)


async def test_nothing_is_sent_before_the_reminder_is_due(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    assert entry.reminder is not None
    clock.now = entry.reminder.due_at - timedelta(minutes=1)
    assert await run_reminders(slack) == 0
    assert reminders_to(slack) == []


async def test_the_reminder_dm_and_they_couldnt(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    reminder = await reminder_due(slack, clock, entry)
    # Posted with the user id as the channel: Slack puts it in the DM with the app.
    (posted,) = reminders_to(slack)
    assert posted["text"].startswith("Did Acme answer your proposal of")
    assert header(reminder) == posted["blocks"][0]["text"]["text"]
    assert set(steps(reminder)) == {"agreed", "couldnt", "wait 3", "wait 5", "stop"}
    assert (await latest(slack)).reminder is None  # sent: nothing is pending

    await slack.click(reminder, steps(reminder)["couldnt"])
    thanks = slack.last()
    assert header(thanks) == slack.q.followup_draft("en", "thanks", "title", None)
    assert (draft(thanks) or "").startswith("Hi Acme,")
    # The reminder is answered: its buttons gone, what was answered noted in their place.
    (answered,) = [m for m in slack.shown() if m["ts"] == reminder["ts"]]
    assert steps(answered) == {}
    assert "You answered: They couldn't" in texts(answered)
    after = await latest(slack)
    assert (after.status, after.reminder) == ("couldnt", None)
    assert [s.name for s in after.steps if s.name == "couldnt"] == ["couldnt"]
    # Nothing more comes, however long one waits.
    clock.advance(timedelta(days=30))
    assert await run_reminders(slack) == 0


async def test_they_agreed_confirms_the_new_timeline(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    reminder = await reminder_due(slack, clock, entry)
    await slack.click(reminder, steps(reminder)["agreed"])
    confirm = slack.last()
    assert header(confirm) == slack.q.followup_draft(
        "en", "confirm_timeline", "title", entry.detail("variant")
    )
    assert "March 15, 2027" in (draft(confirm) or "")
    assert (await latest(slack)).status == "agreed"


async def test_no_answer_yet_moves_the_reminder(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    reminder = await reminder_due(slack, clock, entry)
    await slack.click(reminder, steps(reminder)["wait 5"])
    moved = (await latest(slack)).reminder
    assert moved is not None
    assert moved.due_at == followup.answer_due(clock.now, User().tz, 5)
    assert "check in with you on" in slack.last()["text"]
    # The other answers stay on the reminder: they may still be wanted before then.
    (shown,) = [m for m in slack.shown() if m["ts"] == reminder["ts"]]
    assert "couldnt" in steps(shown)

    clock.now = moved.due_at - timedelta(minutes=5)
    assert await run_reminders(slack) == 0
    clock.now = moved.due_at + timedelta(minutes=5)
    assert await run_reminders(slack) == 1
    assert len(reminders_to(slack)) == 2
    assert "was due on" not in slack.last()["text"]  # on time: no apology


async def test_stop_reminding_me_cancels_the_reminder(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    result = slack.last()
    await slack.click(result, steps(result)["stop"])
    after = await latest(slack)
    assert (after.status, after.reminder) == ("closed", None)
    assert "no more reminders about Acme" in slack.last()["text"]
    # The result keeps the answers still open (they agreed, they couldn't), not stop.
    (shown,) = [m for m in slack.shown() if m["ts"] == result["ts"]]
    assert set(steps(shown)) == {"agreed", "couldnt"}
    assert entry.reminder is not None
    clock.now = entry.reminder.due_at + timedelta(days=1)
    assert await run_reminders(slack) == 0
    assert reminders_to(slack) == []


async def test_a_forgotten_journal_sends_no_reminder(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    await slack.command("forget")
    confirm = slack.api.to("respond")[-1].args
    forget = next(a for a, r in refs(as_shown(confirm)).items() if r.kind is Kind.FORGET)
    await slack.click(as_shown(confirm), forget, channel="C0001")
    assert await slack.bot.store.entry(KEY, entry.ref) is None
    assert entry.reminder is not None
    clock.now = entry.reminder.due_at + timedelta(hours=1)
    assert await run_reminders(slack) == 0
    assert reminders_to(slack) == []
    # A button left on the old result now says the request is gone, to the clicker alone.
    result = next(m for m in reversed(slack.shown()) if steps(m))
    since = len(slack.api.calls)
    await slack.click(result, steps(result)["couldnt"])
    (gone,) = responses(slack, since)
    assert gone["text"] == slack.q.ui("en", "followup_gone")


async def test_a_reminder_due_at_night_waits_for_the_morning(
    slack: Slack, clock: Clock, api: FakeSlackApi
) -> None:
    api.users[USER] = User(tz="Asia/Tokyo", tz_offset=9 * 3600)
    tokyo = followup.time_zone("Asia/Tokyo")
    entry = await negotiate(slack)
    assert entry.detail("tz") == "Asia/Tokyo"
    assert entry.reminder is not None
    due = entry.reminder.due_at.astimezone(tokyo)
    assert (due.hour, due.minute, due.weekday()) == (9, 30, 2)  # Wednesday, 09:30 in Tokyo
    # The process was down all day; it comes back at 23:00 in Tokyo (14:00 UTC).
    clock.now = datetime.combine(due.date(), datetime.min.time(), tokyo).astimezone(UTC)
    clock.now += timedelta(hours=23)
    assert await run_reminders(slack) == 0
    assert reminders_to(slack) == []
    deferred = await latest(slack)
    assert [s.name for s in deferred.steps] == [followup.DEFERRED]
    moved = deferred.reminder
    assert moved is not None
    assert moved.due_at.astimezone(tokyo) == (due + timedelta(days=1))
    # The next morning, it goes, naming the day of the proposal it is about.
    clock.now = moved.due_at + timedelta(minutes=1)
    assert await run_reminders(slack) == 1
    (posted,) = reminders_to(slack)
    assert posted["text"].startswith("Did Acme answer your proposal of Nov 27?")


# --- a referral --------------------------------------------------------------------------


async def test_a_referral_writes_the_introduction_and_the_heads_up(
    slack: Slack, api: FakeSlackApi
) -> None:
    api.users[USER] = User(locale="fr-FR")
    await slack.bot.store.save_profile(KEY, UserProfile(tone="formal").to_json(), now=NOW)
    await reach(slack, "refer", client="Acme", typed=True)
    entry = await latest(slack)
    assert (entry.lang, entry.detail("tone")) == ("fr", "formal")
    assert entry.reminder is None  # a referral has nothing to wait for
    result = slack.last()
    assert list(labels(result).values()) == [
        c.label for c in followup.next_controls(slack.q, entry, "fr", NOW)
    ]
    heading = slack.q.followup_text("fr", "results", "heading").format(
        tone=slack.q.tone_label("fr", "formal"), language=slack.q.texts["fr"].name
    )

    await slack.click(result, steps(result)["intro"])
    intro = slack.last()
    assert header(intro) == slack.q.followup_draft("fr", "intro", "title", None)
    assert heading in texts(intro)
    assert "Sam Lee" in (draft(intro) or "")
    # Written in the saved tone: the formal French draft, not the warm one.
    formal = followup.apply(slack.q, entry, "intro", "", NOW).actions[0]
    assert draft(intro) == getattr(formal, "draft", None)
    warm = followup.apply(slack.q, _with(entry, tone="warm"), "intro", "", NOW).actions[0]
    assert draft(intro) != getattr(warm, "draft", None)
    # The heads-up is still to do; the result keeps only that button.
    (shown,) = [m for m in slack.shown() if m["ts"] == result["ts"]]
    assert set(steps(shown)) == {"headsup"}
    assert (await latest(slack)).status == ""

    await slack.click(shown, steps(shown)["headsup"])
    headsup = slack.last()
    assert header(headsup) == slack.q.followup_draft("fr", "headsup", "title", None)
    assert heading in texts(headsup)
    assert (draft(headsup) or "").startswith("Bonjour Sam")
    expected = followup.apply(slack.q, entry, "headsup", "", NOW).actions[0]
    assert draft(headsup) == getattr(expected, "draft", None)
    after = await latest(slack)
    assert after.status == "introduced"
    assert {s.name for s in after.steps} == {"intro", "headsup"}


def _with(entry: Decision, **details: str) -> Decision:
    merged = {**dict(entry.details), **details}
    return replace(entry, details=tuple(sorted(merged.items())))


# --- who may click, and how often ------------------------------------------------------


async def test_someone_elses_next_step_is_refused_politely(slack: Slack) -> None:
    await negotiate(slack)
    result = slack.last()
    since = len(slack.api.calls)
    await slack.click(result, steps(result)["couldnt"], user=OTHER, channel=f"D{USER}")
    (refused,) = [c.args for c in slack.api.calls[since:]]
    assert refused["response_type"] == "ephemeral"
    assert refused["text"] == slack.q.ui("en", "not_yours")
    entry = await latest(slack)
    assert (entry.status, entry.steps) == ("", ())
    assert entry.reminder is not None


async def test_a_double_click_records_once(slack: Slack) -> None:
    await negotiate(slack)
    result = slack.last()
    await slack.click(result, steps(result)["couldnt"])
    await slack.click(result, steps(result)["couldnt"])  # the same message, clicked again
    entry = await latest(slack)
    assert entry.status == "couldnt"
    assert [s.name for s in entry.steps] == ["couldnt"]
    # Either click shows the same draft (a second one is shown again, not recorded).
    thanks = slack.q.followup_draft("en", "thanks", "title", None)
    drafts = [draft(m) for m in slack.shown() if header(m) == thanks]
    assert len(drafts) == 2 and len(set(drafts)) == 1


# --- the history and the App Home -------------------------------------------------------


async def test_history_shows_where_each_request_stands_and_takes_next_steps(
    slack: Slack, clock: Clock
) -> None:
    first = await negotiate(slack, "Acme")
    clock.advance(timedelta(minutes=1))
    await reach(slack, "accept", client="Globex")
    await slack.command("history")
    shown = slack.api.to("respond")[-1].args
    assert shown["response_type"] == "ephemeral"
    status = followup.status_line(slack.q, "en", first, clock.now)
    assert status.startswith("waiting for their answer · reminder on")
    assert f"(Acme) · {status}" in texts(shown)
    assert "(Globex)" in texts(shown)
    # Only the open request has buttons, under its own line.
    assert set(steps(shown)) == {"agreed", "couldnt", "wait 3", "wait 5", "stop"}
    (buttons,) = entry_blocks(shown["blocks"], first.ref)
    line = shown["blocks"][shown["blocks"].index(buttons) - 1]
    assert "Acme" in line["text"]["text"]

    # Clicked in the channel the history was shown in: the draft goes to the DM.
    clock.advance(timedelta(hours=2))
    url = slack.api.response_url("history")
    since = len(slack.api.calls)
    await slack.click(
        as_shown(shown),
        steps(shown)["couldnt"],
        channel="C0001",
        where="ephemeral",
        response_url=url,
    )
    assert slack.api.messages("C0001") == []
    assert header(slack.last()) == slack.q.followup_draft("en", "thanks", "title", None)
    refreshed, moved = responses(slack, since)
    assert refreshed["replace_original"] is True
    assert f"(Acme) · {slack.q.followup_text('en', 'status', 'couldnt')}" in texts(refreshed)
    assert steps(refreshed) == {}
    assert "app_redirect?channel=DU0001" in moved["blocks"][0]["text"]["text"]
    assert (await _entry(slack, first)).status == "couldnt"


async def _entry(slack: Slack, entry: Decision) -> Decision:
    found = await slack.bot.store.entry(KEY, entry.ref)
    assert found is not None
    return found


async def test_the_app_home_shows_next_steps_and_takes_them(slack: Slack, clock: Clock) -> None:
    entry = await negotiate(slack)
    clock.advance(timedelta(days=4))  # Tuesday: three working days on is Friday
    await slack.home()
    home = home_view(slack)
    assert set(steps(home)) == {"agreed", "couldnt", "wait 3", "wait 5", "stop"}
    await slack.click(as_shown(home), steps(home)["wait 3"], where="view")
    # The notice goes to the DM; the App Home is published again with the new date.
    assert "check in with you on" in slack.last()["text"]
    after = await _entry(slack, entry)
    assert after.reminder is not None and entry.reminder is not None
    assert after.reminder.due_at != entry.reminder.due_at
    again = home_view(slack)
    assert followup.status_line(slack.q, "en", after, clock.now) in texts(again)
    assert after.reminder.due_at == followup.answer_due(clock.now, User().tz, 3)


async def test_a_long_history_keeps_within_block_kit_limits(slack: Slack, clock: Clock) -> None:
    for n in range(12):
        await negotiate(slack, f"Client {n}", clock)
    await slack.command("history")
    shown = slack.api.to("respond")[-1].args
    actions = [b for b in shown["blocks"] if b["type"] == "actions"]
    # Buttons for the newest ten; every entry keeps its line. (The api fixture checks
    # Block Kit's limits and that no block id repeats.)
    assert len(actions) == 10
    assert all(f"(Client {n})" in texts(shown) for n in range(12))
    assert entry_blocks(actions, (await latest(slack)).ref)
    await slack.home()
    assert len([b for b in home_view(slack)["blocks"] if b["type"] == "actions"]) == 10 + 2


async def test_next_drafts_follow_a_tone_chosen_after_the_result(slack: Slack) -> None:
    await reach(slack, "refer", client="Acme")
    result = slack.last()
    formal = next(a for a, r in refs(result).items() if r.kind is Kind.TONE and r.value == "formal")
    await slack.click(result, formal)
    (redrawn,) = [m for m in slack.shown() if m["ts"] == result["ts"]]
    await slack.click(redrawn, steps(redrawn)["intro"])
    heading = slack.q.followup_text("en", "results", "heading").format(
        tone=slack.q.tone_label("en", "formal"), language=slack.q.texts["en"].name
    )
    assert heading in texts(slack.last())


# --- booked: back in touch on the free-from date ---------------------------------------


async def test_booked_reminds_on_the_free_from_date_with_the_draft(
    slack: Slack, clock: Clock
) -> None:
    await reach(slack, "booked", client="Acme")
    entry = await latest(slack)
    assert entry.reminder is not None and entry.reminder.kind == followup.REACH_BACK
    assert entry.reminder.due_at.date().isoformat() == entry.detail("free_from")
    await slack.command("history")
    listed = slack.api.to("respond")[-1].args
    assert "free from March 15" in texts(listed)
    assert steps(listed) == {"stop": steps(listed)["stop"]}  # writing opens on that day

    clock.now = entry.reminder.due_at + timedelta(minutes=30)
    assert await run_reminders(slack) == 1
    reminder = slack.last()
    assert reminders_to(slack)[0]["text"].startswith("You're free from March 15")
    assert (draft(reminder) or "").startswith("Hi Acme,")
    assert set(steps(reminder)) == {"reach"}
    assert labels(reminder)[steps(reminder)["reach"]] == "Write to Acme"
    await slack.click(reminder, steps(reminder)["reach"])
    after = await latest(slack)
    assert (after.status, after.reminder) == ("reached", None)
    (answered,) = [m for m in slack.shown() if m["ts"] == reminder["ts"]]
    assert steps(answered) == {}


# --- durable: a restart in between -------------------------------------------------------


async def test_a_reminder_survives_a_restart_and_goes_once(
    api: FakeSlackApi, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'sit.sqlite3'}"
    clock = Clock()
    store = await open_store(url)
    try:
        first, client = await open_slack(api, store, database_url=url, clock=clock)
        await first.bot.reminders.close()
        entry = await negotiate(first)
        await client.close()
        await first.bot.close()
        assert entry.reminder is not None

        # Another process, days later: as it starts, it sends what came due while none
        # was running (its sender's first look is at start-up).
        clock.now = entry.reminder.due_at + timedelta(days=2)
        second, client = await open_slack(api, store, database_url=url, clock=clock)
        try:
            for _ in range(100):
                if reminders_to(second):
                    break
                await asyncio.sleep(0.05)
            await second.bot.reminders.close()
            assert await run_reminders(second) == 0  # once
            (posted,) = reminders_to(second)
            assert "This reminder was due on" in posted["text"]
            reminder = second.last()
            await second.click(reminder, steps(reminder)["couldnt"])
            assert (await latest(second)).status == "couldnt"
        finally:
            await client.close()
            await second.bot.close()
    finally:
        await store.close()
