"""What users type cannot ping anyone or break a message, and every Discord limit holds
(the fake rejects any request over a limit; see ``FakeDiscord.problems``)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from bots.discord import text
from bots.discord.render import Renderer
from core import controls
from core.actions import Ask, Choice, Control, ControlKind, Result, Row, Style
from core.actions import ControlKind as Kind
from core.controls import ControlRef
from core.engine import step
from core.events import Answer, Start
from core.questionnaire import Questionnaire
from tests.core.paths import PATHS
from tests.discord.harness import ALICE, BOB, Harness
from tests.fakes.discord_api import GUILD_CHANNEL_ID, message_problems

ROLE, USER = "<@&990000000000009999>", f"<@{BOB}>"
PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


def outside_code_blocks(content: str) -> str:
    return "".join(content.split("```")[::2])


async def test_typed_mentions_never_ping(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash(in_guild=True, note=f"@everyone {ROLE} {USER} please reply")
    for answer in (f"@here {ROLE} {USER}", "yes", "yes", "yes"):
        await alice.type(answer)

    sent = [r for r in h.fake.requests if isinstance(r.body, dict) and "content" in r.body]
    assert len(sent) >= 5
    assert all(r.body["allowed_mentions"] == {"parse": []} for r in sent)
    for message in alice.messages():
        assert not PINGS.search(outside_code_blocks(message["content"])), message["content"]
    assert (
        "About this request: @\u200beveryone <@\u200b&990000000000009999>"
        in alice.messages()[0]["content"]
    )
    # The draft keeps what was typed, verbatim, inside its code block (which never pings).
    assert f"Hi @here {ROLE} {USER}," in alice.last()["content"]


async def test_a_typed_fence_cannot_break_out_of_the_draft(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await alice.slash()
    for answer in ("ACME ``` **bold** ```", "yes", "yes", "yes"):
        await alice.type(answer)
    content = alice.last()["content"]
    assert content.count("```") == 2
    assert "Hi ACME `\u200b`\u200b` **bold** `\u200b`\u200b`," in content


async def test_very_long_input_stays_within_limits(h: Harness) -> None:
    alice, bob = h.user(ALICE, "alice"), h.user(BOB, "bob")
    # A Nitro-length message (4,000 characters, emoji counting double) through the menu.
    target = h.fake.direct_message(bob.payload, "🙂 " * 1500 + "end")
    target["channel_id"] = str(GUILD_CHANNEL_ID)
    menu = h.fake.message_menu(
        alice.payload, h.q.ui("en", "discord_context_menu"), target, in_guild=True
    )
    await h.interact(menu)
    first = alice.messages()[0]["content"]
    assert text.length(first) <= text.CONTENT and "…" in first

    await alice.type("x" * 5000)  # far over the core's limit: a re-prompt, not an error
    assert alice.last()["content"].startswith(
        h.q.ui("en", "too_long", length=5000, max=h.q.max_text)
    )

    # The longest answers the form allows, everywhere they can land.
    longest = "ACME " + "🙂" * (h.q.max_text - 5)
    for answer in (longest, "yes", "yes", "no", "fee", "€" * h.q.max_text):
        await alice.answer_with_buttons(answer)
    result = alice.last()
    assert text.length(result["content"]) <= text.CONTENT
    assert result["embeds"][0]["title"] == h.q.outcome_text("en", "negotiate_fee", "title")
    answered = [m["content"] for m in alice.messages() if "You answered: ACME" in m["content"]]
    assert answered and all(text.length(c) <= text.CONTENT for c in answered)


def test_a_draft_too_long_for_one_message_is_shortened_and_says_so(
    questionnaire: Questionnaire,
) -> None:
    long_result = Result("accept", "Take it on", "word " * 600, "advice", "why", "en", "warm", 3)
    content = Renderer(questionnaire).result(long_result, ALICE).content
    assert text.length(content) <= text.CONTENT
    assert content.count("```") == 2
    assert content.endswith("…\n```\n" + questionnaire.ui("en", "trimmed"))


def test_buttons_wrap_at_five_a_row(questionnaire: Questionnaire) -> None:
    choices = tuple(Choice(f"c{i}", f"Choice {i} " + "x" * 100) for i in range(7))
    answers = tuple(
        Control(ControlKind.ANSWER, c.label, "time", 4, c.id, Style.PRIMARY, Row.ANSWERS)
        for c in choices
    )
    navigation = tuple(
        Control(kind, kind.name, "time", 4)
        for kind in (ControlKind.BACK, ControlKind.RESTART, ControlKind.CANCEL, ControlKind.HELP)
    )
    ask = Ask(
        "time",
        "Pick one",
        choices,
        "choice",
        None,
        False,
        "en",
        4,
        True,
        controls=(*answers, *navigation),
    )
    view = Renderer(questionnaire).ask(ask, ALICE).view
    assert view is not None
    rows = view.to_components()
    assert [len(r["components"]) for r in rows] == [5, 2, 4]
    assert all(len(b["label"]) <= text.BUTTON_LABEL for r in rows for b in r["components"])


@pytest.mark.parametrize("draft", ["Hi ACME,", None])
def test_the_reply_keeps_within_the_component_limits(
    questionnaire: Questionnaire, draft: str | None
) -> None:
    for lang in questionnaire.languages:
        # The controls the core gives a real result, at the largest version there can be.
        result = _a_result(questionnaire, lang, draft)
        biggest = tuple(replace(c, version=10**12 - 1) for c in result.controls)
        view = Renderer(questionnaire).result(replace(result, controls=biggest), 2**64 - 1).view
        assert view is not None
        rows = view.to_components()
        assert message_problems({"components": rows}) == []
        back = controls.decode(rows[-1]["components"][-2]["custom_id"])
        assert back == ControlRef(Kind.BACK, str(2**64 - 1), 10**12 - 1)  # the result's Back


def _a_result(q: Questionnaire, lang: str, draft: str | None) -> Result:
    today = date(2026, 11, 27)
    answers = ["skip", *PATHS["no_reply" if draft is None else "accept"]]
    state, actions = step(q, None, Start(today=today, lang=lang))
    for answer in answers:
        state, actions = step(q, state, Answer(answer, today))
    result = actions[-1]
    assert isinstance(result, Result)
    return result


# --- ids and text ------------------------------------------------------------------------
def test_custom_ids_round_trip_and_stay_short() -> None:
    longest = ControlRef(Kind.ANSWER, str(2**64 - 1), 10**12 - 1, "what_would_work", "timeline")
    encoded = controls.encode(longest, longest.owner)
    assert len(encoded) <= controls.MAX_LENGTH and re.fullmatch(controls.BUTTONS, encoded)
    assert controls.decode(encoded) == longest
    submit = controls.encode(ControlRef(Kind.SUBMIT, "1", 2, "client"), "1")
    assert controls.decode(submit) == ControlRef(Kind.SUBMIT, "1", 2, "client")
    assert not re.fullmatch(controls.BUTTONS, submit)  # forms are not buttons


@pytest.mark.parametrize("bad", ["a:b", "x" * 90, "espace ici"])
def test_custom_ids_refuse_what_would_not_parse(bad: str) -> None:
    with pytest.raises(ValueError):
        controls.encode(ControlRef(Kind.ANSWER, "1", 1, "time", bad), "1")


@pytest.mark.parametrize("foreign", ["other:a:1:1:time:yes", "sitting"])
def test_other_ids_are_not_ours(foreign: str) -> None:
    assert controls.decode(foreign) is None


@pytest.mark.parametrize("unknown", ["sit:z:1:1::", "sit:a:1:x:time:yes"])
def test_our_ids_in_no_known_grammar_are_outdated(unknown: str) -> None:
    assert controls.decode(unknown) is controls.OUTDATED


def test_fit_counts_as_discord_does() -> None:
    assert text.fit("abc", 3) == "abc"
    assert text.fit("abcd", 3) == "ab…"
    assert text.length(text.fit("🙂" * 10, 7)) <= 7  # two code units each


def row(*buttons: dict[str, str]) -> dict[str, object]:
    return {"type": 1, "components": [{"type": 2, **b} for b in buttons]}


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x" * 2001, "allowed_mentions": {"parse": []}},
        {"content": "🙂" * 1001, "allowed_mentions": {"parse": []}},
        {"content": "hi"},  # mentions left to the default
        {"content": "hi", "allowed_mentions": {"parse": ["everyone"]}},
        {"components": [row({"custom_id": "x" * 101, "label": "ok"})]},
        {"components": [row({"custom_id": "x", "label": "l" * 81})]},
        {"components": [row(*({"custom_id": str(i)} for i in range(6)))]},
        {"components": [row({"custom_id": str(i)}) for i in range(6)]},
        {"components": [row({"custom_id": "same"}, {"custom_id": "same"})]},
        {"embeds": [{"title": "t" * 257}]},
    ],
)
def test_the_fake_refuses_what_discord_would(body: dict[str, object]) -> None:
    # Every test relies on these checks, run on every request the bot makes.
    assert message_problems(body)
