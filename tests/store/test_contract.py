"""The contract every :class:`core.ports.Store` keeps, run against each implementation:
the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.ports import (
    INBOX_KEEP,
    UNDELIVERED_KEEP,
    ConversationKey,
    ConversationWrite,
    Decision,
    InboxItem,
    OutboxMessage,
    Store,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LATER = NOW + timedelta(hours=24)
ALICE = ConversationKey("slack", "T001", "U_ALICE")
BOB = ConversationKey("slack", "T001", "U_BOB")


async def save(
    store: Store,
    key: ConversationKey,
    data: str,
    *,
    version: int,
    expected_version: int | None,
    expires_at: datetime | None,
    decision: Decision | None = None,
    replaces_decision: bool = False,
) -> bool:
    return await store.save(
        ConversationWrite(
            key, data, version, expected_version, expires_at, decision, replaces_decision
        )
    )


async def save_new(store: Store, key: ConversationKey, data: str = "{}") -> bool:
    return await save(store, key, data, version=1, expected_version=None, expires_at=LATER)


async def record(store: Store, key: ConversationKey, entry: Decision) -> None:
    """File ``entry`` in the journal the way the session does: with a conversation's save."""
    stored = await store.load(key)
    version = 0 if stored is None else stored.version
    expected = None if stored is None else version
    assert await save(
        store,
        key,
        "{}",
        version=version + 1,
        expected_version=expected,
        expires_at=LATER,
        decision=entry,
    )


# --- conversations -------------------------------------------------------------------


async def test_loading_an_unknown_conversation_gives_none(store: Store) -> None:
    assert await store.load(ALICE) is None


async def test_a_new_conversation_is_saved_once(store: Store) -> None:
    assert await save_new(store, ALICE, '{"step": "time"}')
    assert not await save_new(store, ALICE, '{"step": "other"}')

    stored = await store.load(ALICE)
    assert stored is not None
    assert (stored.data, stored.version, stored.expires_at) == ('{"step": "time"}', 1, LATER)


async def test_a_save_wins_only_against_the_version_it_read(store: Store) -> None:
    await save_new(store, ALICE, "v1")
    later = LATER + timedelta(minutes=5)

    assert await save(store, ALICE, "v2", version=2, expected_version=1, expires_at=later)
    # A second writer that also read version 1 is refused and changes nothing.
    assert not await save(store, ALICE, "v2'", version=2, expected_version=1, expires_at=NOW)

    stored = await store.load(ALICE)
    assert stored is not None
    assert (stored.data, stored.version, stored.expires_at) == ("v2", 2, later)


@pytest.mark.parametrize(
    ("stored_version", "expected_version", "saved"),
    [
        (None, 1, False),  # nothing to update
        (3, 3, True),
        (3, 2, False),  # stale
        (3, 4, False),  # from the future
    ],
)
async def test_the_expected_version_must_match_the_stored_one(
    store: Store, stored_version: int | None, expected_version: int, saved: bool
) -> None:
    if stored_version is not None:
        await save(
            store, ALICE, "old", version=stored_version, expected_version=None, expires_at=LATER
        )
    result = await save(
        store,
        ALICE,
        "new",
        version=expected_version + 1,
        expected_version=expected_version,
        expires_at=LATER,
    )
    assert result is saved
    stored = await store.load(ALICE)
    if stored_version is None:
        assert stored is None
    else:
        assert stored is not None and stored.data == ("new" if saved else "old")


async def test_the_stored_version_is_the_one_the_caller_names(store: Store) -> None:
    await save(store, ALICE, "a", version=7, expected_version=None, expires_at=LATER)
    assert await save(store, ALICE, "b", version=42, expected_version=7, expires_at=LATER)
    stored = await store.load(ALICE)
    assert stored is not None and stored.version == 42


async def test_expires_at_comes_back_as_the_same_aware_utc_instant(store: Store) -> None:
    await save(store, ALICE, "{}", version=1, expected_version=None, expires_at=NOW)
    stored = await store.load(ALICE)
    assert stored is not None
    assert stored.expires_at == NOW
    assert stored.expires_at.tzinfo is not None and stored.expires_at.utcoffset() == timedelta(0)


async def test_a_forgotten_conversation_is_gone_and_can_start_again(store: Store) -> None:
    await save_new(store, ALICE)
    await save_new(store, BOB)
    await store.forget(ALICE)
    await store.forget(ALICE)  # forgetting twice is fine

    assert await store.load(ALICE) is None
    assert await store.load(BOB) is not None
    assert await save_new(store, ALICE)


