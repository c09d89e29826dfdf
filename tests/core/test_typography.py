"""French typography, checked on every French string in prompts/fr.yaml, on every French
draft the engine writes and on everything the follow-through says: a narrow no-break space
(U+202F) before ; ! ?, a no-break space (U+00A0) before : and inside « », guillemets rather
than straight quotes, and thousands separators in amounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from core.actions import Result
from core.engine import step
from core.events import Answer, Start
from core.questionnaire import Questionnaire, default_prompts_dir
from core.text import clean, french_typography
from core.yaml_loading import load_yaml
from tests.golden.regenerate_followups import followed_paths, story
from tests.golden.walk import TODAY, choice_paths, play

NBSP, NNBSP = "\u00a0", "\u202f"
RULES = [
    (
        re.compile(rf"(?<![{NNBSP}])(?<=[^\s{NNBSP}])[;!?]+(?=[\s»)\"*{{]|$)"),
        "no U+202F before ; ! ?",
    ),
    (re.compile(rf"[ {NBSP}][;!?]"), "a plain or wide space before ; ! ? (U+202F wanted)"),
    (re.compile(rf"(?<=[^{NBSP}]):(?=[\s*{{]|$)"), "no U+00A0 before :"),
    (re.compile(rf"«(?!{NBSP})"), "no U+00A0 after «"),
    (re.compile(rf"(?<!{NBSP})»"), "no U+00A0 before »"),
    (re.compile('"'), "a straight quote (« » wanted)"),
    (re.compile(r"\d{1,3} \d{3}(?!\d)"), "a plain space as thousands separator"),
    (re.compile(r"\d{4,}(?:,\d+)?\s?(?:€|\$|EUR)"), "an amount without thousands separator"),
]


def problems(text: str) -> list[str]:
    text = re.sub(r"\[\[if \w+: ?", "[[", text)  # template syntax, not French
    found = []
    for rule, why in RULES:
        for match in rule.finditer(text):
            found.append(f"{why}: …{text[max(0, match.start() - 20) : match.end() + 5]!r}…")
    return found


def strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            # Command words are typed by people, not shown as sentences ("?" is a command).
            if key != "ui.commands":
                yield from strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, str):
        yield key, value


FR = load_yaml((default_prompts_dir() / "fr.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("key", "text"), list(strings(FR)), ids=[k for k, _ in strings(FR)])
def test_every_french_string_follows_french_typography(key: str, text: str) -> None:
    assert not problems(text), (key, problems(text))


def test_every_french_draft_follows_french_typography(questionnaire: Questionnaire) -> None:
    checked = 0
    for path in choice_paths(questionnaire):
        for tone in questionnaire.tones:
            for fill in (True, False):
                result = play(questionnaire, path, "fr", tone, fill=fill).result
                assert result is not None
                for text in (result.draft or "", result.advice, result.why, result.title):
                    assert not problems(text), (path, tone, problems(text))
                checked += 1
    assert checked == len(choice_paths(questionnaire)) * 6


def test_everything_the_follow_through_says_in_french_follows_french_typography(
    questionnaire: Questionnaire,
) -> None:
    """Drafts, notices, buttons, reminders and history lines, with every answer given and
    with the optional ones skipped (the [[…||…]] fallbacks)."""
    checked = set()
    for path in followed_paths(questionnaire):
        for tone in questionnaire.tones:
            for fill in (True, False):
                for what, text in story(questionnaire, path, "fr", tone, fill=fill):
                    assert not problems(text), (path, tone, fill, what, problems(text))
                    checked.add(what.rsplit(": ", 1)[-1])
    assert {"notice", "history", "draft", "title", "advice", "heading", "buttons", "why"} <= checked


def test_the_checker_catches_what_it_should() -> None:
    for bad in ("Bonjour !", "Bonjour!", "Note : x", "« x»", '"x"', "4 800 €", "4800 €"):
        assert problems(bad), bad
    for good in (f"Bonjour{NNBSP}!", f"Note{NBSP}: x", f"«{NBSP}x{NBSP}»", f"4{NNBSP}800{NBSP}€"):
        assert not problems(good), good
    assert french_typography("https://exemple.fr/?a=1") == "https://exemple.fr/?a=1"


def test_the_user_s_own_non_breaking_spaces_are_kept() -> None:
    assert clean(f"  4{NNBSP}800{NBSP}€  HT\n") == f"4{NNBSP}800{NBSP}€ HT"
    assert clean(f"Bonjour {NNBSP}!") == f"Bonjour{NNBSP}!"


def test_a_typed_french_answer_keeps_its_typography_in_the_draft(
    questionnaire: Questionnaire,
) -> None:
    state, _ = step(questionnaire, None, Start(today=TODAY, lang="fr", client=f"Zoé{NBSP}Martin"))
    for text in ("oui", "oui", "non", "fee", f"Sans le blog{NNBSP}!"):
        state, actions = step(questionnaire, state, Answer(text, today=TODAY))
    (result,) = [a for a in actions if isinstance(a, Result)]
    assert f"Zoé{NBSP}Martin" in (result.draft or "")
    assert "sans le blog" in (result.draft or "")
