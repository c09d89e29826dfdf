"""The saved profile on Slack, through the real Bolt app and signed requests: the App Home
shows it with an "Edit profile" button, the button opens the form (``views.open``) filled
in with what is saved, and sending the form saves it, or keeps it open with what is wrong
under each field (``response_action: errors``). A conversation started afterwards uses it."""

from __future__ import annotations

import json
import time
from typing import Any

from bots.slack.blocks import PROFILE_EDIT, PROFILE_FORM
from bots.slack.translate import NOT_SET, conversation_key
from core.actions import ControlKind as Kind
from core.ports import ConversationKey, StoreError
from core.profile import UserProfile
from tests.core.paths import PATHS
from tests.fakes.slack_api import APP_ID, TEAM
from tests.slack.conftest import NOW, USER, Slack, refs
from tests.slack.test_conversation import draft, texts

KEY = conversation_key(TEAM, None, USER)
NBSP = "\u00a0"


async def open_form(slack: Slack) -> dict[str, Any]:
    """Open the App Home, click "Edit profile": the form Slack was asked to open."""
    await slack.home()
    home = slack.api.to("views.publish")[-1].args["view"]
    await slack.click({"ts": "1.1", "text": "home", "blocks": home["blocks"]}, PROFILE_EDIT)
    opened = slack.api.to("views.open")[-1]
    assert opened.args["trigger_id"].startswith("trigger.")
    view: dict[str, Any] = opened.args["view"]
    return view


def fill(view: dict[str, Any], **typed: str) -> dict[str, Any]:
    """The form's state as Slack sends it: each field's initial value, or what was typed
    (an option's value for a select)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block["element"]
        field = block["block_id"]
        if element["type"] == "static_select":
            value = typed.get(field, element["initial_option"]["value"])
            option = next(o for o in element["options"] if o["value"] == value)
            state = {"type": "static_select", "selected_option": option}
        else:
            state = {
                "type": element["type"],
                "value": typed.get(field, element.get("initial_value")),
            }
        values[field] = {element["action_id"]: state}
    return values


async def submit(slack: Slack, view: dict[str, Any], **typed: str) -> dict[str, Any] | None:
    """Send the form; Slack's answer: None when the form closes, else the errors."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": USER, "username": USER.lower(), "name": USER.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy",
        "trigger_id": f"trigger.{time.time()}",
        "view": {
            **view,
            "id": "V0002",
            "team_id": TEAM,
            "state": {"values": fill(view, **typed)},
            "hash": "1700000000.abc",
        },
    }
    response = await slack.send_payload(payload)
    assert response.status == 200
    body = await response.text()
    return json.loads(body) if body else None


async def saved(slack: Slack, key: ConversationKey = KEY) -> UserProfile:
    return UserProfile.from_json(await slack.bot.store.load_profile(key), slack.q)


def profile_section(home: dict[str, Any]) -> list[str]:
    blocks = home["blocks"]
    edit = next(i for i, b in enumerate(blocks) if b.get("block_id") == "profile")
    return str(blocks[edit - 1]["text"]["text"]).splitlines()


async def test_app_home_shows_the_profile_and_the_form_saves_it(slack: Slack) -> None:
    await slack.home()
    home = slack.api.to("views.publish")[-1].args["view"]
    assert profile_section(home)[:2] == ["Signature: not set", "Default tone: not set"]
    assert home["blocks"][-1]["elements"][0]["text"]["text"] == "Edit profile"

    view = await open_form(slack)
    assert (view["type"], view["callback_id"], view["private_metadata"]) == (
        "modal",
        PROFILE_FORM,
        "en",
    )
    assert [b["block_id"] for b in view["blocks"]] == [
        "signature",
        "tone",
        "lang",
        "tz",
        "wait",
        "colleagues",
    ]
    assert [b["label"]["text"] for b in view["blocks"]][:3] == [
        "Signature",
        "Default tone",
        "Default language",
    ]
    assert view["blocks"][1]["element"]["initial_option"]["value"] == NOT_SET

    closed = await submit(
        slack,
        view,
        signature="Camille Martin",
        tone="formal",
        lang="fr",
        tz="europe/paris",
        wait="5",
        colleagues="Marie Dupont\nSam Lee\n",
    )
    assert closed is None  # the form closes
    assert await saved(slack) == UserProfile(
        signature="Camille Martin",
        tone="formal",
        lang="fr",
        tz="Europe/Paris",
        wait=5,
        colleagues=("Marie Dupont", "Sam Lee"),
    )
    # The App Home shows it at once, in the language now saved.
    home = slack.api.to("views.publish")[-1].args["view"]
    assert profile_section(home) == [
        f"Signature{NBSP}: Camille Martin",
        f"Ton par défaut{NBSP}: Formel",
        f"Langue par défaut{NBSP}: Français",
        f"Fuseau horaire{NBSP}: Europe/Paris",
        f"Délai avant un rappel{NBSP}: 5 jours ouvrés",
        f"Collègues à recommander{NBSP}: Marie Dupont · Sam Lee",
    ]

    # Opened again, the form holds what is saved, in French; emptied, a field is cleared.
    view = await open_form(slack)
    assert view["title"]["text"] == "Votre profil"
    element = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert element["signature"]["initial_value"] == "Camille Martin"
    assert element["tone"]["initial_option"]["value"] == "formal"
    assert element["wait"]["initial_value"] == "5"
    assert element["colleagues"]["initial_value"] == "Marie Dupont\nSam Lee"
    assert await submit(slack, view, signature="", tone=NOT_SET, colleagues="Sam Lee") is None
    after = await saved(slack)
    assert (after.signature, after.tone, after.lang, after.colleagues) == (
        None,
        None,
        "fr",
        ("Sam Lee",),
    )


