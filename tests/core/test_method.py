"""Each draft agrees with every answer on its path (issue 10), names and fees as data,
dates after today and in the user's locale."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.actions import Ask, Result, Say
from core.engine import step
from core.events import Answer, Start
from core.money import canonical, describe
from core.names import greeting_name
from core.questionnaire import Questionnaire
from core.state import ConversationState
from tests.conftest import TODAY

LANGS_TONES = [(lang, tone) for lang in ("en", "fr") for tone in ("warm", "formal", "brief")]


def run(q: Questionnaire, *answers: str, **start: object) -> tuple[ConversationState, list[object]]:
    state, actions = step(q, None, Start(today=TODAY, **start))  # type: ignore[arg-type]
    for text in answers:
        state, actions = step(q, state, Answer(text, today=TODAY))
    assert state is not None
    return state, list(actions)


def draft(q: Questionnaire, *answers: str, **start: object) -> str:
    _, actions = run(q, *answers, **start)
    (result,) = [a for a in actions if isinstance(a, Result)]
    assert result.draft is not None
    return result.draft


BOOKED = ("yes", "no", "no", "no")


@pytest.mark.parametrize(("lang", "tone"), LANGS_TONES)
def test_no_time_and_not_for_me_is_a_clear_no_naming_the_schedule(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    text = draft(questionnaire, "Anna", *BOOKED, "2027-03-15", lang=lang, tone=tone)
    lowered = text.lower()
    assert ("booked" in lowered or "schedule" in lowered) if lang == "en" else "complet" in text
    assert "this project or the next" not in lowered and "pour le suivant" not in text
    assert "next few weeks" not in lowered and "prochaines semaines" not in text
    date = "March 15, 2027" if lang == "en" else "15 mars 2027"
    assert text.count(date) == 1  # named once, never "until X … from X"
    assert "jusqu’au" not in text
    # A future project, after that date: the only invitation back.
    assert "after that" in lowered if lang == "en" else "après cette date" in text


@pytest.mark.parametrize(("lang", "tone"), LANGS_TONES)
def test_booked_without_a_date_says_so_plainly(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    text = draft(questionnaire, "Anna", *BOOKED, "skip", lang=lang, tone=tone)
    for vague in ("next few weeks", "coming weeks", "prochaines semaines", "semaines à venir"):
        assert vague not in text
    assert "after that" not in text and "après cette date" not in text


@pytest.mark.parametrize(("lang", "tone"), LANGS_TONES)
def test_no_time_and_a_fee_proposal_also_says_when_they_would_be_free(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    _, actions = run(questionnaire, "Anna", "yes", "no", "yes", "fee", "4800 EUR")
    assert [a.question for a in actions if isinstance(a, Ask)] == ["free_from"]
    text = draft(
        questionnaire, "Anna", "yes", "no", "yes", "fee", "4800 EUR", "2027-03-15",
        lang=lang, tone=tone,
    )  # fmt: skip
    assert ("March 15, 2027" if lang == "en" else "15 mars 2027") in text
    assert ("€4,800" if lang == "en" else "4\u202f800\u00a0€") in text


@pytest.mark.parametrize(("lang", "tone"), LANGS_TONES)
def test_more_time_with_the_time_asks_for_a_longer_deadline_not_a_later_start(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    _, actions = run(questionnaire, "Anna", "yes", "yes", "no", "timeline", lang=lang)
    assert [a.question for a in actions if isinstance(a, Ask)] == ["deadline"]
    text = draft(
        questionnaire, "Anna", "yes", "yes", "no", "timeline", "2027-04-30", lang=lang, tone=tone
    )
    if lang == "en":
        assert "deadline" in text and "phases" in text and "earliest I could start" not in text
    else:
        assert "échéance" in text and "plusieurs étapes" in text and "au plus tôt" not in text
    assert ("April 30, 2027" if lang == "en" else "30 avril 2027") in text


@pytest.mark.parametrize(("lang", "tone"), LANGS_TONES)
def test_refer_after_no_time_gives_the_schedule_as_the_reason(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    text = draft(questionnaire, "Anna", "yes", "no", "no", "yes", "Sam Lee", lang=lang, tone=tone)
    assert "right person" not in text and "bonne personne" not in text
    assert "la personne la plus indiquée" not in text
    assert ("booked" in text or "schedule" in text) if lang == "en" else "planning" in text


@pytest.mark.parametrize("typed", ["2026-11-27", "today", "aujourd'hui"])
def test_today_is_not_a_free_from_date(questionnaire: Questionnaire, typed: str) -> None:
    before, _ = run(questionnaire, "Anna", *BOOKED)
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before and [a.kind for a in actions if isinstance(a, Say)] == ["reprompt"]
    state, _ = step(questionnaire, before, Answer("tomorrow", today=TODAY))
    assert state.answers["free_from"] == (TODAY + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("locale", "typed", "shown"),
    [
        ("en-GB", "03/04/2027", "3 April 2027"),
        ("en-US", "03/04/2027", "March 4, 2027"),
        ("en_US.UTF-8", "15 March 2027", "March 15, 2027"),
        (None, "15/03/2027", "March 15, 2027"),
        ("fr-FR", "03/04/2027", "3 avril 2027"),
    ],
)
def test_english_dates_follow_the_user_s_locale(
    questionnaire: Questionnaire, locale: str | None, typed: str, shown: str
) -> None:
    text = draft(questionnaire, "Anna", *BOOKED, typed, locale=locale)
    assert shown in text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("anna", "Anna"),
        ("anna dupont", "Anna Dupont"),
        ("Mme Dupont", "Madame Dupont"),
        ("M. Dupont", "Monsieur Dupont"),
        ("mme dupont", "Madame Dupont"),
        ("Mr Smith", "Mr Smith"),
        ("Dr Who", "Dr Who"),
        ("jean-pierre de la tour", "Jean-Pierre de la Tour"),
        ("McKenzie", "McKenzie"),
        ("Acme SAS", None),
        ("Acme Inc.", None),
        ("Widgets Ltd", None),
    ],
)
def test_names_in_greetings(typed: str, expected: str | None) -> None:
    assert greeting_name(typed) == expected


@pytest.mark.parametrize(("lang", "hello"), [("en", "Hello,"), ("fr", "Bonjour,")])
def test_a_company_is_greeted_neutrally(
    questionnaire: Questionnaire, lang: str, hello: str
) -> None:
    text = draft(questionnaire, "Acme Inc.", "yes", "yes", "yes", lang=lang, tone="warm")
    assert text.startswith("Hi," if lang == "en" else hello) and "Acme" not in text


def test_inc_keeps_its_full_stop_where_the_name_is_used(questionnaire: Questionnaire) -> None:
    text = draft(questionnaire, "Anna", "yes", "no", "no", "yes", "Acme Inc.", tone="brief")
    assert "Acme Inc., who" in text


@pytest.mark.parametrize(
    ("typed", "lang", "en", "fr"),
    [
        ("4 800 €", "fr", "€4,800", "4\u202f800\u00a0€"),
        ("4800 EUR", "en", "€4,800", "4\u202f800\u00a0€"),
        ("$4,800", "en", "$4,800", "4\u202f800\u00a0$US"),
        ("600 €/jour", "fr", "€600 per day", "600\u00a0€ par jour"),
        ("€650 per day", "en", "€650 per day", "650\u00a0€ par jour"),
        ("1 200,50 €", "fr", "€1,200.50", "1\u202f200,50\u00a0€"),
    ],
)
def test_fee_amounts_are_read_in_the_typing_locale_and_written_in_the_reply_s(
    typed: str, lang: str, en: str, fr: str
) -> None:
    stored = canonical(typed, lang)
    assert describe(stored, "en") == en
    assert describe(stored, "fr") == fr


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Je propose 4 800 € HT pour le site", "€4,800 HT pour le site"),
        ("I can do it for €4,800", "€4,800"),
        ("I'd charge $80/hour", "$80 per hour"),
        ("Landing page only", "landing page only"),
        ("UX audit only", "UX audit only"),
    ],
)
def test_lead_ins_go_and_no_capital_follows_the_colon(typed: str, expected: str) -> None:
    assert describe(canonical(typed, "en"), "en") == expected


def test_the_fee_proposal_in_the_draft(questionnaire: Questionnaire) -> None:
    text = draft(
        questionnaire, "Anna", "yes", "yes", "no", "fee", "Je propose 4 800 € HT", lang="fr"
    )
    assert "proposer\u00a0: 4\u202f800\u00a0€ HT." in text and "Je propose" not in text


def test_a_conversation_saved_on_the_old_flow_no_longer_fits(
    questionnaire: Questionnaire,
) -> None:
    from core.engine import is_consistent

    # Before triage came first, "time" followed "client": such a state would reach a draft
    # without "yes, it deserves a reply", so the session restarts it with an apology.
    old = ConversationState(
        lang="en",
        tone="warm",
        step="not_yet",
        history=("client", "time"),
        answers={"client": "Anna", "time": "no"},
    )
    assert not is_consistent(questionnaire, old)
    state, _ = run(questionnaire, "Anna", "yes", "no")
    assert state.step == "not_yet" and is_consistent(questionnaire, state)
    done, _ = run(questionnaire, "Anna", "no")
    assert done.status == "done" and is_consistent(questionnaire, done)
    assert not is_consistent(questionnaire, replace(done, outcome="accept"))
