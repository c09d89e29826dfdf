"""The pure parts: ids, escaping, limits, and rendering held to Block Kit's rules."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.slack import mrkdwn as md
from bots.slack.blocks import render_ask, render_turn
from bots.slack.ids import ActionRef, BlockRef, Kind
from bots.slack.translate import click_event, parse_command, profile_from
from core.actions import Ask, Choice, Say
from core.events import Answer, Back, Cancel, ChangeTone, Restart
from core.questionnaire import Questionnaire
from tests.slack.payloads import check_payload

_BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


@pytest.mark.parametrize(
    ("slack_text", "plain"),
    [
        ("<!here> hi", "@here hi"),
        ("<!channel>", "@channel"),
        ("<!subteam^S123|@design>", "@design"),
        ("<@U123|sam> and <@U456>", "@sam and @U456"),
        ("<#C123|general>", "#general"),
        ("<mailto:sam@example.com|sam@example.com>", "sam@example.com"),
        ("<https://example.com|example.com>", "example.com"),
        ("<https://example.com>", "https://example.com"),
        ("&lt;!channel&gt; &amp; co", "<!channel> & co"),
    ],
)
def test_slack_text_reads_as_typed(slack_text: str, plain: str) -> None:
    assert md.to_plain(slack_text) == plain


def test_escape_leaves_no_markup() -> None:
    assert md.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


@given(st.text(alphabet="ab &<>\n", max_size=9000), st.integers(60, 3000))
def test_split_and_fit_hold_the_limit_and_never_cut_an_entity(raw: str, limit: int) -> None:
    pieces = md.split(raw, limit, most=4, note="(cut)")
    for piece in pieces:
        assert len(piece) <= limit and not _BROKEN_ENTITY.search(piece)
    fitted = md.fit(raw, limit, "(cut)")
    assert len(fitted) <= limit and not _BROKEN_ENTITY.search(fitted)


def test_ids_round_trip_and_stay_within_slacks_limit() -> None:
    ref = ActionRef(Kind.ANSWER, "what:would_work", 12, "a|b")
    assert ActionRef.decode(ref.encode()) == ref
    assert BlockRef.decode(BlockRef("U1", "fr", 2).encode()) == BlockRef("U1", "fr", 2)
    assert ActionRef.decode("someone_elses_button") is None
    assert ActionRef.decode("sit:nonsense:q:1:v") is None
    with pytest.raises(ValueError):
        ActionRef(Kind.ANSWER, "q" * 300).encode()


def test_clicks_become_core_events() -> None:
    today = date(2026, 11, 27)
    assert click_event(ActionRef(Kind.ANSWER, "time", 3, "yes"), {}, today) == Answer(
        "yes", today, "time", version=3
    )
    picked = click_event(
        ActionRef(Kind.DATE, "free_from", 4), {"selected_date": "2027-01-05"}, today
    )
    assert picked == Answer("2027-01-05", today, "free_from", version=4)
    assert click_event(ActionRef(Kind.BACK, "terms", 5), {}, today) == Back("terms", version=5)
    assert click_event(ActionRef(Kind.RESTART, "", 6), {}, today) == Restart(version=6)
    assert click_event(ActionRef(Kind.CANCEL, "time", 7), {}, today) == Cancel(version=7)
    assert click_event(ActionRef(Kind.TONE, value="brief"), {}, today) == ChangeTone("brief")
    assert click_event(ActionRef(Kind.START), {}, today) is None


@pytest.mark.parametrize(
    ("text", "kind", "lang", "context"),
    [
        ("", "start", None, None),
        ("help", "help", None, None),
        ("aide", "help", None, None),
        ("history", "history", None, None),
        ("oublier", "forget", None, None),
        ("fr", "start", "fr", None),
        ("FR Acme wants a logo", "start", "fr", "Acme wants a logo"),
        ("help me with Acme", "start", None, "help me with Acme"),
        ("<!here> Acme", "start", None, "@here Acme"),
    ],
)
def test_command_text(
    questionnaire: Questionnaire, text: str, kind: str, lang: str | None, context: str | None
) -> None:
    parsed = parse_command(questionnaire, text)
    assert (parsed.kind, parsed.lang, parsed.request) == (kind, lang, context)


def test_profile_from_users_info() -> None:
    user = {"locale": "fr-CA", "real_name": "x", "profile": {"real_name": "Camille Durand"}}
    assert profile_from(user, ("en", "fr")).lang == "fr"
    assert profile_from(user, ("en", "fr")).name == "Camille Durand"
    assert profile_from({"locale": "de-DE"}, ("en", "fr")).lang is None


def test_huge_notices_are_split_and_trimmed_within_limits(questionnaire: Questionnaire) -> None:
    (message,) = render_turn(questionnaire, [Say("<b>&" * 20_000)], "U1", lang="en")
    check_payload(message.payload())
    assert len(message.blocks) <= 10
    assert message.blocks[-1]["text"]["text"].endswith(md.escape(questionnaire.ui("en", "trimmed")))


def test_long_labels_and_texts_are_clipped(questionnaire: Questionnaire) -> None:
    ask = Ask(
        question="q",
        text="Q" * 5000,
        choices=(Choice("a", "A" * 200), Choice("b", "<!channel>")),
        input="choice",
        progress=None,
        optional=False,
        lang="en",
        version=1,
        can_go_back=True,
        hint="H" * 5000,
        previous="P" * 400,
    )
    message = render_ask(questionnaire, ask, "U1")
    check_payload(message.payload())
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert max(len(b["text"]["text"]) for b in buttons) == 75
