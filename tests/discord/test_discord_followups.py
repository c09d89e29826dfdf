"""Follow-through on the real discord.py client: the next steps under a result and in the
history, the reminder DM the sender posts through the fake REST API when time has passed
(at a civil hour in the user's saved time zone), and what its buttons do: a draft, a
snooze, no more reminders. Someone else's click, a double click, a forgotten journal and
closed DMs change nothing they should not.

The clock is the test's: a decision is made at noon on Friday ``TODAY`` (UTC) and the test
moves time on; the sender's own loop is stopped, the test runs it once where it wants it.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import controls, followup
from core.actions import ControlKind as Kind
from core.ports import Decision, Reminder
from tests.core.paths import PATHS
from tests.discord.harness import (
    ALICE,
    BOB,
    NOON,
    Harness,
    Message,
    StartBot,
    User,
    button,
    buttons,
    settle,
)
from tests.fakes.discord_api import EPHEMERAL

# Three working days after Friday noon: Wednesday, at the civil hour (UTC by default).
WEDNESDAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def h(start_bot: StartBot, clock: Clock) -> Harness:
    harness = await start_bot(clock=clock)
    await harness.bot.reminders.close()  # the tests run the sender themselves
    return harness


async def decide(user: User, outcome: str, client: str = "ACME") -> Decision:
    """A conversation through to ``outcome`` about ``client``; its journal entry."""
    await user.slash()
    for answer in (client, *PATHS[outcome]):
        await user.answer_with_buttons(answer)
    return (await user.decisions())[0]


def steps_on(message: Message) -> list[tuple[str, str, str]]:
    """The next-step buttons on ``message``: (step, value, label)."""
    found = []
    for b in buttons(message):
        ref = controls.decode(b["custom_id"])
        if ref is not None and ref.kind is Kind.NEXT:
            found.append((ref.question, ref.value, b["label"]))
    return found


def ref_of(b: dict[str, Any]) -> controls.ControlRef:
    ref = controls.decode(b["custom_id"])
    assert ref is not None
    return ref


def step_button(message: Message, step: str, value: str = "") -> str:
    for b in buttons(message):
        ref = controls.decode(b["custom_id"])
        if ref is not None and ref.kind is Kind.NEXT and (ref.question, ref.value) == (step, value):
            return str(b["custom_id"])
    raise AssertionError(f"no {step} {value} button on {message['content'][:80]!r}")


def offered(h: Harness, entry: Decision, now: datetime) -> list[tuple[str, str, str]]:
    """What the core offers on ``entry`` at ``now``: (step, value, label)."""
    return [(c.question, c.value, c.label) for c in followup.next_controls(h.q, entry, "en", now)]


async def entry_of(user: User) -> Decision:
    [entry] = await user.decisions()
    return entry


async def send_due(h: Harness) -> tuple[int, list[tuple[str, str]]]:
    """Run the sender once: how many reminders it counted as done, and the REST calls."""
    before = len(h.fake.requests)
    count = await h.bot.reminders.run_once()
    return count, [(r.method, r.path) for r in h.fake.requests[before:]]


def dm_calls(h: Harness, user: User) -> list[tuple[str, str]]:
    return [
        ("POST", "/users/@me/channels"),
        ("POST", f"/channels/{h.fake.dm_channel(user.id)}/messages"),
    ]


def draft_of(message: Message) -> str:
    _, draft = message["content"].split("\n```\n")
    return str(draft.removesuffix("\n```"))


# --- the result -------------------------------------------------------------------------
async def test_a_negotiation_ends_with_next_steps_and_a_reminder(h: Harness, clock: Clock) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    entry = await decide(alice, "negotiate_fee")

    result = alice.last()
    assert steps_on(result) == offered(h, entry, clock.now)
    assert [s for s, _, _ in steps_on(result)] == ["agreed", "couldnt", "wait", "wait", "stop"]
    button(result, Kind.BACK)  # the conversation's own buttons are still there
    assert entry.reminder == Reminder(followup.ANSWER, WEDNESDAY)
    assert entry.platform == "discord"
    assert (
        "I'll ask you on Wed, Dec 2 whether ACME answered." in (result["embeds"][0]["description"])
    )


# --- the reminder DM ----------------------------------------------------------------------
async def test_the_reminder_dm_and_they_couldnt(h: Harness, clock: Clock) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    entry = await decide(alice, "negotiate_fee")
    result = alice.last()

    clock.now = WEDNESDAY - timedelta(minutes=1)
    assert await send_due(h) == (0, [])  # not yet due
    clock.now = WEDNESDAY + timedelta(minutes=20)
    count, calls = await send_due(h)
    assert (count, calls) == (1, dm_calls(h, alice))
    reminder = alice.last()
    assert reminder["id"] != result["id"]
    assert reminder["embeds"][0]["title"] == "Did ACME answer your proposal of Nov 27?"
    assert steps_on(reminder) == offered(h, entry, clock.now)
    assert (await entry_of(alice)).reminder is None  # sent: nothing pending
    assert await send_due(h) == (0, [])  # sent once

    click = await alice.click(reminder, step_button(reminder, "couldnt"))
    assert h.fake.interactions[click["token"]].responses == [6]  # deferred, then the draft
    thanks = alice.last()
    assert thanks["embeds"][0]["title"] == h.q.followup_draft("en", "thanks", "title")
    draft = draft_of(thanks)
    assert draft.startswith("Hi ACME,") and draft.endswith("Alice Martin")
    assert "work together in the future" in draft
    assert steps_on(thanks) == []  # settled: nothing more to do
    done = await entry_of(alice)
    assert (done.status, done.reminder, [s.name for s in done.steps]) == (
        "couldnt",
        None,
        [followup.REMINDED, "couldnt"],
    )
    clock.now += timedelta(days=30)
    assert await send_due(h) == (0, [])


async def test_no_answer_yet_moves_the_reminder_and_stop_cancels_it(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice")
    await decide(alice, "negotiate_timeline")
    clock.now = WEDNESDAY + timedelta(hours=1)
    await send_due(h)
    reminder = alice.last()

    await alice.click(reminder, step_button(reminder, "wait", "3"))
    snoozed = await entry_of(alice)
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # Wednesday + 3 working days
    assert snoozed.reminder == Reminder(followup.ANSWER, monday)
    assert alice.last()["content"] == "Noted. I'll check in with you on Mon, Dec 7."
    assert [s.name for s in snoozed.steps] == [followup.REMINDED, "snoozed"]

    clock.now = monday - timedelta(hours=1)
    assert await send_due(h) == (0, [])
    clock.now = monday
    assert (await send_due(h))[0] == 1
    again = alice.last()
    assert again["embeds"][0]["title"] == "Did ACME answer your proposal of Nov 27?"

    await alice.click(again, step_button(again, "stop"))
    stopped = await entry_of(alice)
    assert (stopped.status, stopped.reminder) == ("closed", None)
    assert alice.last()["content"].startswith("Okay, no more reminders about ACME.")
    clock.now += timedelta(days=60)
    assert await send_due(h) == (0, [])
    # Stopping the reminders still lets the user say how it ended, from the reminder.
    await alice.click(again, step_button(again, "agreed"))
    assert (await entry_of(alice)).status == "agreed"
    assert alice.last()["embeds"][0]["title"] == h.q.followup_draft(
        "en", "confirm_timeline", "title", (await entry_of(alice)).detail("variant")
    )


async def test_a_reminder_for_a_forgotten_journal_is_never_sent(h: Harness, clock: Clock) -> None:
    alice = h.user(ALICE, "alice")
    await decide(alice, "negotiate_fee")
    confirm = h.reply(await alice.command("discord_forget_name"))
    await alice.click(confirm, button(confirm, Kind.FORGET))
    assert await alice.decisions() == []

    clock.now = WEDNESDAY + timedelta(hours=1)
    assert await send_due(h) == (0, [])
    clock.now += timedelta(days=30)
    assert await send_due(h) == (0, [])


async def test_a_reminder_clicked_after_forget_changes_nothing(h: Harness, clock: Clock) -> None:
    alice = h.user(ALICE, "alice")
    await decide(alice, "negotiate_fee")
    clock.now = WEDNESDAY + timedelta(hours=1)
    await send_due(h)
    reminder = alice.last()
    confirm = h.reply(await alice.command("discord_forget_name"))
    await alice.click(confirm, button(confirm, Kind.FORGET))

    click = await alice.click(reminder, step_button(reminder, "couldnt"))
    [notice] = h.followups(click)
    assert notice["flags"] & EPHEMERAL
    assert notice["content"] == h.q.ui("en", "followup_gone")
    assert alice.last() == reminder
    assert await alice.decisions() == []


async def test_a_process_that_was_down_sends_once_with_the_date_it_was_due(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice")
    await decide(alice, "negotiate_fee")
    clock.now = WEDNESDAY + timedelta(days=1, hours=1)  # Thursday morning
    assert (await send_due(h))[0] == 1
    late = alice.last()["embeds"][0]["description"]
    assert late.startswith("This reminder was due on Wed, Dec 2; sorry it comes late.")
    assert await send_due(h) == (0, [])


async def test_booked_reminds_on_the_free_from_date_with_the_draft(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    entry = await decide(alice, "booked")
    free = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
    assert entry.reminder == Reminder(followup.REACH_BACK, free)

    clock.now = free + timedelta(minutes=10)
    count, calls = await send_due(h)
    assert (count, calls) == (1, dm_calls(h, alice))
    reminder = alice.last()
    assert reminder["embeds"][0]["title"] == "You're free from March 15: time to write to ACME."
    assert draft_of(reminder).startswith("Hi ACME,")
    assert [s for s, _, _ in steps_on(reminder)] == ["reach"]

    drafted = draft_of(reminder)
    await alice.click(reminder, step_button(reminder, "reach"))
    assert draft_of(alice.last()) == drafted
    done = await entry_of(alice)
    assert (done.status, done.reminder) == ("reached", None)
    # The reminder keeps no button that could only say "no longer open": what was answered
    # takes its place.
    assert reminder["components"] == []
    assert reminder["content"].endswith("\n\n**You answered: Write to ACME**")


async def test_a_reminder_comes_at_a_civil_hour_in_the_saved_time_zone(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice")
    change = h.fake.slash(
        alice.payload,
        h.q.ui("en", "discord_profile_name"),
        in_guild=False,
        **{h.q.ui("en", "discord_profile_option"): "timezone Asia/Tokyo"},
    )
    await h.interact(change)
    entry = await decide(alice, "negotiate_fee")
    # Friday noon UTC is Friday evening in Tokyo: three working days on is Wednesday 09:30
    # there, which is still Tuesday in UTC.
    tokyo_wednesday = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    assert entry.detail("tz") == "Asia/Tokyo"
    assert entry.reminder == Reminder(followup.ANSWER, tokyo_wednesday)

    # The process was down all day: it comes back at 22:00 in Tokyo, which is night there.
    clock.now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert await send_due(h) == (0, [])
    deferred = await entry_of(alice)
    tokyo_thursday = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
    assert deferred.reminder == Reminder(followup.ANSWER, tokyo_thursday)
    assert [s.name for s in deferred.steps] == [followup.DEFERRED]

    clock.now = tokyo_thursday - timedelta(minutes=5)
    assert await send_due(h) == (0, [])
    clock.now = tokyo_thursday + timedelta(minutes=5)
    count, calls = await send_due(h)
    assert (count, calls) == (1, dm_calls(h, alice))
    assert alice.last()["embeds"][0]["title"] == "Did ACME answer your proposal of Nov 27?"


# --- refer ----------------------------------------------------------------------------------
async def test_a_referral_offers_the_introduction_and_the_heads_up(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    entry = await decide(alice, "refer")
    assert entry.reminder is None  # nothing to remind: the user writes both now
    result = alice.last()
    assert steps_on(result) == offered(h, entry, clock.now)
    assert [label for _, _, label in steps_on(result)] == [
        "Write the introduction",
        "Heads-up for Sam Lee",
    ]

    await alice.click(result, step_button(result, "intro"))
    intro = alice.last()
    assert intro["embeds"][0]["title"] == h.q.followup_draft("en", "intro", "title")
    assert draft_of(intro).startswith("Hi ACME,") and "Sam Lee" in draft_of(intro)
    assert steps_on(intro) == [("headsup", "", "Heads-up for Sam Lee")]  # the half left
    assert (await entry_of(alice)).status == ""

    await alice.click(result, step_button(result, "headsup"))
    headsup = alice.last()
    assert headsup["embeds"][0]["title"] == h.q.followup_draft("en", "headsup", "title")
    assert draft_of(headsup).startswith("Hi Sam Lee,") and "ACME" in draft_of(headsup)
    done = await entry_of(alice)
    assert (done.status, [s.name for s in done.steps]) == ("introduced", ["intro", "headsup"])


# --- who clicks, and how often ----------------------------------------------------------------
async def test_someone_elses_click_is_refused_and_a_double_click_records_once(
    h: Harness, clock: Clock
) -> None:
    alice, bob = h.user(ALICE, "alice"), h.user(BOB, "bob")
    await decide(alice, "negotiate_fee")
    clock.now = WEDNESDAY + timedelta(hours=1)
    await send_due(h)
    reminder = alice.last()
    as_first_shown = copy.deepcopy(reminder)
    couldnt, agreed = step_button(reminder, "couldnt"), step_button(reminder, "agreed")

    before = len(alice.messages())
    click = await bob.click(reminder, couldnt)
    [refusal] = [h.reply(click)]
    assert refusal["flags"] & EPHEMERAL
    assert refusal["content"] == h.q.ui("en", controls.Refusal.NOT_YOURS)
    assert len(alice.messages()) == before
    assert [s.name for s in (await entry_of(alice)).steps] == [followup.REMINDED]

    # Two clicks on the same button at once: both see the draft, the entry records one step.
    payloads = [h.fake.click(alice.payload, reminder, couldnt) for _ in range(2)]
    for payload in payloads:
        h.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await settle()
    for payload in payloads:
        assert h.fake.interactions[payload["token"]].responses == [6]
    drafts = [m for p in payloads for m in h.followups(p)]
    assert len(drafts) == 2 and draft_of(drafts[0]) == draft_of(drafts[1])
    done = await entry_of(alice)
    assert (done.status, [s.name for s in done.steps]) == (
        "couldnt",
        [followup.REMINDED, "couldnt"],
    )

    # Settled: the reminder's buttons are gone, what was answered in their place.
    assert reminder["components"] == []
    assert reminder["content"].endswith("**You answered: They couldn't**")
    # "They agreed" from a client that still shows it: no longer open, said privately,
    # nothing recorded.
    late = await alice.click(as_first_shown, agreed)
    [notice] = h.followups(late)
    assert notice["flags"] & EPHEMERAL
    assert notice["content"] == h.q.followup_text("en", "notices", "not_open")
    assert (await entry_of(alice)).steps == done.steps


# --- closed DMs -------------------------------------------------------------------------------
async def test_closed_dms_do_not_stop_the_sender_nor_get_retried(h: Harness, clock: Clock) -> None:
    alice, bob = h.user(ALICE, "alice"), h.user(BOB, "bob")
    await decide(alice, "negotiate_fee")
    await decide(bob, "negotiate_fee", client="Beta")
    h.fake.closed_dms.add(ALICE)

    clock.now = WEDNESDAY + timedelta(hours=1)
    before = len(h.fake.requests)
    count, calls = await send_due(h)
    assert (count, calls) == (2, [*dm_calls(h, alice), *dm_calls(h, bob)])
    statuses = [r.status for r in h.fake.requests[before:] if r.path.endswith("/messages")]
    assert statuses == [403, 200]  # Alice's refused, Bob's delivered all the same
    assert bob.last()["embeds"][0]["title"] == "Did Beta answer your proposal of Nov 27?"
    assert (await entry_of(alice)).reminder is None  # not retried
    clock.now += timedelta(hours=3)
    assert await send_due(h) == (0, [])


# --- the history ------------------------------------------------------------------------------
async def test_history_shows_where_each_request_stands_with_its_next_steps(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    await decide(alice, "accept", client="Gamma")
    clock.now += timedelta(minutes=1)
    await decide(alice, "refer", client="Beta")
    clock.now += timedelta(minutes=1)
    await decide(alice, "negotiate_fee", client="ACME")

    shown = h.reply(await alice.command("discord_history_name", in_guild=True))
    assert shown["flags"] & EPHEMERAL
    entries = await alice.decisions()
    lines = shown["content"].splitlines()
    assert lines[0] == "**Your recent decisions**"
    fee, refer, accept = (
        h.q.outcome_text("en", o, "title") for o in ("negotiate_fee", "refer", "accept")
    )
    assert lines[1:] == [
        f"1️⃣ Nov 27, 2026 — {fee} (ACME) · waiting for their answer · reminder on Wed, Dec 2",
        f"2️⃣ Nov 27, 2026 — {refer} (Beta) · introduction and heads-up still to write",
        f"• Nov 27, 2026 — {accept} (Gamma)",
    ]
    rows = shown["components"]
    assert [[b["emoji"]["name"] for b in row["components"]] for row in rows] == [
        ["1️⃣"] * 5,
        ["2️⃣"] * 2,
    ]
    assert [steps_on({"components": [row]}) for row in rows] == [
        offered(h, entries[0], clock.now),
        offered(h, entries[1], clock.now),
    ]

    # A click in the history (here, in a server) shows the draft to the user alone.
    click = await alice.click(shown, step_button(shown, "intro"), in_guild=True)
    [intro] = h.followups(click)
    assert intro["flags"] & EPHEMERAL
    assert intro["embeds"][0]["title"] == h.q.followup_draft("en", "intro", "title")
    assert [s.name for s in (await alice.decisions())[1].steps] == ["intro"]
    # The history clicked in is drawn afresh: Beta's line says where it stands now, and
    # its written half's button is gone.
    assert (
        shown["content"]
        .splitlines()[2]
        .endswith("introduction written · heads-up for Sam Lee still to write")
    )
    redrawn = shown["components"]
    assert [[(b["emoji"]["name"], b["label"]) for b in r["components"]] for r in redrawn][1] == [
        ("2️⃣", "Heads-up for Sam Lee")
    ]
    assert steps_on({"components": redrawn[:1]}) == offered(h, entries[0], clock.now)
    again = h.reply(await alice.command("discord_history_name"))
    assert (
        again["content"]
        .splitlines()[2]
        .endswith("introduction written · heads-up for Sam Lee still to write")
    )


async def test_history_buttons_go_to_the_latest_five_open_requests(
    h: Harness, clock: Clock
) -> None:
    alice = h.user(ALICE, "alice")
    for n in range(7):
        await decide(alice, "negotiate_fee", client=f"Client {n}")
        clock.now += timedelta(minutes=1)

    shown = h.reply(await alice.command("discord_history_name"))
    entries = await alice.decisions()
    rows = shown["components"]
    assert len(rows) == 5
    refs = [{ref_of(b).version for b in row["components"]} for row in rows]
    assert refs == [{e.ref} for e in entries[:5]]  # the newest five
    lines = shown["content"].splitlines()[1:]
    marks = [f"{n}\ufe0f\u20e3" for n in range(1, 6)]
    assert [line.split(" ", 1)[0] for line in lines] == [*marks, "•", "•"]
    assert all("waiting for their answer" in line for line in lines)
