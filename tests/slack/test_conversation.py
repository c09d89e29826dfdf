"""The conversation as a Slack user has it: the command opens the DM, questions come with
buttons (a date picker for dates), typed answers work anywhere, every outcome is reached,
and the reply can be re-rendered in another tone or language without re-asking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bots.slack import mrkdwn as md
from bots.slack.translate import conversation_key
from core.actions import ControlKind as Kind
from core.dates import format_date
from core.questionnaire import SKIP
from core.state import ConversationState
from tests.core.paths import PATHS, SPECIFICS
from tests.fakes.slack_api import User
from tests.slack.conftest import NOW, TEAM, USER, Slack, refs


def header(message: dict[str, Any]) -> str | None:
    return next((b["text"]["text"] for b in message["blocks"] if b["type"] == "header"), None)


def draft(message: dict[str, Any]) -> str | None:
    for block in message["blocks"]:
        if (
            block["type"] == "rich_text"
            and block["elements"][0]["type"] == "rich_text_preformatted"
        ):
            return str(block["elements"][0]["elements"][0]["text"])
    return None


def texts(message: dict[str, Any]) -> str:
    """Every mrkdwn/plain text of a message, joined (for "is this said" checks)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text", "text"):
                found.append(str(node.get("text")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks"))
    return "\n".join(found)


async def answer(slack: Slack, value: str, *, typed: bool) -> None:
    """Answer the open question the way a person would: its button, the date picker, or
    (for free text, or when ``typed``) a message."""
    if typed:
        await slack.dm(value)
        return
    question = slack.question()
    kinds = {(r.kind, r.value) for r in refs(question).values()}
    before = len(slack.api.to("chat.update"))
    if (Kind.ANSWER, value) in kinds:
        await slack.choose(value)
    elif any(kind is Kind.DATE for kind, _ in kinds):
        await slack.pick_date(value)
    else:
        await slack.dm(value)
        return
    # The clicked question now shows the answer, and its buttons are gone.
    update = slack.api.to("chat.update")[before:][0].args
    assert update["ts"] == question["ts"]
    assert not [b for b in update["blocks"] if b["type"] == "actions"]
    assert "You answered:" in update["blocks"][-1]["elements"][0]["text"]


async def reach(
    slack: Slack, outcome: str, *, typed: bool = False, client: str | None = None
) -> None:
    await slack.command()
    if client is not None:
        await slack.dm(client)
    elif typed:
        await slack.dm("skip")
    else:
        await slack.choose(SKIP)
    for value in PATHS[outcome]:
        await answer(slack, value, typed=typed)


def assert_result(
    slack: Slack, outcome: str, lang: str, written: dict[str, str] | None = None
) -> dict[str, Any]:
    """``written``: how the user's locale writes a specific (en-GB dates)."""
    result = slack.last()
    assert header(result) == slack.q.outcome_text(lang, outcome, "title")
    reply = draft(result)
    if outcome == "no_reply":
        assert reply is None
        assert slack.q.ui(lang, "no_draft_heading") in texts(result)
    else:
        assert reply is not None
        for specific in SPECIFICS[outcome][lang]:
            assert (written or {}).get(specific, specific) in reply
    assert slack.q.outcome_text(lang, outcome, "advice").split()[0] in texts(result)
    return result


async def test_the_command_acks_at_once_and_moves_to_the_dm(slack: Slack) -> None:
    response = await slack.command()
    assert response.status == 200
    assert await response.text() == ""  # the empty ack: nothing shows in the channel
    assert [c.args["users"] for c in slack.api.to("conversations.open")] == [USER]
    (continue_in_dm,) = slack.api.to("respond")
    assert continue_in_dm.args["response_type"] == "ephemeral"
    assert (
        "app_redirect?channel=DU0001&team=T0001" in continue_in_dm.args["blocks"][0]["text"]["text"]
    )
    first = slack.last()
    assert slack.q.question_text("en", "client") in first["text"]
    assert {r.kind for r in refs(first).values()} >= {
        Kind.ANSWER,
        Kind.RESTART,
        Kind.CANCEL,
        Kind.HELP,
    }


@pytest.mark.parametrize("outcome", PATHS)
async def test_every_outcome_with_buttons(slack: Slack, outcome: str) -> None:
    await reach(slack, outcome)
    assert_result(slack, outcome, "en")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("outcome", PATHS)
async def test_every_outcome_typed(slack: Slack, outcome: str, lang: str) -> None:
    slack.api.users[USER] = User(locale={"en": "en-GB", "fr": "fr-FR"}[lang])
    await reach(slack, outcome, typed=True)
    # A British Slack locale writes dates the British way.
    result = assert_result(slack, outcome, lang, {"March 15, 2027": "15 March 2027"})
    if outcome != "no_reply":
        assert (draft(result) or "").rstrip().endswith("Sam Taylor")  # signed with the Slack name


async def test_the_language_argument_wins_over_the_locale(slack: Slack) -> None:
    slack.api.users[USER] = User(locale="en-US")
    await slack.command("fr")
    assert slack.q.question_text("fr", "client") in slack.last()["text"]
    assert "message privé" in slack.api.to("respond")[0].args["text"]


async def test_tone_and_language_switch_rerender_the_reply_in_place(slack: Slack) -> None:
    await reach(slack, "accept", client="Dana")
    result = slack.last()
    posts = len(slack.api.to("chat.postMessage"))
    assert {r.value for r in refs(result).values() if r.kind is Kind.TONE} == {"formal", "brief"}

    await slack.choose("formal", kind=Kind.TONE)
    formal = slack.last()
    assert formal["ts"] == result["ts"]
    assert draft(formal) != draft(result) and "Dear Dana," in (draft(formal) or "")
    assert {r.value for r in refs(formal).values() if r.kind is Kind.TONE} == {"warm", "brief"}

    await slack.choose("fr", kind=Kind.LANGUAGE)
    french = slack.last()
    assert french["ts"] == result["ts"]
    assert header(french) == slack.q.outcome_text("fr", "accept", "title")
    assert (draft(french) or "").startswith("Bonjour Dana")
    assert len(slack.api.to("chat.postMessage")) == posts  # nothing asked again
    notice = slack.api.to("respond")[-1].args
    assert notice["response_type"] == "ephemeral" and notice["text"] == slack.q.ui(
        "fr", "language_changed"
    )


async def test_start_over_from_the_reply(slack: Slack) -> None:
    await reach(slack, "decline")
    result = slack.last()
    await slack.choose("", kind=Kind.RESTART)
    frozen = slack.api.channels[f"D{USER}"][result["ts"]]
    assert not refs(frozen) and draft(frozen) == draft(result)  # the reply stays, buttons go
    assert slack.q.ui("en", "restarted") in slack.last()["text"]


async def test_back_shows_the_previous_answer(slack: Slack) -> None:
    await slack.command()
    await slack.choose(SKIP)
    await slack.choose("yes")  # it deserves a reply
    await slack.choose("yes")
    await slack.choose("", kind=Kind.BACK)
    again = slack.last()
    assert slack.q.question_text("en", "time") in again["text"]
    assert "You answered: Yes, I have the time" in texts(again)


async def test_help_and_typed_commands(slack: Slack) -> None:
    await slack.command()
    await slack.choose("", kind=Kind.HELP)
    assert slack.q.ui("en", "help").splitlines()[0] in slack.last()["text"]
    await slack.dm("cancel")
    assert slack.last()["text"] == slack.q.ui("en", "cancelled")


async def test_a_second_command_offers_to_resume(slack: Slack) -> None:
    await slack.command()
    await slack.dm("Acme")
    await slack.command()
    resume = slack.last()
    assert {r.value for r in refs(resume).values() if r.kind is Kind.ANSWER} == {
        "continue",
        "start_over",
    }
    await slack.choose("continue")
    assert slack.q.question_text("en", "respond") in slack.last()["text"]


async def test_a_new_request_mid_way_asks_before_replacing_anything(slack: Slack) -> None:
    await slack.command()
    await slack.dm("Acme")
    await slack.dm("yes")
    await slack.command("Globex wants a new website")
    resume = slack.last()
    assert {r.value for r in refs(resume).values() if r.kind is Kind.ANSWER} == {
        "continue",
        "start_over",
    }
    await slack.choose("start_over")
    # Starting over is about the new request; nothing of the old answers is kept.
    assert slack.q.question_text("en", "client") in slack.last()["text"]
    row = await slack.bot.store.load(conversation_key(TEAM, None, USER))
    assert row is not None
    state = ConversationState.from_json(row.data)
    assert state.context["request"] == "Globex wants a new website" and state.answers == {}


async def test_the_date_picker_and_a_date_in_the_past(slack: Slack) -> None:
    await reach(slack, "booked")
    await slack.dm("restart")
    await slack.dm("skip")
    for value in PATHS["booked"][:-1]:
        await answer(slack, value, typed=False)
    question = slack.question()
    await slack.pick_date("2001-01-01")
    assert "is not after today" in slack.last()["text"]
    frozen = slack.api.channels[f"D{USER}"][question["ts"]]
    assert not refs(frozen) and "You answered" not in texts(frozen)  # a re-prompt is no answer
    await slack.dm("15 March 2027")
    assert "March 15, 2027" in (draft(slack.last()) or "")


async def test_the_message_shortcut_quotes_the_request(slack: Slack) -> None:
    request = "Hi! Could you redesign our logo by Friday? Budget is tight. — Acme"
    response = await slack.shortcut(request)
    assert response.status == 200
    first = slack.last()
    quote = first["blocks"][0]
    assert quote["type"] == "rich_text" and quote["elements"][1]["type"] == "rich_text_quote"
    assert quote["elements"][1]["elements"][0]["text"] == request
    assert slack.q.question_text("en", "client") in first["text"]
    assert slack.api.to("respond")[0].args["response_type"] == "ephemeral"


async def test_app_home_shows_intro_and_recent_decisions(slack: Slack) -> None:
    await slack.home()
    (first,) = slack.api.to("views.publish")
    assert first.args["user_id"] == USER
    view = first.args["view"]
    assert view["type"] == "home"
    assert slack.q.ui("en", "history_empty") in texts(view)
    assert any(r.kind is Kind.START for r in refs(view).values())

    await reach(slack, "refer", client="Acme")
    await slack.home()
    home = slack.api.to("views.publish")[-1].args["view"]
    assert "Decline and refer a colleague (Acme)" in texts(home)


async def test_starting_from_app_home(slack: Slack) -> None:
    await slack.home()
    view = slack.api.to("views.publish")[0].args["view"]
    start = next(a for a, r in refs(view).items() if r.kind is Kind.START)
    await slack.click({"ts": "1.1", "text": "home", "blocks": view["blocks"]}, start)
    assert slack.q.question_text("en", "client") in slack.last()["text"]


async def test_help_history_and_forget_subcommands(slack: Slack) -> None:
    await slack.command("help")
    assert (
        "/should-i-take-it history"
        in slack.api.to("respond")[-1].args["blocks"][-1]["text"]["text"]
    )
    assert "Home tab" in slack.api.to("respond")[-1].args["blocks"][-1]["text"]["text"]
    await reach(slack, "accept")
    await slack.command("history")
    shown = slack.api.to("respond")[-1].args
    assert "Take it on" in texts(shown)
    assert shown["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Your recent decisions", "emoji": False},
    }

    await slack.command("forget")
    confirm = slack.api.to("respond")[-1].args
    confirm_message = {"ts": "1.2", "text": confirm["text"], "blocks": confirm["blocks"]}
    keep = next(a for a, r in refs(confirm_message).items() if r.kind is Kind.KEEP)
    await slack.click(confirm_message, keep, channel="C0001")
    assert slack.api.to("respond")[-1].args["text"] == "Nothing was deleted."
    forget = next(a for a, r in refs(confirm_message).items() if r.kind is Kind.FORGET)
    await slack.click(confirm_message, forget, channel="C0001")
    done = slack.api.to("respond")[-1].args
    assert done["replace_original"] is True and done["text"] == "Past decisions deleted: 1."
    await slack.command("history")
    assert slack.q.ui("en", "history_empty") in texts(slack.api.to("respond")[-1].args)


async def test_a_failed_dm_is_explained(slack: Slack) -> None:
    slack.api.fail("conversations.open", "cannot_dm_bot")
    await slack.command()
    assert slack.api.to("respond")[-1].args["text"] == slack.q.ui("en", "dm_failed")
    assert not slack.api.to("chat.postMessage")


async def test_the_dm_is_opened_once_and_a_failure_is_not_kept(slack: Slack) -> None:
    slack.api.fail("conversations.open", "cannot_dm_bot")
    await slack.command()
    assert slack.api.to("respond")[-1].args["text"] == slack.q.ui("en", "dm_failed")
    await slack.command()  # tried again: a failure is not kept
    await slack.command("fr")  # the DM's id is
    assert len(slack.api.to("conversations.open")) == 2
    assert slack.q.question_text("fr", "client") in slack.last()["text"]


async def test_a_dm_refused_for_a_missing_scope_names_the_scope(slack: Slack) -> None:
    slack.api.fail("conversations.open", "missing_scope", needed="im:write")
    await slack.command()
    said = slack.api.to("respond")[-1].args["text"]
    assert said == md.escape(slack.q.ui("en", "slack_dm_failed", scope="im:write"))
    assert "privacy" not in said  # not the user's settings: the app's


async def test_the_command_in_the_dm_itself_says_nothing_in_the_channel(slack: Slack) -> None:
    await slack.command(channel=f"D{USER}")
    assert not slack.api.to("respond")
    assert slack.q.question_text("en", "client") in slack.last()["text"]


async def test_a_first_dm_starts_in_the_users_language_signed_with_their_name(
    slack: Slack,
) -> None:
    slack.api.users[USER] = User(locale="fr-FR", real_name="Camille Dupont")
    await slack.dm("bonjour")
    assert slack.q.question_text("fr", "client") in slack.last()["text"]
    for text in ("Anna", "oui", "oui", "oui"):
        await slack.dm(text)
    assert "Camille Dupont" in str(slack.last()["blocks"])
    # One profile look-up serves the whole conversation.
    assert len(slack.api.to("users.info")) == 1


async def test_dates_are_read_on_the_users_own_calendar_day(slack: Slack) -> None:
    # The server's clock says noon UTC; for this user it is already 1 a.m. tomorrow.
    slack.api.users[USER] = User(tz_offset=13 * 3600)
    await slack.command()
    for text in ("Anna", "yes", "no", "yes", "timeline"):
        await slack.dm(text)
    # A start date must be after today, and today is the user's: the server's tomorrow.
    users_today = NOW.date() + timedelta(days=1)
    await slack.dm(users_today.isoformat())
    past = slack.q.ui("en", "past_date", date=format_date(users_today, "en"))
    assert past in str(slack.last())
    await slack.dm((users_today + timedelta(days=1)).isoformat())
    assert slack.q.outcome_text("en", "negotiate_timeline", "title") in str(slack.last())


async def test_triage_comes_first_and_dismisses_spam_in_one_click(slack: Slack) -> None:
    await slack.command()
    await slack.choose(SKIP)  # the optional client name
    question = slack.question()
    offered = {r.value for r in refs(question).values() if r.kind is Kind.ANSWER}
    assert {r.question for r in refs(question).values()} == {"respond"}
    assert offered == {"yes", "no"}
    posts = len(slack.api.to("chat.postMessage"))
    await slack.choose("no")
    assert len(slack.api.to("chat.postMessage")) == posts + 1  # one answer, one result
    result = slack.last()
    assert header(result) == slack.q.outcome_text("en", "no_reply", "title")
    assert draft(result) is None


async def test_a_second_request_from_the_same_client_recalls_the_first(slack: Slack) -> None:
    await slack.command()
    await slack.dm("ACME Inc.")
    for value in ("yes", "yes", "no", "neither", "no"):  # a decline
        await answer(slack, value, typed=False)
    assert header(slack.last()) == slack.q.outcome_text("en", "decline", "title")
    await slack.command()  # a new request, some days later
    await slack.dm("acme")  # named at the who question, spelled differently
    triage = slack.question()
    day = format_date(NOW.date(), "en")
    assert f"You declined Acme on {day}." in texts(triage)
    assert slack.q.question_text("en", "respond") in triage["text"]


async def test_a_reprompt_shows_the_answers_once_as_buttons_below_it(slack: Slack) -> None:
    await slack.command()
    await slack.dm("Acme")  # the client; the triage question comes next
    await slack.dm("maybe")
    reprompt = slack.last()
    said = texts(reprompt)
    assert said.index(slack.q.ui("en", "choose")) < said.index(
        slack.q.question_text("en", "respond")
    )
    deserves = slack.q.choice_label("en", "respond", "yes")
    assert said.count(deserves) == 1  # on its button, not listed in the notice too
    assert any(r.kind is Kind.ANSWER and r.value == "yes" for r in refs(reprompt).values())


async def test_starting_from_app_home_without_a_dm_says_why_on_the_home(slack: Slack) -> None:
    await slack.home()
    view = slack.api.to("views.publish")[0].args["view"]
    start = next(a for a, r in refs(view).items() if r.kind is Kind.START)
    slack.api.fail("conversations.open", "missing_scope", needed="im:write")
    await slack.click({"ts": "1.1", "text": "home", "blocks": view["blocks"]}, start)
    home = slack.api.to("views.publish")[-1].args["view"]
    assert home["blocks"][0]["text"]["text"].startswith("⚠️ ")
    said = slack.q.ui("en", "slack_dm_failed", scope="im:write").replace("&", "&amp;")
    assert said in texts(home)  # (mrkdwn escapes "&")


async def test_history_typed_in_the_dm_brings_the_help_naming_the_command(slack: Slack) -> None:
    await slack.dm("history")
    said = texts(slack.last())
    assert slack.q.ui("en", "help").split("\n")[0] in said
    assert "/should-i-take-it history" in said
    assert slack.api.to("conversations.open") == []  # no conversation started about it
