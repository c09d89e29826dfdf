"""The pure parts: ids, escaping, limits, and rendering held to Block Kit's rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.slack import mrkdwn as md
from bots.slack.blocks import Drawer
from bots.slack.profiles import profile_from
from bots.slack.translate import parse_command
from core.actions import Ask, Choice, Control, ControlKind, Say
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
        ("history fr", "history", "fr", None),
        ("FR aide", "help", "fr", None),
        ("forget en", "forget", "en", None),
        ("history of Acme", "start", None, "history of Acme"),
        ("fr history Acme", "start", "fr", "history Acme"),
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
    (message,) = Drawer(questionnaire).turn([Say("<b>&" * 20_000)], "U1", "en")
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
        controls=(
            Control(ControlKind.ANSWER, "A" * 200, "q", 1, "a"),
            Control(ControlKind.ANSWER, "<!channel>", "q", 1, "b"),
        ),
    )
    message = Drawer(questionnaire).ask(ask, "U1")
    check_payload(message.payload())
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert max(len(b["text"]["text"]) for b in buttons) == 75