async def test_data_is_stored_verbatim(store: Store) -> None:
    data = json.dumps({"answers": {"colleague": "Zoë «Ω» 🦊", "quote": 'it\'s "fine"\n'}})
    await save_new(store, ALICE, data)
    stored = await store.load(ALICE)
    assert stored is not None and stored.data == data


# --- keys ----------------------------------------------------------------------------

SIMILAR_KEYS = [
    ConversationKey("slack", "T001", "U1"),
    ConversationKey("discord", "T001", "U1"),  # same ids, other platform
    ConversationKey("slack", "T002", "U1"),  # same user, other workspace
    ConversationKey("slack", "T001", "U2"),
    # Pairs that a naive ":".join would make equal.
    ConversationKey("slack", "a:b", "c"),
    ConversationKey("slack", "a", "b:c"),
    ConversationKey("slack", "a%3Ab", "c"),
    ConversationKey("slack", "%", "%25"),
    ConversationKey("slack", "%25", "%"),
    ConversationKey("terminal", "", "zoë"),
    ConversationKey("terminal", "ünïcødé ☃", "用户"),
]


async def test_keys_never_share_a_conversation(store: Store) -> None:
    for index, key in enumerate(SIMILAR_KEYS):
        assert await save_new(store, key, f"conversation {index}")
    for index, key in enumerate(SIMILAR_KEYS):
        stored = await store.load(key)
        assert stored is not None and stored.data == f"conversation {index}", key

    await store.forget(SIMILAR_KEYS[4])
    assert [await store.load(key) is None for key in SIMILAR_KEYS] == [
        index == 4 for index in range(len(SIMILAR_KEYS))
    ]


# --- deliveries ----------------------------------------------------------------------


async def test_a_delivery_id_is_new_once_until_it_is_let_go(store: Store) -> None:
    keep = NOW + timedelta(minutes=10)
    assert await store.remember_delivery("Ev01", now=NOW, keep_until=keep)
    assert not await store.remember_delivery("Ev01", now=NOW, keep_until=keep)
    assert not await store.remember_delivery(
        "Ev01", now=keep - timedelta(microseconds=1), keep_until=keep + timedelta(minutes=10)
    )
    assert await store.remember_delivery("Ev02", now=NOW, keep_until=keep)

    # Once its time has passed, the id is new again, and kept for the new period.
    renewed = keep + timedelta(minutes=10)
    assert await store.remember_delivery("Ev01", now=keep, keep_until=renewed)
    assert not await store.remember_delivery("Ev01", now=keep, keep_until=renewed)


# --- expiry --------------------------------------------------------------------------


async def test_sweep_deletes_only_what_has_expired(store: Store) -> None:
    for minutes, key in enumerate(SIMILAR_KEYS[:4]):
        await save(
            store,
            key,
            "{}",
            version=1,
            expected_version=None,
            expires_at=NOW + timedelta(minutes=minutes),
        )
    await store.remember_delivery("old", now=NOW, keep_until=NOW)
    await store.remember_delivery("new", now=NOW, keep_until=NOW + timedelta(seconds=1))

    # At NOW + 1 min the deadlines NOW and NOW + 1 min have passed.
    assert await store.sweep(NOW + timedelta(minutes=1)) == 2 + 1 + 1
    assert [await store.load(key) is not None for key in SIMILAR_KEYS[:4]] == [
        False,
        False,
        True,
        True,
    ]
    assert await store.sweep(NOW + timedelta(minutes=1)) == 0
    assert await store.remember_delivery("old", now=NOW, keep_until=LATER)


async def test_loading_returns_expired_conversations_for_the_caller_to_judge(
    store: Store,
) -> None:
    await save(store, ALICE, "{}", version=1, expected_version=None, expires_at=NOW)
    stored = await store.load(ALICE)
    assert stored is not None and stored.expires_at == NOW


# --- decision journal ----------------------------------------------------------------


def decision(days: int, outcome: str = "accept", client: str | None = None) -> Decision:
    return Decision(
        outcome=outcome,
        decided_at=NOW + timedelta(days=days),
        lang="en",
        platform="slack",
        client=client,
    )


