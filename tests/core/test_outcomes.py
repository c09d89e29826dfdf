"""Every outcome, in every language and tone, with and without the optional answers."""

from __future__ import annotations

import re

import pytest

from core.actions import Result
from core.engine import step
from core.events import Answer, ChangeLanguage, ChangeTone, Start
from core.questionnaire import Questionnaire
from tests.conftest import TODAY
from tests.core.paths import PATHS, SPECIFICS

LANGS = ("en", "fr")
TONES = ("warm", "formal", "brief")


def run(q: Questionnaire, answers: list[str], **start: str | None) -> tuple[object, Result]:
    state, actions = step(q, None, Start(today=TODAY, **start))  # type: ignore[arg-type]
    for text in answers:
        state, actions = step(q, state, Answer(text, today=TODAY))
    results = [a for a in actions if isinstance(a, Result)]
    assert len(results) == 1, actions
    return state, results[0]


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", sorted(PATHS))
def test_every_outcome_in_every_language_and_tone(
    q_: Questionnaire, outcome: str, lang: str, tone: str
) -> None:
    _, result = run(q_, ["Anna", *PATHS[outcome]], lang=lang, tone=tone, signature="Camille Martin")
    assert (result.outcome, result.lang, result.tone) == (outcome, lang, tone)
    assert result.title and result.advice and result.why
    if outcome == "no_reply":
        assert result.draft is None
        return
    assert result.draft is not None
    for specific in ["Anna", "Camille Martin", *SPECIFICS[outcome][lang]]:
        assert specific in result.draft, (specific, result.draft)
    assert_clean(result.draft)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", sorted(PATHS))
def test_drafts_read_naturally_when_optional_answers_are_skipped(
    q_: Questionnaire, outcome: str, lang: str
) -> None:
    skipped = [
        "skip" if a not in ("yes", "no", "timeline", "fee", "neither") else a
        for a in PATHS[outcome]
    ]
    for tone in TONES:
        _, result = run(q_, ["skip", *skipped], lang=lang, tone=tone)
        assert result.outcome == outcome
        if result.draft is not None:
            assert_clean(result.draft)
            assert "skip" not in result.draft.lower()


def test_the_why_names_the_answers_that_led_there(q_: Questionnaire) -> None:
    _, result = run(q_, ["Anna", *PATHS["booked"]], lang="en")
    for question, answer in (
        ("respond", "yes"),
        ("time", "no"),
        ("not_yet", "no"),
        ("refer", "no"),
    ):
        summary = q_.summary("en", question, answer)
        assert summary and summary in result.why


@pytest.mark.parametrize("outcome", sorted(PATHS))
def test_switching_tone_and_language_rerenders_the_same_outcome(
    q_: Questionnaire, outcome: str
) -> None:
    state, first = run(q_, ["Anna", *PATHS[outcome]], lang="en", tone="warm")
    state, actions = step(q_, state, ChangeTone("formal"))
    (formal,) = [a for a in actions if isinstance(a, Result)]
    assert (formal.outcome, formal.tone, formal.lang) == (outcome, "formal", "en")
    if first.draft is not None:
        assert formal.draft != first.draft
    state, actions = step(q_, state, ChangeLanguage("fr"))
    french = [a for a in actions if isinstance(a, Result)][-1]
    assert (french.outcome, french.tone, french.lang) == (outcome, "formal", "fr")
    assert french.why.startswith(q_.ui("fr", "why", reasons="")[:5])


def assert_clean(draft: str) -> None:
    assert "{" not in draft and "}" not in draft
    assert "[[" not in draft and "]]" not in draft and "||" not in draft
    assert "None" not in draft
    assert not re.search(r"[ \t]{2,}", draft), draft
    assert not re.search(r" [,.]", draft), draft
    assert draft == draft.strip()


@pytest.fixture
def q_(questionnaire: Questionnaire) -> Questionnaire:
    return questionnaire