async def test_refused_fields_keep_the_form_open_with_what_is_wrong(slack: Slack) -> None:
    await slack.bot.store.save_profile(KEY, UserProfile(tone="brief").to_json(), now=NOW)
    view = await open_form(slack)
    answer = await submit(
        slack,
        view,
        signature="x" * 81,
        tz="Atlantis/Capital",
        wait="0",
        colleagues="\n".join("ABCDEF"),
    )
    assert answer == {
        "response_action": "errors",
        "errors": {
            "signature": "A signature can be 80 characters long at most.",
            "tz": 'I don\'t know the time zone "Atlantis/Capital". Use a name such as '
            "Europe/Paris or America/New_York.",
            "wait": "The wait is a whole number of working days, from 1 to 20.",
            "colleagues": "You can save 5 colleagues at most. Remove one first.",
        },
    }
    assert await saved(slack) == UserProfile(tone="brief")  # nothing changed


async def test_a_store_failure_keeps_the_form_open_with_an_apology(slack: Slack) -> None:
    view = await open_form(slack)
    store = slack.bot.store

    async def down(key: ConversationKey, data: str, *, now: object) -> None:
        raise StoreError("database unreachable")

    store.save_profile = down  # type: ignore[method-assign]
    answer = await submit(slack, view, signature="Camille")
    assert answer == {
        "response_action": "errors",
        "errors": {"signature": slack.q.ui("en", "error")},
    }


async def test_a_conversation_uses_the_saved_profile(slack: Slack) -> None:
    view = await open_form(slack)
    await submit(
        slack, view, signature="Camille Martin", tone="brief", colleagues="Marie Dupont\nSam Lee"
    )
    await slack.command()
    await slack.dm("Acme")
    for value in PATHS["refer"][:-1]:
        await slack.choose(value)
    question = slack.question()
    offered = [r.value for r in refs(question).values() if r.kind is Kind.ANSWER]
    assert offered == ["saved1", "saved2", "skip"]
    assert "Sam Lee" in texts(question) and "Type your answer below, as a message." in texts(
        question
    )
    await slack.choose("saved2", kind=Kind.ANSWER)
    reply = draft(slack.last()) or ""
    assert "Sam Lee" in reply and reply.rstrip().endswith("Camille Martin")
    assert "Sam Taylor" not in reply  # the Slack name the reply would have been signed with


async def test_a_form_submission_slack_never_sends_is_refused(slack: Slack) -> None:
    for malformed in (
        {"type": "view_submission", "user": {"id": USER}},  # no view
        {
            "type": "view_submission",
            "user": {"id": USER},
            "view": {"callback_id": PROFILE_FORM, "state": []},
        },
        {"type": "view_submission", "user": {"id": "U<1>"}, "view": {"callback_id": PROFILE_FORM}},
    ):
        response = await slack.send_payload(malformed)
        assert response.status == 400, malformed
    assert await slack.bot.store.load_profile(KEY) is None


async def test_a_saved_language_is_the_language_of_help_and_history(slack: Slack) -> None:
    await slack.bot.store.save_profile(KEY, UserProfile(lang="fr").to_json(), now=NOW)
    await slack.command("history")  # Slack speaks English to this user; they saved French
    said = texts(slack.api.to("respond")[-1].args)
    assert slack.q.ui("fr", "history_empty") in said
    await slack.command("help")
    assert slack.bot.draw.help("fr").payload()["text"] == slack.api.to("respond")[-1].args["text"]
    await slack.command("history en")  # a language asked for beats the saved one
    assert slack.q.ui("en", "history_empty") in texts(slack.api.to("respond")[-1].args)


async def test_the_move_to_the_dm_is_told_in_the_conversations_language(slack: Slack) -> None:
    await slack.bot.store.save_profile(KEY, UserProfile(lang="fr").to_json(), now=NOW)
    await slack.command()  # from a channel; Slack speaks English to this user
    assert slack.q.question_text("fr", "client") in slack.last()["text"]
    (moved,) = slack.api.to("respond")
    assert slack.q.ui("fr", "continue_in_dm") in texts(moved.args)


async def test_a_form_that_cannot_open_is_said_on_the_app_home(slack: Slack) -> None:
    slack.api.fail("views.open", "expired_trigger_id")
    await slack.home()
    home = slack.api.to("views.publish")[-1].args["view"]
    await slack.click({"ts": "1.1", "text": "home", "blocks": home["blocks"]}, PROFILE_EDIT)
    again = slack.api.to("views.publish")[-1].args["view"]
    button = slack.q.ui("en", "slack_profile_edit")
    assert slack.q.ui("en", "slack_form_failed", button=button) in texts(again)
    # The store away: said too, not a click that does nothing.
    store = slack.bot.store

    async def down(key: ConversationKey) -> str | None:
        raise StoreError("database unreachable")

    store.load_profile = down  # type: ignore[method-assign]
    await slack.click({"ts": "1.1", "text": "home", "blocks": home["blocks"]}, PROFILE_EDIT)
    assert slack.q.ui("en", "error") in texts(slack.api.to("views.publish")[-1].args["view"])