async def test_the_journal_lists_a_users_decisions_newest_first(store: Store) -> None:
    await record(store, ALICE, decision(1, "accept", client="ACME Ltd"))
    await record(store, ALICE, decision(2, "negotiate_fee", client="Zoë & Co"))
    await record(store, BOB, decision(3, "refer"))
    await record(store, ALICE, decision(4, "decline"))

    journal = await store.decisions(ALICE)
    assert journal == [
        decision(4, "decline"),
        decision(2, "negotiate_fee", client="Zoë & Co"),
        decision(1, "accept", client="ACME Ltd"),
    ]
    assert all(entry.decided_at.utcoffset() == timedelta(0) for entry in journal)
    assert await store.decisions(ALICE, limit=2) == journal[:2]
    assert await store.decisions(ALICE, limit=0) == []


async def test_the_journal_is_ordered_by_decision_time_not_by_arrival(store: Store) -> None:
    # Processes with slightly different clocks may record out of order.
    await record(store, ALICE, decision(3, "decline"))
    await record(store, ALICE, decision(1, "accept"))
    await record(store, ALICE, decision(2, "refer"))
    assert [entry.outcome for entry in await store.decisions(ALICE)] == [
        "decline",
        "refer",
        "accept",
    ]


async def test_two_decisions_at_the_same_instant_list_the_later_recorded_first(
    store: Store,
) -> None:
    await record(store, ALICE, decision(0, "accept"))
    await record(store, ALICE, decision(0, "decline"))
    assert [entry.outcome for entry in await store.decisions(ALICE)] == ["decline", "accept"]


async def test_forgetting_a_user_deletes_their_conversation_and_journal_only(
    store: Store,
) -> None:
    other_workspace = ConversationKey("slack", "T002", ALICE.user)
    for key in (ALICE, BOB, other_workspace):
        await record(store, key, decision(1))
        await record(store, key, decision(2))

    assert await store.forget(ALICE) == 2
    assert await store.forget(ALICE) == 0
    assert await store.decisions(ALICE) == []
    assert await store.load(ALICE) is None
    for key in (BOB, other_workspace):
        assert len(await store.decisions(key)) == 2
        assert await store.load(key) is not None
    # A forgotten user starts from nothing.
    assert await save_new(store, ALICE)


async def test_a_save_without_a_deadline_keeps_the_stored_one(store: Store) -> None:
    await save_new(store, ALICE, "v1")
    assert await save(store, ALICE, "v2", version=2, expected_version=1, expires_at=None)
    stored = await store.load(ALICE)
    assert stored is not None
    assert (stored.data, stored.version, stored.expires_at) == ("v2", 2, LATER)
    # And a later save that names one moves it.
    assert await save(store, ALICE, "v3", version=3, expected_version=2, expires_at=NOW)
    stored = await store.load(ALICE)
    assert stored is not None and stored.expires_at == NOW
    assert not await save(store, ALICE, "v3'", version=3, expected_version=2, expires_at=None)


def test_a_new_conversation_needs_a_deadline() -> None:
    with pytest.raises(ValueError, match="deadline"):
        ConversationWrite(ALICE, "{}", 1, None, None)


