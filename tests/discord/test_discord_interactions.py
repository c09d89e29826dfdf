"""The Discord conversation around the questions: the message menu, languages, the reply's
buttons, back / start over / cancel, resuming, stale, double and foreign clicks, closed DMs,
help / history / forget, and buttons and forms that outlive the process that sent them."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest

from bots.discord.adapter import conversation_key
from core import controls
from core.actions import ControlKind as Kind
from core.dates import format_date
from core.memory_store import MemoryStore
from core.ports import ConversationKey, Decision, StoredConversation, StoreError
from core.profile import UserProfile
from core.store import open_store
from tests.discord.harness import (
    ALICE,
    BOB,
    NOON,
    ErrorLog,
    Harness,
    Message,
    StartBot,
    User,
    button,
    buttons,
    settle,
)
from tests.fakes.discord_api import EPHEMERAL, GUILD_CHANNEL_ID


async def reach_result(alice: User, *answers: str) -> None:
    await alice.slash()
    for answer in ("ACME", *answers):
        await alice.answer_with_buttons(answer)


def ask_of(message: Message) -> str:
    """The question a message's buttons belong to."""
    ids = [controls.decode(b["custom_id"]) for b in buttons(message)]
    return next(c.question for c in ids if c is not None)


# --- starting -----------------------------------------------------------------------------
async def test_message_menu_starts_about_that_message(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    target = h.fake.direct_message(
        h.fake.user(BOB, "bob"), "Could you redesign our site by March?\nBudget: 2k"
    )
    target["channel_id"] = str(GUILD_CHANNEL_ID)
    payload = h.fake.message_menu(
        alice.payload, h.q.ui("en", "discord_context_menu"), target, in_guild=True
    )
    await h.interact(payload)

    assert h.reply(payload)["flags"] & EPHEMERAL
    first = alice.messages()[0]
    assert first["content"].startswith(
        "About this request: Could you redesign our site by March? Budget: 2k\n\n"
        "**Who is this request from?"
    )
    assert ask_of(first) == "client"


async def test_message_menu_in_the_bots_dm_runs_right_there(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    target = h.fake.direct_message(alice.payload, "A forwarded request from a client")
    payload = h.fake.message_menu(
        alice.payload, h.q.ui("en", "discord_context_menu"), target, in_guild=False
    )
    await h.interact(payload)
    assert h.reply(payload) == alice.messages()[0]
    assert "About this request: A forwarded request" in alice.messages()[0]["content"]


async def test_french_client_gets_french_unless_the_option_says_otherwise(h: Harness) -> None:
    alice, bob = h.user(ALICE, "alice"), h.user(BOB, "bob")
    start = await alice.slash(in_guild=True, locale="fr")
    await bob.slash(in_guild=True, locale="fr", language="en")

    assert h.reply(start)["content"].startswith(h.q.ui("fr", "continue_in_dm"))
    assert alice.last()["content"].startswith("**De qui vient cette demande\u202f?")
    labels = [b["label"] for b in buttons(alice.last())]
    assert labels == ["✎ Saisir ma réponse", "Passer", "Recommencer", "Annuler", "Aide"]
    assert bob.last()["content"].startswith("**Who is this request from?")


async def test_a_bare_command_offers_to_resume(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME", "yes", "yes"):
        await alice.type(answer)

    await alice.slash()
    resume = alice.last()
    assert [b["label"] for b in buttons(resume)][:2] == ["Continue", "Start over"]
    await alice.click(resume, button(resume, Kind.ANSWER, "continue"))
    assert ask_of(alice.last()) == "terms"
    assert (await alice.conversation()).values["client"] == "ACME"


@pytest.mark.parametrize(
    ("how", "start_over"),
    [("note", Kind.ANSWER), ("message menu", Kind.ANSWER)],
)
async def test_a_new_request_mid_way_asks_first_and_starting_over_takes_it(
    h: Harness, how: str, start_over: Kind
) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME", "yes", "yes"):
        await alice.type(answer)

    if how == "note":
        await alice.slash(in_guild=True, note="A brand new request")
    else:
        target = h.fake.direct_message(h.fake.user(BOB, "bob"), "A brand new request")
        target["channel_id"] = str(GUILD_CHANNEL_ID)
        await h.interact(
            h.fake.message_menu(
                alice.payload, h.q.ui("en", "discord_context_menu"), target, in_guild=True
            )
        )
    # Nothing is thrown away before the user says so: the new request waits on the answer.
    resume = alice.last()
    assert resume["content"].startswith("About this request: A brand new request\n\n")
    assert ask_of(resume) == "resume"
    waiting = await alice.conversation()
    assert (waiting.step, waiting.values["client"]) == ("terms", "ACME")
    assert "request" not in waiting.context

    value = "start_over" if start_over is Kind.ANSWER else None
    await alice.click(resume, button(resume, start_over, value))
    assert h.fake.messages[int(resume["id"])]["components"] == []
    assert alice.last()["content"].startswith("Starting over.\n\n**Who is this request from?")
    restarted = await alice.conversation()
    assert (restarted.step, restarted.history) == ("client", ())
    assert restarted.context["request"] == "A brand new request"
    assert "client" not in restarted.values  # ACME belonged to the old request


# --- the reply ------------------------------------------------------------------------------
async def test_tone_and_language_buttons_rewrite_the_reply_in_place(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    result = alice.last()
    count = len(alice.messages())

    await alice.click(result, button(result, Kind.TONE, "formal"))
    result = h.fake.messages[int(result["id"])]
    assert "(Formal, English), ready to send:\n```\nDear ACME," in result["content"]
    # The tones to switch to: not the one the reply is in.
    assert [b["label"] for b in buttons(result)][:2] == ["Tone: Warm", "Tone: Brief"]

    await alice.click(result, button(result, Kind.LANGUAGE, "fr"))
    result = h.fake.messages[int(result["id"])]
    assert (
        "(Formel, Français), prêt à envoyer\u00a0:\n```\nBonjour ACME,\n\nJe vous"
        in result["content"]
    )
    assert result["embeds"][0]["title"] == h.q.outcome_text("fr", "accept", "title")
    assert [b["label"] for b in buttons(result)] == [
        "Ton\u00a0: Chaleureux",
        "Ton\u00a0: Concis",
        "English",
        "← Retour",
        "Recommencer",
    ]
    assert len(alice.messages()) == count  # rewritten, nothing new posted

    await alice.type("brief")  # typing a tone works too, with a new message
    assert len(alice.messages()) == count + 1
    assert "(Concis, Français)" in alice.last()["content"]


async def test_start_over_from_the_reply(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    result = alice.last()
    await alice.click(result, button(result, Kind.RESTART))
    assert h.fake.messages[int(result["id"])]["components"] == []  # the reply stays, for copying
    assert alice.last()["content"].startswith("Starting over.\n\n**Who is this request from?")


async def test_back_from_the_reply(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    result = alice.last()
    await alice.click(result, button(result, Kind.BACK))
    kept = h.fake.messages[int(result["id"])]
    assert "Hi ACME," in kept["content"] and kept["components"] == []  # kept, for copying
    assert ask_of(alice.last()) == "terms"
    assert "-# You answered: Yes, it's a clear yes" in alice.last()["content"]
    assert (await alice.conversation()).status == "active"


@pytest.mark.parametrize("kind", [Kind.RESTART, Kind.BACK])
async def test_the_reply_of_a_finished_conversation_leaves_the_next_one_alone(
    h: Harness, kind: Kind
) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    old = copy.deepcopy(alice.last())
    await alice.slash()  # the last one is finished: this starts a new one
    await alice.type("Globex")
    count = len(alice.messages())

    click = await alice.click(old, button(old, kind))
    assert [(m["content"], m["flags"]) for m in h.followups(click)] == [
        (h.q.ui("en", "stale"), EPHEMERAL)
    ]
    assert h.fake.messages[int(old["id"])]["content"] == old["content"]
    assert len(alice.messages()) == count
    now = await alice.conversation()
    assert (now.status, now.step, now.values["client"]) == ("active", "respond", "Globex")


# --- moving around ---------------------------------------------------------------------------
async def test_back_shows_the_previous_answer(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME", "yes", "yes"):
        await alice.answer_with_buttons(answer)
    terms = alice.last()
    await alice.click(terms, button(terms, Kind.BACK))
    assert h.fake.messages[int(terms["id"])]["components"] == []
    assert ask_of(alice.last()) == "time"
    assert "-# You answered: Yes, I have the time" in alice.last()["content"]


async def test_cancel(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    question = alice.last()
    await alice.click(question, button(question, Kind.CANCEL))
    assert [m["content"] for m in alice.messages()[1:]] == [h.q.ui("en", "cancelled")]
    assert (await alice.conversation()).status == "cancelled"


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        (Kind.BACK, "**Who is this request from?"),
        (Kind.RESTART, "Starting over.\n\n**Who is this request from?"),
        (Kind.CANCEL, "No problem, I've stopped here"),
    ],
)
async def test_a_double_click_on_back_start_over_or_cancel_acts_once(
    h: Harness, kind: Kind, shown: str
) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    await alice.type("ACME")
    question = alice.last()
    count = len(alice.messages())
    clicks = [h.fake.click(alice.payload, question, button(question, kind)) for _ in range(2)]
    for click in clicks:
        h.bot._connection.parse_interaction_create(click)  # type: ignore[arg-type]
    await settle()

    assert [len(h.fake.interactions[c["token"]].responses) for c in clicks] == [1, 1]
    [acted] = alice.messages()[count:]
    assert acted["content"].startswith(shown)
    # The second click found the conversation moved on (or nothing left to cancel).
    notices = [m for c in clicks for m in h.followups(c) if m["flags"] & EPHEMERAL]
    assert len(notices) == 1


async def test_help_button_explains_and_asks_again(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    question = alice.last()
    await alice.click(question, button(question, Kind.HELP))
    assert alice.last()["content"].startswith(h.q.ui("en", "help").strip())
    assert ask_of(alice.last()) == "client"


# --- stale, double and foreign clicks --------------------------------------------------------
async def test_double_click_advances_once(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    await alice.type("ACME")
    question = alice.last()
    yes = button(question, Kind.ANSWER, "yes")
    clicks = [h.fake.click(alice.payload, question, yes) for _ in range(2)]
    for click in clicks:
        h.bot._connection.parse_interaction_create(click)  # type: ignore[arg-type]
    await settle()

    assert [len(h.fake.interactions[c["token"]].responses) for c in clicks] == [1, 1]
    asked = [ask_of(m) for m in alice.messages() if m["components"]]
    assert asked.count("time") == 1
    notices = [m["content"] for c in clicks for m in h.followups(c) if m["flags"] & EPHEMERAL]
    assert notices == [h.q.ui("en", "stale")]


@pytest.mark.parametrize(
    ("kind", "value"),
    [(Kind.ANSWER, "no"), (Kind.BACK, None), (Kind.RESTART, None), (Kind.CANCEL, None)],
)
async def test_buttons_on_a_question_answered_by_typing_are_stale(
    h: Harness, kind: Kind, value: str | None
) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME", "yes", "yes"):
        await alice.type(answer)
    # A typed answer cannot say which message held the question (nothing is kept in memory
    # to find it), so the time question still shows its buttons: every one of them is stale.
    old = next(m for m in alice.messages() if m["components"] and ask_of(m) == "time")
    count = len(alice.messages())

    click = await alice.click(old, button(old, kind, value))
    assert [m["content"] for m in h.followups(click)] == [h.q.ui("en", "stale")]
    assert h.fake.messages[int(old["id"])]["components"] == old["components"]  # left alone
    assert len(alice.messages()) == count
    assert ask_of(alice.with_buttons()) == "terms"
    now = await alice.conversation()
    assert (now.status, now.step, now.values["client"]) == ("active", "terms", "ACME")


async def test_a_date_the_form_could_not_read_leaves_the_question_open(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME", "yes", "no", "yes", "timeline"):
        await alice.answer_with_buttons(answer)
    question = copy.deepcopy(alice.last())
    assert ask_of(question) == "free_from"
    await alice.click(question, button(question, Kind.TYPE))
    form = h.fake.modals[-1]["custom_id"]

    await alice.submit(question, form, "soon")
    # The question is asked again under the reason; the form still answers it.
    assert h.fake.messages[int(question["id"])]["components"] == []
    again = alice.last()
    assert again["content"].startswith(h.q.ui("en", "bad_date"))
    assert ask_of(again) == "free_from" and again["components"]

    await alice.submit(question, form, "2027-03-15")  # the same form, now with a date
    answered = h.fake.messages[int(question["id"])]
    assert answered["content"].endswith("**You answered: March 15, 2027**")
    assert answered["components"] == []
    [decision] = await alice.decisions()
    assert decision.outcome == "negotiate_timeline"


async def test_an_answer_after_the_conversation_expired_is_not_shown_as_given(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    question = copy.deepcopy(alice.last())
    h.session.clock = lambda: NOON + h.session.ttl + timedelta(minutes=1)

    await alice.click(question, button(question, Kind.ANSWER, "skip"))
    closed = h.fake.messages[int(question["id"])]
    assert (closed["content"], closed["components"]) == (question["content"], [])
    assert alice.last()["content"] == h.q.ui("en", "expired")


async def test_someone_elses_click_is_refused_politely(h: Harness) -> None:
    alice, bob = h.user(ALICE, "alice"), h.user(BOB, "bob")
    await alice.slash()
    question = alice.last()
    before = len(alice.messages())

    click = await bob.click(
        question, button(question, Kind.ANSWER, "skip"), in_guild=True, locale="fr"
    )
    refusal = h.reply(click)
    assert refusal["flags"] & EPHEMERAL
    assert refusal["content"] == h.q.ui("fr", "not_yours")
    assert h.fake.interactions[click["token"]].responses == [4]  # answered at once, no store call
    assert h.fake.messages[int(question["id"])]["components"] == question["components"]
    assert len(alice.messages()) == before


# --- DMs closed, help, history, forget ------------------------------------------------------
async def test_closed_dms_are_explained(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    h.fake.closed_dms.add(ALICE)
    start = await alice.slash(in_guild=True)
    assert h.reply(start)["content"] == h.q.ui("en", "dm_failed")
    assert h.reply(start)["flags"] & EPHEMERAL
    assert alice.messages() == []


async def test_help_history_and_forget(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    shown = h.reply(await alice.command("discord_help_name", in_guild=True))
    assert shown["flags"] & EPHEMERAL
    assert "/should-i-take-it-history lists your past decisions" in shown["content"]
    empty = h.reply(await alice.command("discord_history_name", locale="fr"))
    assert empty["content"] == h.q.ui("fr", "history_empty")

    await reach_result(alice, "yes", "yes", "yes")
    history = h.reply(await alice.command("discord_history_name", in_guild=True))
    assert history["content"] == "**Your recent decisions**\n• Nov 27, 2026 — Take it on (ACME)"
    confirm = h.reply(await alice.command("discord_forget_name", in_guild=True))
    assert confirm["flags"] & EPHEMERAL
    assert confirm["content"] == h.q.ui("en", "forget_confirm")
    assert len(await alice.decisions()) == 1  # nothing deleted before the confirmation
    click = await alice.click(confirm, button(confirm, Kind.FORGET), in_guild=True)
    assert h.reply(click)["content"] == h.q.ui("en", "forgotten", count=1)
    assert h.reply(click)["components"] == []
    assert await alice.decisions() == []


# --- restarts --------------------------------------------------------------------------------
async def test_buttons_and_forms_work_after_a_restart(start_bot: StartBot, tmp_path: Path) -> None:
    store = await open_store(None, data_dir=tmp_path)
    before = await start_bot(store)
    alice = before.user(ALICE, "alice")
    await alice.slash()
    question = alice.last()
    await alice.click(question, button(question, Kind.TYPE))  # the form opens...
    form = before.fake.modals[-1]["custom_id"]
    await before.bot.close()
    await store.close()

    store = await open_store(None, data_dir=tmp_path)  # a new process: new client, same database
    try:
        after = await start_bot(store)
        alice.h = after
        await alice.submit(question, form, "ACME")  # ...and is sent after the restart
        assert ask_of(alice.last()) == "respond"
        for answer in ("yes", "yes", "yes"):
            await alice.answer_with_buttons(answer)
        [decision] = await alice.decisions()
        assert (decision.outcome, decision.client) == ("accept", "ACME")
    finally:
        await store.close()


async def test_racing_clicks_from_two_processes_advance_once(
    start_bot: StartBot, tmp_path: Path
) -> None:
    stores = [await open_store(None, data_dir=tmp_path) for _ in range(2)]
    try:
        one, two = await start_bot(stores[0]), await start_bot(stores[1])
        alice = one.user(ALICE, "alice")
        await alice.slash()
        await alice.type("ACME")
        question = alice.last()
        yes = button(question, Kind.ANSWER, "yes")
        clicks = [(bot, one.fake.click(alice.payload, question, yes)) for bot in (one, two)]
        for harness, click in clicks:
            harness.bot._connection.parse_interaction_create(click)  # type: ignore[arg-type]
        await settle()
        asked = [ask_of(m) for m in alice.messages() if m["components"]]
        assert asked.count("time") == 1
    finally:
        for store in stores:
            await store.close()


# --- failures ----------------------------------------------------------------------------
class FlakyStore(MemoryStore):
    """A store whose database can go away."""

    down = False

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        if self.down:
            raise StoreError("database unreachable")
        return await super().load(key)

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if self.down:
            raise StoreError("database unreachable")
        return await super().decisions(key, limit)


async def test_an_unreachable_store_gets_an_apology_and_nothing_is_lost(
    start_bot: StartBot, no_errors: ErrorLog
) -> None:
    store = FlakyStore()
    h = await start_bot(store)
    alice = h.user(ALICE, "alice")
    await alice.slash()
    question = alice.last()
    apology = h.q.ui("en", "error")
    store.down = True

    click = await alice.click(question, button(question, Kind.ANSWER, "skip"))
    assert [(m["content"], m["flags"]) for m in h.followups(click)] == [(apology, EPHEMERAL)]
    assert h.fake.messages[int(question["id"])]["components"]  # kept, to try again
    assert h.reply(await alice.slash(in_guild=True))["content"] == apology
    assert h.reply(await alice.command("discord_history_name"))["content"] == apology

    store.down = False
    await alice.click(question, button(question, Kind.ANSWER, "skip"))
    assert ask_of(alice.last()) == "respond"
    logged = {r.name for r in no_errors.records}
    assert logged == {"should_i_take_it.turn", "should_i_take_it.discord"}
    no_errors.records.clear()  # expected here


async def test_a_cancel_that_failed_can_be_clicked_again(
    start_bot: StartBot, no_errors: ErrorLog
) -> None:
    store = FlakyStore()
    h = await start_bot(store)
    alice = h.user(ALICE, "alice")
    await alice.slash()
    question = alice.last()
    store.down = True
    click = await alice.click(question, button(question, Kind.CANCEL))
    assert [m["content"] for m in h.followups(click)] == [h.q.ui("en", "error")]

    store.down = False
    await alice.click(question, button(question, Kind.CANCEL))
    assert alice.last()["content"] == h.q.ui("en", "cancelled")
    no_errors.records.clear()  # the failure was logged, as expected


async def test_triage_comes_first_and_dismisses_spam_in_one_click(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    await alice.answer_with_buttons("skip")
    question = alice.with_buttons()
    assert ask_of(question) == "respond"
    count = len(alice.messages())
    await alice.answer_with_buttons("no")
    assert len(alice.messages()) == count + 1  # one answer, the result
    result = alice.last()
    assert result["embeds"][0]["title"] == h.q.outcome_text("en", "no_reply", "title")
    assert "```" not in result["content"]  # no draft: no reply is owed


async def test_a_second_request_from_the_same_client_recalls_the_first(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "no", "neither", "no")
    assert [d.outcome for d in await alice.decisions()] == ["decline"]
    await alice.slash()
    await alice.type("*Acme*")  # the same client, spelled another way, with markdown in it
    triage = alice.last()
    assert ask_of(triage) == "respond"
    day = format_date(NOON.date(), "en_US")
    # The name is shown as typed, never as formatting.
    assert f"-# You declined \\*Acme\\* on {day}." in triage["content"]


async def test_a_saved_language_is_the_language_of_help_and_history(h: Harness) -> None:
    saved = UserProfile(lang="fr").to_json()
    await h.session.store.save_profile(conversation_key(ALICE), saved, now=NOON)
    alice = h.user(ALICE, "alice")
    empty = h.reply(await alice.command("discord_history_name"))  # Discord says en-US
    assert empty["content"] == h.q.ui("fr", "history_empty")
    shown = h.reply(await alice.command("discord_help_name"))
    assert shown["content"] == h.bot.adapter.render.help("fr")


async def test_a_notice_repeating_what_was_typed_draws_none_of_it(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    await alice.type("@everyone **boom** ||spoiler||")
    said = alice.last()["content"]
    assert "\\*\\*boom\\*\\*" in said and "\\|\\|spoiler\\|\\|" in said
    assert "@everyone" not in said  # escaped: "@\u200beveryone"


async def test_help_typed_in_the_dm_names_the_commands(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.type("history")
    said = alice.last()["content"]
    assert "/should-i-take-it-history lists your past decisions" in said
    assert await h.session.store.load(alice.key) is None  # no conversation started about it
