"""The follow-through part of the store contract (issue 13), run against every
implementation: journal entries with their details, steps and status, reminders scheduled
with the decision and claimed by the platform that sends them, and the user's profile."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.ports import (
    SENT_REMINDER_KEEP,
    ConversationKey,
    ConversationWrite,
    Decision,
    DueReminder,
    EntryLook,
    Reminder,
    Step,
    Store,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LATER = NOW + timedelta(hours=24)
LEASE = timedelta(minutes=5)
ALICE = ConversationKey("slack", "T001", "U_ALICE")
BOB = ConversationKey("slack", "T001", "U_BOB")
CAROL = ConversationKey("discord", "G1", "U_CAROL")
PARIS = timezone(timedelta(hours=2))


def entry(
    ref: int,
    *,
    days: int = 0,
    outcome: str = "negotiate_fee",
    client: str | None = "ACME",
    platform: str = "slack",
    details: tuple[tuple[str, str], ...] = (),
    status: str = "",
    steps: tuple[Step, ...] = (),
) -> Decision:
    return Decision(
        outcome=outcome,
        decided_at=NOW + timedelta(days=days),
        lang="en",
        platform=platform,
        client=client,
        ref=ref,
        details=details,
        status=status,
        steps=steps,
    )


async def record(
    store: Store,
    key: ConversationKey,
    decision: Decision,
    reminder: Reminder | None = None,
    *,
    replaces: bool = False,
) -> None:
    """File ``decision`` the way the session does: with a save of the conversation."""
    stored = await store.load(key)
    expected = None if stored is None else stored.version
    version = 1 if stored is None else stored.version + 1
    write = ConversationWrite(
        key,
        "{}",
        version,
        expected,
        LATER,
        decision,
        replaces_decision=replaces,
        reminder=reminder,
    )
    assert await store.save(write)


def answer(hours: float) -> Reminder:
    return Reminder("answer", NOW + timedelta(hours=hours))


async def claim(
    store: Store, at: datetime, platform: str = "slack", limit: int = 100
) -> list[DueReminder]:
    return await store.reminders_claim(platform, at, claim_until=at + LEASE, limit=limit)


# --- entries -------------------------------------------------------------------------

DETAILS = (
    ("client", "Zoë «Ω» & Co"),
    ("fee_proposal", "4 800 €"),
    ("request", "3f9a…"),
    ("signature", 'Anna "A." Smith\nStudio'),
    ("tz", "Europe/Paris"),
    ("wait", "3"),
)


async def test_an_entry_comes_back_with_its_ref_details_status_and_steps(store: Store) -> None:
    steps = (Step("reminded", NOW + timedelta(days=1)), Step("snoozed", NOW + timedelta(days=2)))
    decided = entry(1_000_000_000_001, details=DETAILS, status="couldnt", steps=steps)
    await record(store, ALICE, decided)

    assert await store.decisions(ALICE) == [decided]
    assert await store.entry(ALICE, decided.ref) == decided
    found = await store.entry(ALICE, decided.ref)
    assert found is not None and found.detail("fee_proposal") == "4 800 €"
    assert found.detail("colleague") is None


async def test_a_look_sets_the_entrys_language_and_details_with_the_save_that_carries_it(
    store: Store,
) -> None:
    await record(store, ALICE, entry(21, details=(("tone", "warm"), ("tz", "UTC"))))
    await record(store, BOB, entry(21, details=(("tone", "warm"),)))
    stored = await store.load(ALICE)
    assert stored is not None
    look = EntryLook(21, "fr", (("tone", "formal"), ("tz", "UTC")))
    lost = ConversationWrite(ALICE, "{}", 9, stored.version + 5, LATER, look=look)
    assert not await store.save(lost)  # a write that loses changes no entry either
    assert (await store.entry(ALICE, 21)) == entry(21, details=(("tone", "warm"), ("tz", "UTC")))
    kept = ConversationWrite(ALICE, "{}", stored.version + 1, stored.version, None, look=look)
    assert await store.save(kept)
    found = await store.entry(ALICE, 21)
    assert found is not None and found.lang == "fr" and found.detail("tone") == "formal"
    other = await store.entry(BOB, 21)  # the same ref in another user's journal
    assert other is not None and other.lang == "en" and other.detail("tone") == "warm"
    # An entry gone meanwhile (forgotten): the conversation is still saved.
    gone = ConversationWrite(
        ALICE, "{}", stored.version + 2, stored.version + 1, None, look=EntryLook(99, "en", ())
    )
    assert await store.save(gone)


def test_a_write_with_a_new_entry_takes_no_look() -> None:
    with pytest.raises(ValueError, match="no look"):
        ConversationWrite(ALICE, "{}", 1, None, LATER, entry(1), look=EntryLook(1, "en", ()))


async def test_an_entry_is_found_by_its_ref_in_its_users_journal_only(store: Store) -> None:
    await record(store, ALICE, entry(11, days=1, client="One"))
    await record(store, ALICE, entry(12, days=2, client="Two"))
    await record(store, BOB, entry(13, days=3, client="Three"))

    found = await store.entry(ALICE, 11)
    assert found is not None and found.client == "One"
    assert await store.entry(ALICE, 13) is None  # Bob's
    assert await store.entry(BOB, 11) is None
    assert await store.entry(ALICE, 99) is None


async def test_details_are_read_back_sorted_by_name(store: Store) -> None:
    await record(store, ALICE, entry(1, details=(("tz", "UTC"), ("client", "b"), ("a", "c"))))
    found = await store.entry(ALICE, 1)
    assert found is not None and found.details == (("a", "c"), ("client", "b"), ("tz", "UTC"))


async def test_a_decision_without_follow_through_fields_reads_back_empty(store: Store) -> None:
    plain = Decision("accept", NOW, "en", "slack")
    await record(store, ALICE, plain)
    [found] = await store.decisions(ALICE)
    assert (found.ref, found.details, found.status, found.steps, found.reminder) == (
        0,
        (),
        "",
        (),
        None,
    )


async def test_the_reminder_on_a_written_decision_is_ignored(store: Store) -> None:
    # Decision.reminder is filled in when reading; only ConversationWrite.reminder schedules.
    claimed_by_caller = Decision("accept", NOW, "en", "slack", ref=5, reminder=answer(1))
    await record(store, ALICE, claimed_by_caller)
    found = await store.entry(ALICE, 5)
    assert found is not None and found.reminder is None
    assert await claim(store, LATER) == []


async def test_should_two_entries_share_a_ref_the_one_recorded_last_is_the_one(
    store: Store,
) -> None:
    await record(store, ALICE, entry(7, days=2, client="Older"))
    await record(store, ALICE, entry(7, days=1, client="Newer"))  # recorded last
    found = await store.entry(ALICE, 7)
    assert found is not None and found.client == "Newer"
    step = Step("agreed", NOW + timedelta(days=3))
    assert (await store.follow_up(ALICE, 7, step, status="agreed")) is not None
    by_client = {d.client: d for d in await store.decisions(ALICE)}
    assert (by_client["Newer"].status, by_client["Older"].status) == ("agreed", "")


# --- reminders scheduled with the decision --------------------------------------------


async def test_a_decision_saved_with_a_reminder_shows_it_as_pending(store: Store) -> None:
    await record(store, ALICE, entry(1, days=0), answer(72))
    await record(store, ALICE, entry(2, days=1, outcome="accept"))

    journal = await store.decisions(ALICE)
    assert [(d.ref, d.reminder) for d in journal] == [(2, None), (1, answer(72))]
    found = await store.entry(ALICE, 1)
    assert found is not None and found.reminder == answer(72)


async def test_a_lost_save_schedules_no_reminder(store: Store) -> None:
    await record(store, ALICE, entry(1))
    stale = ConversationWrite(ALICE, "{}", 9, 7, LATER, entry(2), reminder=answer(1))
    assert not await store.save(stale)
    assert await store.entry(ALICE, 2) is None
    assert await claim(store, LATER) == []


async def test_a_replaced_decision_takes_its_reminder_with_it(store: Store) -> None:
    await record(store, ALICE, entry(1, days=0), answer(1))
    await record(store, ALICE, entry(2, days=1), answer(2))
    # Decided again after going back: entry 2 and its reminder go, entry 3 has its own.
    await record(store, ALICE, entry(3, days=2), answer(3), replaces=True)

    assert [(d.ref, d.reminder) for d in await store.decisions(ALICE)] == [
        (3, answer(3)),
        (1, answer(1)),
    ]
    due = await claim(store, LATER)
    assert [(r.entry.ref, r.due_at) for r in due] == [(1, answer(1).due_at), (3, answer(3).due_at)]


async def test_a_replacing_decision_without_a_reminder_leaves_none_behind(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, ALICE, entry(2, days=1, outcome="accept"), replaces=True)
    assert [(d.ref, d.reminder) for d in await store.decisions(ALICE)] == [(2, None)]
    assert await claim(store, LATER) == []


# --- follow_up -----------------------------------------------------------------------


async def test_follow_up_records_steps_in_order_and_sets_the_status(store: Store) -> None:
    await record(store, ALICE, entry(1, details=DETAILS))
    reminded = Step("reminded", NOW + timedelta(days=3))
    agreed = Step("agreed", NOW + timedelta(days=4))

    first = await store.follow_up(ALICE, 1, reminded)
    assert first is not None and (first.steps, first.status) == ((reminded,), "")
    second = await store.follow_up(ALICE, 1, agreed, status="agreed")
    assert second is not None
    assert (second.steps, second.status, second.details) == ((reminded, agreed), "agreed", DETAILS)
    assert await store.entry(ALICE, 1) == second
    assert await store.decisions(ALICE) == [second]
    # status None keeps the one there.
    third = await store.follow_up(ALICE, 1, Step("closed", NOW + timedelta(days=5)))
    assert third is not None and third.status == "agreed" and len(third.steps) == 3


async def test_follow_up_on_an_unknown_entry_writes_nothing(store: Store) -> None:
    await record(store, BOB, entry(1), answer(1))
    step = Step("agreed", NOW)
    assert await store.follow_up(ALICE, 1, step, status="agreed") is None  # not Alice's
    assert await store.follow_up(BOB, 2, step, reschedule=True) is None
    [bob] = await store.decisions(BOB)
    assert (bob.steps, bob.status, bob.reminder) == ((), "", answer(1))
    await store.forget(BOB)
    assert await store.follow_up(BOB, 1, step) is None


async def test_follow_up_without_reschedule_leaves_the_reminders(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(72))
    after = await store.follow_up(ALICE, 1, Step("intro", NOW), status="introduced")
    assert after is not None and after.reminder == answer(72)
    assert [r.entry.ref for r in await claim(store, LATER + timedelta(days=3))] == [1]


async def test_a_snooze_moves_the_reminder(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(72))
    moved = answer(120)
    after = await store.follow_up(
        ALICE, 1, Step("snoozed", NOW + timedelta(hours=1)), reschedule=True, reminder=moved
    )
    assert after is not None and after.reminder == moved
    assert (await store.entry(ALICE, 1)) == after
    assert await claim(store, answer(119).due_at) == []  # the old time no longer fires
    [due] = await claim(store, moved.due_at)
    assert (due.entry.ref, due.due_at, due.entry.steps) == (1, moved.due_at, after.steps)


async def test_cancelling_drops_the_pending_reminder(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(72))
    after = await store.follow_up(ALICE, 1, Step("couldnt", NOW), status="couldnt", reschedule=True)
    assert after is not None and (after.reminder, after.status) == (None, "couldnt")
    assert (await store.entry(ALICE, 1)) == after
    assert await claim(store, LATER + timedelta(days=30)) == []


async def test_a_reminder_can_be_scheduled_on_an_entry_that_had_none(store: Store) -> None:
    # booked: "reach back" on the free-from date, set when the user asks for it.
    await record(store, ALICE, entry(1, outcome="booked", details=(("free_from", "2030-03-15"),)))
    reach = Reminder("reach_back", datetime(2030, 3, 15, 8, 30, tzinfo=UTC))
    after = await store.follow_up(ALICE, 1, Step("reach", NOW), reschedule=True, reminder=reach)
    assert after is not None and after.reminder == reach
    [due] = await claim(store, reach.due_at)
    assert (due.kind, due.due_at, due.entry.outcome) == ("reach_back", reach.due_at, "booked")


async def test_follow_ups_at_once_all_land(store: Store) -> None:
    await record(store, ALICE, entry(1))
    steps = [Step(f"step{n}", NOW + timedelta(seconds=n)) for n in range(20)]
    results = await asyncio.gather(*(store.follow_up(ALICE, 1, s) for s in steps))
    assert all(r is not None for r in results)
    found = await store.entry(ALICE, 1)
    assert found is not None and sorted(found.steps, key=lambda s: s.at) == steps


# --- claiming due reminders ----------------------------------------------------------


async def test_only_due_reminders_are_claimed(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, BOB, entry(2), answer(2))

    async def due(at: datetime) -> list[ConversationKey]:
        claimed = await store.reminders_claim("slack", at, claim_until=LATER + LATER.resolution)
        return [r.key for r in claimed]

    assert await due(NOW) == []
    assert await due(answer(1).due_at - timedelta(microseconds=1)) == []
    assert await due(answer(1).due_at) == [ALICE]  # due at == now
    assert await due(answer(2).due_at) == [BOB]


async def test_a_claim_for_one_user_leaves_the_others_reminders_claimable(store: Store) -> None:
    # Bob's is due first: a claim of everyone's would reach it before Alice's.
    await record(store, BOB, entry(31, client="Bob's client"), answer(1))
    await record(store, ALICE, entry(32, client="Alice's client"), answer(2))
    at = NOW + timedelta(hours=3)
    mine = await store.reminders_claim("slack", at, claim_until=at + LEASE, limit=1, key=ALICE)
    assert [(r.key, r.entry.client) for r in mine] == [(ALICE, "Alice's client")]
    assert await store.reminders_claim("slack", at, claim_until=at + LEASE, key=ALICE) == []
    theirs = await claim(store, at)  # Bob's was not claimed: the next claimer gets it
    assert [(r.key, r.entry.client) for r in theirs] == [(BOB, "Bob's client")]


async def test_a_claim_returns_the_reminder_with_its_entry_and_user(store: Store) -> None:
    decided = entry(1_234, details=DETAILS, client="Zoë")
    await record(store, ALICE, decided, answer(1))

    [due] = await claim(store, LATER)
    assert (due.key, due.kind, due.due_at) == (ALICE, "answer", answer(1).due_at)
    assert due.entry == Decision(
        outcome=decided.outcome,
        decided_at=decided.decided_at,
        lang="en",
        platform="slack",
        client="Zoë",
        ref=1_234,
        details=DETAILS,
        reminder=answer(1),  # this reminder
    )


async def test_each_platform_claims_its_own_users_reminders(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, CAROL, entry(2, platform="discord"), answer(1))

    assert [r.key for r in await claim(store, LATER, "discord")] == [CAROL]
    assert [r.key for r in await claim(store, LATER, "slack")] == [ALICE]
    assert await claim(store, LATER, "terminal") == []


async def test_reminders_are_claimed_earliest_first_up_to_the_limit(store: Store) -> None:
    hours = [5, 1, 4, 2, 3]
    for n, h in enumerate(hours):
        key = ConversationKey("slack", "T001", f"U{n}")
        await record(store, key, entry(n), answer(h))

    first = await claim(store, LATER, limit=2)
    assert [r.due_at for r in first] == [answer(1).due_at, answer(2).due_at]
    rest = await claim(store, LATER)
    assert [r.due_at for r in rest] == [answer(h).due_at for h in (3, 4, 5)]
    assert await claim(store, LATER, limit=0) == []


async def test_a_claimed_reminder_is_not_claimed_again_until_its_lease_runs_out(
    store: Store,
) -> None:
    await record(store, ALICE, entry(1), answer(1))
    at = answer(1).due_at
    [first] = await store.reminders_claim("slack", at, claim_until=at + LEASE)

    assert await claim(store, at) == []
    assert await claim(store, at + LEASE - timedelta(microseconds=1)) == []
    # The sender died before marking it: after the lease another one takes it over.
    [again] = await claim(store, at + LEASE)
    assert again.id == first.id
    # Claimed but not sent: still the entry's pending reminder.
    found = await store.entry(ALICE, 1)
    assert found is not None and found.reminder == answer(1)


async def test_a_sent_reminder_is_never_claimed_again(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, BOB, entry(2), answer(1))
    claimed = await claim(store, LATER)
    sent = next(r for r in claimed if r.key == ALICE)
    await store.reminders_sent([sent.id], now=LATER)
    await store.reminders_sent([sent.id], now=LATER + timedelta(hours=1))  # twice is fine

    later = LATER + timedelta(days=7)
    assert [r.key for r in await claim(store, later)] == [BOB]  # Bob's lease ran out
    found = await store.entry(ALICE, 1)
    assert found is not None and found.reminder is None  # sent: no longer pending
    await store.reminders_sent([], now=later)


async def test_marking_a_reminder_that_was_moved_meanwhile_marks_nothing_else(
    store: Store,
) -> None:
    await record(store, ALICE, entry(1), answer(1))
    [old] = await claim(store, LATER)
    # Snoozed while the sender had it: the new reminder must still fire.
    await store.follow_up(ALICE, 1, Step("snoozed", LATER), reschedule=True, reminder=answer(48))
    await store.reminders_sent([old.id], now=LATER)
    [new] = await claim(store, answer(48).due_at)
    assert new.id != old.id and new.due_at == answer(48).due_at


async def test_concurrent_claims_never_share_a_reminder(store: Store) -> None:
    for n in range(60):
        await record(store, ConversationKey("slack", "T", f"U{n}"), entry(n), answer(n % 7))
    batches = await asyncio.gather(*(claim(store, LATER, limit=7) for _ in range(12)))
    ids = [r.id for batch in batches for r in batch]
    assert len(ids) == len(set(ids)) == 60


# --- forget, sweep -------------------------------------------------------------------


async def test_forget_removes_the_users_reminders_and_profile(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, ALICE, entry(2, days=1), answer(2))
    await record(store, BOB, entry(3), answer(1))
    await store.save_profile(ALICE, '{"signature": "Alice"}', now=NOW)
    await store.save_profile(BOB, '{"signature": "Bob"}', now=NOW)
    [claimed, *_] = await claim(store, LATER)

    assert await store.forget(ALICE) == 2
    assert await store.load_profile(ALICE) is None
    assert await store.entry(ALICE, 1) is None
    # Nothing of Alice's is ever claimed again, even after the lease.
    assert [r.key for r in await claim(store, LATER + LEASE)] == [BOB]
    await store.reminders_sent([claimed.id], now=LATER)  # a sender finishing: no error
    assert await store.load_profile(BOB) == '{"signature": "Bob"}'
    [bob] = await store.decisions(BOB)
    assert bob.reminder == answer(1)


async def test_sweep_deletes_reminders_sent_long_ago_only(store: Store) -> None:
    await record(store, ALICE, entry(1), answer(1))
    await record(store, BOB, entry(2), answer(1))
    await record(store, CAROL, entry(3, platform="discord"), answer(1))  # never sent
    sent_at = LATER
    for due in await claim(store, LATER):
        await store.reminders_sent([due.id], now=sent_at)
        sent_at += timedelta(days=1)  # Alice's a day before Bob's

    assert await store.sweep(LATER) == 3  # the conversations, which expire at LATER
    assert await store.sweep(LATER + SENT_REMINDER_KEEP - timedelta(seconds=1)) == 0
    assert await store.sweep(LATER + SENT_REMINDER_KEEP) == 1
    assert await store.sweep(LATER + SENT_REMINDER_KEEP + timedelta(days=1)) == 1
    # The entries stay; the unsent reminder stays.
    assert len(await store.decisions(ALICE)) == len(await store.decisions(BOB)) == 1
    [carol] = await store.decisions(CAROL)
    assert carol.reminder == answer(1)
    assert await store.sweep(LATER + timedelta(days=400)) == 0


# --- profiles ------------------------------------------------------------------------


async def test_a_profile_is_saved_replaced_and_read_per_user(store: Store) -> None:
    assert await store.load_profile(ALICE) is None
    data = json.dumps({"signature": "Zoë «Ω»\nStudio", "colleagues": ["Ana", "Bo"]})
    await store.save_profile(ALICE, data, now=NOW)
    assert await store.load_profile(ALICE) == data
    assert await store.load_profile(BOB) is None
    assert await store.load_profile(ConversationKey("discord", "T001", "U_ALICE")) is None
    await store.save_profile(ALICE, "{}", now=LATER)
    assert await store.load_profile(ALICE) == "{}"


# --- time zones ----------------------------------------------------------------------


async def test_times_in_another_zone_come_back_as_the_same_instants_in_utc(
    store: Store,
) -> None:
    decided_at = datetime(2030, 6, 1, 14, 30, 15, 123456, tzinfo=PARIS)
    due_at = datetime(2030, 6, 4, 9, 30, tzinfo=PARIS)
    step_at = datetime(2030, 6, 2, 23, 59, 59, 999999, tzinfo=PARIS)  # the 2nd's evening...
    decided = Decision("negotiate_fee", decided_at, "fr", "slack", ref=1)
    await record(store, ALICE, decided, Reminder("answer", due_at))
    after = await store.follow_up(ALICE, 1, Step("reminded", step_at))
    assert after is not None

    for found in (after, await store.entry(ALICE, 1), (await store.decisions(ALICE))[0]):
        assert found is not None
        [step] = found.steps
        assert (found.decided_at, found.reminder, step.at) == (
            decided_at,
            Reminder("answer", due_at),
            step_at,
        )
        assert step.at.utcoffset() == timedelta(0) and step.at.day == 2  # ...21:59:59Z
        assert found.decided_at.utcoffset() == timedelta(0)
        assert found.reminder is not None and found.reminder.due_at.utcoffset() == timedelta(0)

    # 09:30+02:00 is 07:30Z: due at 08:00Z, though "09" sorts after "08".
    [due] = await claim(store, datetime(2030, 6, 4, 8, 0, tzinfo=UTC))
    assert due.due_at == due_at and due.due_at.utcoffset() == timedelta(0)
    assert due.entry.decided_at.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(store: Store) -> None:
    await record(store, ALICE, entry(1))
    naive = datetime(2030, 1, 1)
    with pytest.raises((ValueError, TypeError)):
        await store.follow_up(ALICE, 1, Step("agreed", naive))
    with pytest.raises((ValueError, TypeError)):
        await store.follow_up(
            ALICE, 1, Step("snoozed", NOW), reschedule=True, reminder=Reminder("answer", naive)
        )
    with pytest.raises((ValueError, TypeError)):
        await store.save_profile(ALICE, "{}", now=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ConversationWrite(ALICE, "{}", 2, 1, None, entry(2), reminder=Reminder("answer", naive))
    found = await store.entry(ALICE, 1)
    assert found is not None and found.steps == ()


def test_a_reminder_is_scheduled_only_with_a_decision() -> None:
    with pytest.raises(ValueError, match="decision"):
        ConversationWrite(ALICE, "{}", 2, 1, None, reminder=answer(1))