def test_a_write_refuses_naive_times() -> None:
    naive = datetime(2030, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ConversationWrite(ALICE, "{}", 1, None, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ConversationWrite(ALICE, "{}", 2, 1, None, Decision("accept", naive, "en", "slack"))


# --- concurrency ---------------------------------------------------------------------


async def test_racing_saves_of_one_version_advance_it_exactly_once(store: Store) -> None:
    await save_new(store, ALICE, "v1")

    results = await asyncio.gather(
        *(
            save(store, ALICE, f"answer {n}", version=2, expected_version=1, expires_at=LATER)
            for n in range(50)
        )
    )

    assert results.count(True) == 1
    stored = await store.load(ALICE)
    assert stored is not None
    assert (stored.data, stored.version) == (f"answer {results.index(True)}", 2)


async def test_racing_first_saves_create_the_conversation_once(store: Store) -> None:
    results = await asyncio.gather(*(save_new(store, ALICE, f"start {n}") for n in range(50)))
    assert results.count(True) == 1


async def test_many_users_at_once_keep_their_own_conversations(store: Store) -> None:
    users = [ConversationKey("discord", f"G{n % 3}", f"user-{n}") for n in range(40)]

    async def converse(key: ConversationKey) -> None:
        assert await save_new(store, key, json.dumps({"user": key.user, "turn": 1}))
        for turn in range(2, 6):
            data = json.dumps({"user": key.user, "turn": turn})
            assert await save(
                store, key, data, version=turn, expected_version=turn - 1, expires_at=LATER
            )
            assert await store.remember_delivery(
                f"{key.as_string()}#{turn}", now=NOW, keep_until=LATER
            )

    await asyncio.gather(*(converse(key) for key in users))

    for key in users:
        stored = await store.load(key)
        assert stored is not None
        assert (json.loads(stored.data), stored.version) == ({"user": key.user, "turn": 5}, 5)


async def test_ping_answers_when_the_store_is_there(store: Store) -> None:
    await store.ping()


async def test_a_decision_saved_with_the_conversation_lands_only_if_the_save_does(
    store: Store,
) -> None:
    decision = Decision("accept", NOW, "en", "slack", client="Anna")
    done = '{"status": "done"}'
    assert await save(
        store, ALICE, done, version=1, expected_version=None, expires_at=LATER, decision=decision
    )
    assert await store.decisions(ALICE) == [decision]
    # A save that loses the race writes neither the state nor the journal entry.
    assert not await save(
        store, ALICE, "other", version=2, expected_version=7, expires_at=LATER, decision=decision
    )
    assert await store.decisions(ALICE) == [decision]
    stored = await store.load(ALICE)
    assert stored is not None and stored.data == done
    assert await store.decisions(BOB) == []


async def test_a_bad_decision_leaves_the_conversation_unsaved(store: Store) -> None:
    wrong_platform = Decision("accept", NOW, "en", "discord")
    with pytest.raises(ValueError):
        await save(
            store,
            ALICE,
            "x",
            version=1,
            expected_version=None,
            expires_at=LATER,
            decision=wrong_platform,
        )
    assert await store.load(ALICE) is None


async def test_a_revised_decision_replaces_only_the_latest_entry(store: Store) -> None:
    first = Decision("decline", NOW, "en", "slack", client="Old")
    await record(store, ALICE, first)
    await record(store, BOB, Decision("accept", NOW, "en", "slack"))
    draft = Decision("accept", NOW + timedelta(minutes=1), "en", "slack", client="Anna")
    await record(store, ALICE, draft)  # ALICE's conversation is now at version 2
    revised = Decision("negotiate_fee", NOW + timedelta(minutes=2), "en", "slack", client="Anna")
    assert await save(
        store,
        ALICE,
        "v3",
        version=3,
        expected_version=2,
        expires_at=LATER,
        decision=revised,
        replaces_decision=True,
    )
    assert await store.decisions(ALICE) == [revised, first]
    assert len(await store.decisions(BOB)) == 1
    # A refused save revises nothing.
    assert not await save(
        store,
        ALICE,
        "v4",
        version=4,
        expected_version=2,
        expires_at=LATER,
        decision=first,
        replaces_decision=True,
    )
    assert await store.decisions(ALICE) == [revised, first]


# --- the inbox and the outbox --------------------------------------------------------


def item(delivery: str, key: ConversationKey = ALICE, payload: str = '{"a": 1}') -> InboxItem:
    return InboxItem(delivery, key.as_string(), payload, NOW)


def message(name: str, key: ConversationKey = ALICE, hold: datetime = NOW) -> OutboxMessage:
    return OutboxMessage(name, key.as_string(), json.dumps({"text": name}), hold)


HELD = NOW + timedelta(seconds=10)


async def test_an_inbox_item_is_written_once_per_delivery_id(store: Store) -> None:
    first = await store.inbox_put(item("ev1"), claim_until=HELD)
    assert first is not None
    assert await store.inbox_put(item("ev1", payload="other"), claim_until=HELD) is None
    second = await store.inbox_put(item("ev2"), claim_until=HELD)
    assert second is not None and second > first
    assert await store.inbox_open(first) and await store.inbox_open(second)


async def test_open_inbox_rows_are_claimed_oldest_first_once_their_claim_runs_out(
    store: Store,
) -> None:
    ids = [
        await store.inbox_put(item(f"ev{i}", payload=f"p{i}"), claim_until=HELD) for i in (1, 2, 3)
    ]
    assert await store.inbox_claim(NOW, claim_until=HELD) == []  # the receiver holds them
    rows = await store.inbox_claim(HELD, claim_until=HELD + timedelta(seconds=10), limit=2)
    assert [r.id for r in rows] == ids[:2]
    assert (rows[0].key, rows[0].payload, rows[0].received_at) == (ALICE.as_string(), "p1", NOW)
    # Claimed again: nobody else gets them until that claim runs out too.
    rest = await store.inbox_claim(HELD, claim_until=HELD + timedelta(seconds=10))
    assert [r.id for r in rest] == ids[2:]
    assert await store.inbox_claim(HELD + timedelta(seconds=5), claim_until=LATER) == []


async def test_a_save_settles_its_inbox_row_and_queues_its_messages_together(
    store: Store,
) -> None:
    inbox_id = await store.inbox_put(item("ev1"), claim_until=HELD)
    outbox = (message("m1", hold=HELD), message("m2", hold=HELD))
    write = ConversationWrite(
        ALICE, "{}", 1, None, LATER, inbox_id=inbox_id, outbox=outbox, now=NOW
    )
    assert await store.save(write)
    assert inbox_id is not None and not await store.inbox_open(inbox_id)
    assert await store.inbox_claim(LATER, claim_until=LATER) == []  # processed: never replayed
    # Unsent messages are claimed, in order, once the writer's hold runs out.
    assert await store.outbox_claim(NOW, claim_until=HELD) == []
    claimed = await store.outbox_claim(HELD, claim_until=LATER)
    assert [(m.id, m.key, m.payload, m.hold_until) for m in claimed] == [
        (m.id, m.key, m.payload, LATER) for m in outbox
    ]
    await store.outbox_sent(["m1"], now=HELD)
    again = await store.outbox_claim(LATER, claim_until=LATER + timedelta(seconds=1))
    assert [m.id for m in again] == ["m2"]


async def test_a_save_for_a_processed_inbox_row_writes_nothing(store: Store) -> None:
    inbox_id = await store.inbox_put(item("ev1"), claim_until=HELD)
    assert await store.finish(inbox_id, (), now=NOW)
    assert not await store.finish(inbox_id, (message("late"),), now=NOW)
    write = ConversationWrite(
        ALICE, "{}", 1, None, LATER, inbox_id=inbox_id, outbox=(message("m1"),), now=NOW
    )
    assert not await store.save(write)
    assert await store.load(ALICE) is None
    assert await store.outbox_claim(LATER, claim_until=LATER) == []


async def test_a_lost_save_settles_nothing(store: Store) -> None:
    await save_new(store, ALICE)
    inbox_id = await store.inbox_put(item("ev1"), claim_until=HELD)
    write = ConversationWrite(  # expects no row: loses the compare-and-set
        ALICE, "{}", 1, None, LATER, inbox_id=inbox_id, outbox=(message("m1"),), now=NOW
    )
    assert not await store.save(write)
    assert inbox_id is not None and await store.inbox_open(inbox_id)
    assert await store.outbox_claim(LATER, claim_until=LATER) == []


async def test_finish_queues_messages_without_an_inbox_row(store: Store) -> None:
    assert await store.finish(None, (message("m1", BOB), message("m2", BOB)), now=NOW)
    claimed = await store.outbox_claim(NOW, claim_until=HELD)
    assert [(m.id, m.key) for m in claimed] == [("m1", BOB.as_string()), ("m2", BOB.as_string())]


async def test_sweep_keeps_inbox_and_outbox_rows_while_they_are_needed(store: Store) -> None:
    done = await store.inbox_put(item("done"), claim_until=HELD)
    await store.inbox_put(item("open"), claim_until=HELD)
    await store.finish(done, (message("sent"), message("unsent")), now=NOW)
    await store.outbox_sent(["sent"], now=NOW)

    assert await store.sweep(NOW + INBOX_KEEP - timedelta(seconds=1)) == 0
    # Processed and sent rows go after INBOX_KEEP; a redelivery is then new again.
    assert await store.sweep(NOW + INBOX_KEEP) == 2
    assert await store.inbox_put(item("done"), claim_until=LATER) is not None
    assert [m.id for m in await store.outbox_claim(LATER, claim_until=LATER)] == ["unsent"]
    # What never got processed or sent goes after UNDELIVERED_KEEP.
    assert await store.sweep(NOW + UNDELIVERED_KEEP) == 2 + 1  # open, unsent, and "done" again
    assert await store.inbox_claim(LATER + UNDELIVERED_KEEP, claim_until=LATER) == []
