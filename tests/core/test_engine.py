"""How the conversation behaves, one rule at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.actions import Ask, Result, Say
from core.engine import step
from core.events import Answer, Back, Cancel, ChangeLanguage, ChangeTone, Help, Restart, Start
from core.questionnaire import Questionnaire
from core.state import ConversationState
from tests.conftest import TODAY


def asks(actions: list) -> list[Ask]:
    return [a for a in actions if isinstance(a, Ask)]


def says(actions: list, kind: str | None = None) -> list[Say]:
    return [a for a in actions if isinstance(a, Say) and (kind is None or a.kind == kind)]


def at(q: Questionnaire, *answers: str, **start: object) -> tuple[ConversationState, list]:
    state, actions = step(q, None, Start(today=TODAY, **start))  # type: ignore[arg-type]
    for text in answers:
        state, actions = step(q, state, Answer(text, today=TODAY))
    assert state is not None
    return state, actions


def test_start_asks_who_then_the_first_question_with_progress(questionnaire: Questionnaire) -> None:
    _, actions = at(questionnaire)
    (ask,) = asks(actions)
    assert (ask.question, ask.input, ask.optional, ask.progress) == ("client", "text", True, None)
    _, actions = at(questionnaire, "Anna")
    (ask,) = asks(actions)
    assert ask.question == "respond" and ask.input == "choice"  # triage first
    assert [c.id for c in ask.choices] == ["yes", "no"]
    assert ask.progress is not None and (ask.progress.current, ask.progress.total) == (1, 4)
    assert ask.progress.label == "Question 1 of 4"


def test_a_client_given_at_start_skips_the_who_question(questionnaire: Questionnaire) -> None:
    state, actions = at(questionnaire, client="Anna")
    assert asks(actions)[0].question == "respond"
    assert state.history == ()


@pytest.mark.parametrize(
    "typed",
    [
        "1",
        "yes",
        "YES",
        " Yes ",
        "Yes, I have the time",
        "oui",
        "Oui, j’ai le temps",
        "OUI, J'AI LE TEMPS",
    ],
)
def test_a_choice_matches_by_number_id_or_label_in_either_language(
    questionnaire: Questionnaire, typed: str
) -> None:
    state, actions = at(questionnaire, "Anna", "yes", typed)
    assert state.answers["time"] == "yes"
    assert asks(actions)[0].question == "terms"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("temps", "timeline"),
        ("Délai", "timeline"),
        ("time", "timeline"),
        ("argent", "fee"),
        ("Budget", "fee"),
        ("scope", "fee"),
        ("prix", "fee"),
    ],
)
def test_a_choice_matches_by_one_of_its_words_in_either_language(
    questionnaire: Questionnaire, typed: str, meant: str
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "yes")
    assert before.step == "what_would_work"
    state, _ = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state.answers["what_would_work"] == meant


@pytest.mark.parametrize("typed", ["3", "0", "maybe", "", "   ", "-1", "1.5"])
def test_a_bad_choice_is_a_reprompt_not_an_error(questionnaire: Questionnaire, typed: str) -> None:
    before, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before
    assert says(actions, "reprompt") and asks(actions)[0].question == "respond"


def test_accents_and_case_do_not_matter(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", "no", "no", lang="fr")
    assert state.step == "free_from"
    state, _ = step(questionnaire, state, Answer("1ER FEVRIER 2027", today=TODAY))
    assert state.answers["free_from"] == "2027-02-01"


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("2027-03-15", "2027-03-15"),
        ("15/03/2027", "2027-03-15"),
        ("March 15", "2027-03-15"),
        ("15 mars", "2027-03-15"),
        ("15 mars 2027", "2027-03-15"),
        ("1er février", "2027-02-01"),
        ("in 2 weeks", (TODAY + timedelta(weeks=2)).isoformat()),
        ("dans 3 semaines", (TODAY + timedelta(weeks=3)).isoformat()),
        ("tomorrow", (TODAY + timedelta(days=1)).isoformat()),
    ],
)
def test_dates_in_common_english_and_french_forms(
    questionnaire: Questionnaire, typed: str, iso: str
) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, actions = step(questionnaire, state, Answer(typed, today=TODAY))
    assert [a.outcome for a in actions if isinstance(a, Result)] == ["negotiate_timeline"]
    assert state.answers["free_from"] == iso


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2020-01-01", "January 1, 2020"),
        ("yesterday", "November 26, 2026"),
        ("26/11/2026", "November 26, 2026"),
    ],
)
def test_a_date_in_the_past_is_reprompted(
    questionnaire: Questionnaire, typed: str, shown: str
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before
    (say,) = says(actions, "reprompt")
    assert say.text == questionnaire.ui("en", "past_date", date=shown)


@pytest.mark.parametrize("typed", ["soon", "2027-02-30", "32/13/2027", "🙂"])
def test_an_unreadable_date_is_reprompted_with_examples(
    questionnaire: Questionnaire, typed: str
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before
    assert says(actions, "reprompt")[0].text == questionnaire.ui("en", "bad_date")
    assert asks(actions)[0].input == "date"


def test_free_text_is_bounded_and_the_reprompt_says_so(questionnaire: Questionnaire) -> None:
    before, _ = at(questionnaire)
    state, actions = step(questionnaire, before, Answer("A" * 10_000, today=TODAY))
    assert state is before
    (say,) = says(actions, "reprompt")
    assert "10000" in say.text or "10,000" in say.text
    assert str(questionnaire.max_text) in say.text


def test_control_and_bidi_characters_are_cleaned_from_free_text(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire, "An\u202ena\x00\x1b[31m\n  Smith\u200b")
    assert state.answers["client"] == "Anna Smith"  # a colour code goes whole


def test_back_returns_to_the_previous_question_keeping_answers(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", "yes")
    assert state.step == "what_would_work"
    state, actions = step(questionnaire, state, Back())
    (ask,) = asks(actions)
    assert ask.question == "not_yet"
    assert ask.previous == questionnaire.choice_label("en", "not_yet", "yes")
    assert state.answers["time"] == "no" and state.answers["client"] == "Anna"
    state, actions = step(questionnaire, state, Answer("back", today=TODAY))
    assert asks(actions)[0].question == "time"


def test_back_on_the_first_question_says_so(questionnaire: Questionnaire) -> None:
    before, _ = at(questionnaire)
    state, actions = step(questionnaire, before, Back())
    assert state is before
    assert says(actions)[0].text == questionnaire.ui("en", "no_previous")


def test_back_from_a_result_reopens_the_last_question(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "yes", "yes")
    assert state.status == "done"
    state, actions = step(questionnaire, state, Back())
    assert state.status == "active" and state.outcome is None
    assert asks(actions)[0].question == "terms"


def test_answers_left_behind_by_back_never_decide_anything(questionnaire: Questionnaire) -> None:
    # timeline was chosen, then abandoned: the path through "refer" must reach booked.
    state, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, _ = step(questionnaire, state, Back())
    state, _ = step(questionnaire, state, Back())
    for text in ("no", "no", "2027-03-15"):
        state, actions = step(questionnaire, state, Answer(text, today=TODAY))
    assert [a.outcome for a in actions if isinstance(a, Result)] == ["booked"]


@pytest.mark.parametrize("word", ["restart", "Recommencer", "start over"])
def test_restart_starts_over_keeping_language_and_tone(
    questionnaire: Questionnaire, word: str
) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", lang="fr", tone="brief", client="Bob")
    state, actions = step(questionnaire, state, Answer(word, today=TODAY))
    assert state.answers == {} and state.history == ()
    assert (state.lang, state.tone, state.context) == ("fr", "brief", {"client": "Bob"})
    assert asks(actions)[0].question == "respond"


@pytest.mark.parametrize("word", ["cancel", "Annuler", "stop"])
def test_cancel_ends_politely_at_any_point(questionnaire: Questionnaire, word: str) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no")
    state, actions = step(questionnaire, state, Answer(word, today=TODAY))
    assert state.status == "cancelled"
    assert says(actions, "cancelled")
    state2, actions = step(questionnaire, state, Cancel())
    assert state2 is state and says(actions)


def test_help_explains_and_asks_again(questionnaire: Questionnaire) -> None:
    before, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, before, Help())
    assert state is before
    assert says(actions, "help") and asks(actions)[0].question == "respond"


def test_a_click_for_a_question_no_longer_open_is_stale(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna")
    state, _ = step(questionnaire, state, Answer("yes", today=TODAY, question="time"))
    again, actions = step(questionnaire, state, Answer("yes", today=TODAY, question="time"))
    assert again is state
    assert says(actions, "stale") and not asks(actions)


def test_a_click_after_the_conversation_ended_is_stale_not_a_restart(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "yes", "yes")
    again, actions = step(questionnaire, state, Answer("no", today=TODAY, question="terms"))
    assert again is state and says(actions, "stale")


@pytest.mark.parametrize("typed", ["another one!", "fromal", "15 mars", "yes"])
def test_an_unknown_word_after_a_result_says_what_can_be_typed(
    questionnaire: Questionnaire, typed: str
) -> None:
    done, _ = at(questionnaire, "Anna", "yes", "yes", "yes")
    state, actions = step(questionnaire, done, Answer(typed, today=TODAY))
    assert state is done and not asks(actions)
    (say,) = says(actions, "reprompt")
    for word in ('"warm"', '"formal"', '"brief"', '"fr"', '"back"', '"restart"', '"help"'):
        assert word in say.text
    # Only restart starts over.
    state, actions = step(questionnaire, done, Answer("restart", today=TODAY))
    assert state.status == "active" and asks(actions)[0].question == "client"


def test_starting_while_a_conversation_is_open_asks_to_resume(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no")
    state, actions = step(questionnaire, state, Start(today=TODAY))
    (ask,) = asks(actions)
    assert ask.question == "resume" and [c.id for c in ask.choices] == ["continue", "start_over"]
    resumed, actions = step(questionnaire, state, Answer("1", today=TODAY))
    assert asks(actions)[0].question == "not_yet" and resumed.answers["time"] == "no"
    over, actions = step(questionnaire, state, Answer("start_over", today=TODAY, question="resume"))
    assert over.answers == {} and asks(actions)[-1].question == "client"


def test_a_fresh_start_replaces_the_open_conversation(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no")
    state, actions = step(questionnaire, state, Start(today=TODAY, fresh=True, client="Zoe"))
    assert state.answers == {} and state.context == {"client": "Zoe"}
    assert asks(actions)[0].question == "respond"


def test_changing_language_mid_conversation_reasks_in_that_language(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, state, ChangeLanguage("fr"))
    assert state.lang == "fr"
    assert asks(actions)[0].text == questionnaire.question_text("fr", "respond")
    assert asks(actions)[0].progress.label == "Question 1 sur 4"  # type: ignore[union-attr]
    state, actions = step(questionnaire, state, Answer("english", today=TODAY))
    assert state.lang == "en"


def test_unknown_language_or_tone_is_explained(questionnaire: Questionnaire) -> None:
    before, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, before, ChangeLanguage("klingon"))
    assert state is before and "klingon" in says(actions)[0].text
    state, actions = step(questionnaire, before, ChangeTone("sarcastic"))
    assert state is before and "sarcastic" in says(actions)[0].text


def test_every_change_moves_the_version_on_and_nothing_else_does(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire)
    versions = [state.version]
    for event in (
        Answer("Anna", today=TODAY),
        Answer("perhaps", today=TODAY),
        Help(),
        Answer("no", today=TODAY),
        Back(),
    ):
        state, _ = step(questionnaire, state, event)
        versions.append(state.version)
    assert versions == [1, 2, 2, 2, 3, 4]


def test_events_without_a_conversation_never_fail(questionnaire: Questionnaire) -> None:
    ui = questionnaire.ui
    expected = {
        Back(): ui("en", "nothing_open"),
        Cancel(): ui("en", "nothing_to_cancel"),
        ChangeTone("brief"): ui("en", "tone_changed", tone="Brief"),
        ChangeLanguage("fr"): ui("fr", "language_changed"),
    }
    for event, text in expected.items():
        state, actions = step(questionnaire, None, event)
        assert state is None and [a.text for a in says(actions)] == [text]
    state, actions = step(questionnaire, None, Help())
    assert state is None and says(actions, "help")[0].text == ui("en", "help")
    for event in (Restart(), Answer("hello", today=TODAY)):
        state, actions = step(questionnaire, None, event)
        assert state is not None and asks(actions)[0].question == "client"
    state, actions = step(questionnaire, None, Answer("yes", today=TODAY, question="time"))
    assert state is None and says(actions, "stale")[0].text == ui("en", "ended")


def test_the_questionnaire_step_method_is_the_same_engine(questionnaire: Questionnaire) -> None:
    assert questionnaire.step(None, Start(today=TODAY)) == step(
        questionnaire, None, Start(today=TODAY)
    )


def test_a_click_from_an_older_message_of_the_same_question_is_stale(
    questionnaire: Questionnaire,
) -> None:
    state, actions = at(questionnaire, "Anna")
    old_version = asks(actions)[0].version
    state, actions = step(questionnaire, state, ChangeLanguage("fr"))  # the question is re-sent
    new_version = asks(actions)[0].version
    again, actions = step(
        questionnaire, state, Answer("yes", today=TODAY, question="respond", version=old_version)
    )
    assert again is state and says(actions, "stale")
    state, actions = step(
        questionnaire, state, Answer("yes", today=TODAY, question="respond", version=new_version)
    )
    assert asks(actions)[0].question == "time"


def test_the_platform_locale_is_only_a_default_for_new_conversations(
    questionnaire: Questionnaire,
) -> None:
    state, actions = at(questionnaire, locale="fr")
    assert state.lang == "fr"
    state, _ = step(questionnaire, state, Answer("Anna", today=TODAY))
    state, _ = step(questionnaire, state, ChangeLanguage("en"))
    state, actions = step(questionnaire, state, Start(today=TODAY, locale="fr"))
    assert state.lang == "en" and asks(actions)[0].question == "resume"
    state, actions = step(questionnaire, state, Start(today=TODAY, lang="fr"))
    assert state.lang == "fr"


def test_typing_to_start_uses_the_locale_and_signature_it_carries(
    questionnaire: Questionnaire,
) -> None:
    state, _ = step(
        questionnaire, None, Answer("hi", today=TODAY, locale="fr", signature="Camille")
    )
    assert state is not None and state.lang == "fr" and state.context == {"signature": "Camille"}


@pytest.mark.parametrize("typed", ["፩", "٣", "9" * 5000, "0001"])
def test_odd_digits_are_a_reprompt_not_a_crash(questionnaire: Questionnaire, typed: str) -> None:
    before, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before and says(actions, "reprompt")
    resume, _ = step(questionnaire, before, Start(today=TODAY))
    state, actions = step(questionnaire, resume, Answer(typed, today=TODAY))
    assert state is resume and says(actions, "reprompt")


@pytest.mark.parametrize("event", [Restart(version=1), Cancel(version=1), Back(version=1)])
def test_restart_cancel_and_back_buttons_from_older_messages_are_stale(
    questionnaire: Questionnaire, event: object
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "no")
    state, actions = step(questionnaire, before, event)  # type: ignore[arg-type]
    assert state is before and says(actions, "stale")
    current = replace(event, version=before.version)  # type: ignore[type-var]
    state, actions = step(questionnaire, before, current)  # type: ignore[arg-type]
    assert state is not before


def test_a_back_button_of_a_question_is_stale_once_there_is_a_result(
    questionnaire: Questionnaire,
) -> None:
    done, _ = at(questionnaire, "Anna", "yes", "yes", "yes")
    state, actions = step(questionnaire, done, Back(question="terms"))
    assert state is done and says(actions, "stale")
    state, actions = step(questionnaire, done, Back())  # the result's own Back
    assert asks(actions)[0].question == "terms"


def test_starting_over_on_a_new_request_uses_it(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "yes", "no", client="Anna", signature="Camille")
    state, actions = step(questionnaire, state, Start(today=TODAY, client="Bob", signature="Zed"))
    assert asks(actions)[0].question == "resume"
    resumed, _ = step(questionnaire, state, Answer("continue", today=TODAY))
    assert resumed.context["client"] == "Anna"
    over, actions = step(questionnaire, state, Answer("start_over", today=TODAY))
    assert over.context == {"client": "Bob", "signature": "Zed"} and over.answers == {}


@pytest.mark.parametrize(
    ("client", "colleague"), [("Anna,", "Sam Lee."), ("Anna!", "Sam Lee…"), ("Anna ;", "Sam Lee,")]
)
def test_typed_punctuation_does_not_double_the_template_s(
    questionnaire: Questionnaire, client: str, colleague: str
) -> None:
    _, actions = at(questionnaire, client, "yes", "no", "no", "yes", colleague)
    (result,) = [a for a in actions if isinstance(a, Result)]
    assert result.draft and "Anna" in result.draft and "Sam Lee" in result.draft
    for doubled in (",,", "..", ".,", "!,", ";,", "…,"):
        assert doubled not in result.draft


def test_the_first_of_the_month_is_an_ordinal_in_french(questionnaire: Questionnaire) -> None:
    _, actions = at(questionnaire, "Anna", "yes", "no", "no", "no", "1/3/2027", lang="fr")
    (result,) = [a for a in actions if isinstance(a, Result)]
    assert "1er mars 2027" in (result.draft or "")


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("à partir du 15 mars", "2027-03-15"),
        ("starting March 15", "2027-03-15"),
        ("April", "2027-04-01"),
        ("next Monday", "2026-11-30"),
        ("vendredi prochain", "2026-12-04"),
        # The end or the middle of a month is not its first day.
        ("end of March", "2027-03-31"),
        ("fin avril", "2027-04-30"),
        ("fin de février", "2027-02-28"),
        ("mid-March", "2027-03-15"),
        ("mi-mars", "2027-03-15"),
        ("end of next week", "2026-12-04"),  # its Friday
        ("fin du mois", "2026-11-30"),
        ("fin d'avril", "2027-04-30"),
        ("fin d’août", "2027-08-31"),
        ("end of 2027", "2027-12-31"),
        ("fin de l'année", "2026-12-31"),
        ("mid-2027", "2027-07-01"),
        ("mid next week", "2026-12-02"),  # its Wednesday
    ],
)
def test_dates_inside_short_phrases(questionnaire: Questionnaire, typed: str, iso: str) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, _ = step(questionnaire, state, Answer(typed, today=TODAY))
    assert state.answers["free_from"] == iso


def test_a_date_years_away_is_a_typo_and_reprompted(questionnaire: Questionnaire) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    for typed, shown in (("9999-12-31", "December 31, 9999"), ("2099-01-01", "January 1, 2099")):
        state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
        assert state is before
        assert [s.text for s in says(actions, "reprompt")] == [
            f"{shown} is more than 5 years away. Please check the year."
        ]


@pytest.mark.parametrize("typed", ['"Back"', "«Stop»", "“Cancel”", "'Help'"])
def test_a_quoted_command_word_is_a_literal_answer(
    questionnaire: Questionnaire, typed: str
) -> None:
    state, _ = at(questionnaire, typed)
    assert state.answers["client"] == typed[1:-1] and state.step == "respond"


@pytest.mark.parametrize("typed", ["brief", "Formel", "no", "oui", "1", "42", "fr", "restart"])
def test_a_name_that_looks_like_an_answer_or_a_command_is_questioned(
    questionnaire: Questionnaire, typed: str
) -> None:
    before, _ = at(questionnaire)
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    if typed == "restart":  # a command word is still the command
        assert asks(actions)[-1].question == "client"
        return
    assert state is before and state.tone == "warm"
    (say,) = says(actions, "reprompt")
    assert say.text.startswith("Did you mean") and typed in say.text
    state, _ = step(questionnaire, state, Answer(f'"{typed}"', today=TODAY))
    assert state.answers["client"] == typed  # in quotes, it is the name


def test_tone_words_work_at_choice_questions(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna")
    state, actions = step(questionnaire, state, Answer("formal", today=TODAY))
    assert state.tone == "formal" and asks(actions)[0].question == "respond"


def test_two_letters_are_not_enough_to_pick_a_choice_by_its_start(
    questionnaire: Questionnaire,
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "no", "yes", lang="fr")
    state, actions = step(questionnaire, before, Answer("un", today=TODAY))
    assert state is before and says(actions, "reprompt")


def test_text_keeps_joiners_and_turns_any_line_break_into_a_space(
    questionnaire: Questionnaire,
) -> None:
    state, _ = at(questionnaire, "👩\u200d💻 Sam\rLee\x85Ltd")
    assert state.answers["client"] == "👩\u200d💻 Sam Lee Ltd"


@pytest.mark.parametrize("typed", ["-5", "€-200", "0", "0 €", "- 300 €"])
def test_a_fee_of_nothing_or_less_is_reprompted(questionnaire: Questionnaire, typed: str) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "yes", "no", "fee")
    assert before.step == "fee_proposal"
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state is before
    assert [s.text for s in says(actions, "reprompt")] == [questionnaire.ui("en", "bad_fee")]


@pytest.mark.parametrize(
    ("typed", "proposed"),
    [
        ("5000 € with -20% of the scope", "€5,000 with -20% of the scope"),
        ("a smaller scope", "a smaller scope"),
        ("3-4 k€", "€3,000–€4,000"),  # a range: the currency is both ends'
        ("3000 - 4000 EUR per day", "€3,000–€4,000 per day"),
        ("$3,000-4,000", "$3,000–$4,000"),
        ("€5-6k", "€5,000–€6,000"),
        # A dash that is no minus and no range: separators, a phase, a year, a cut.
        ("500 € - 600 €", "€500 - €600"),
        ("Phase 1 - 3000 €, phase 2 - 2000 €", "phase 1 - €3,000, phase 2 - €2,000"),
        ("from May 2027 - 4000 €", "from May 2027 - €4,000"),
        ("4000 € (-2 days)", "€4,000 (-2 days)"),
        ("10 days - 4000 €", "10 days - €4,000"),
    ],
)
def test_a_fee_proposal_with_a_cut_a_range_or_in_words_is_taken(
    questionnaire: Questionnaire, typed: str, proposed: str
) -> None:
    before, _ = at(questionnaire, "Anna", "yes", "yes", "no", "fee")
    state, actions = step(questionnaire, before, Answer(typed, today=TODAY))
    assert state.status == "done"
    (result,) = [a for a in actions if isinstance(a, Result)]
    assert f": {proposed}." in (result.draft or "")


def test_a_new_conversation_speaks_the_locale_one_under_way_keeps_its_own(
    questionnaire: Questionnaire,
) -> None:
    done, _ = at(questionnaire, "Anna", "no", lang="en")  # finished, in English
    assert done.status == "done"
    state, _ = step(questionnaire, done, Start(today=TODAY, locale="fr_FR.UTF-8"))
    assert state is not None and state.lang == "fr"
    state, _ = step(questionnaire, done, Start(today=TODAY))  # no locale: the last one's
    assert state is not None and state.lang == "en"
    under_way, _ = at(questionnaire, "Anna", lang="en")
    state, _ = step(questionnaire, under_way, Start(today=TODAY, locale="fr_FR"))
    assert state is not None and state.lang == "en"


def test_a_client_given_at_start_is_bound_as_a_typed_name_is(questionnaire: Questionnaire) -> None:
    state, _ = step(questionnaire, None, Start(today=TODAY, client="A" * 1200, request="r" * 2000))
    assert state is not None
    assert len(state.context["client"]) == questionnaire.max_text
    assert len(state.context["request"]) == questionnaire.max_text * 4


def test_back_then_enter_keeps_the_answer_shown(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no")
    state, actions = step(questionnaire, state, Back())
    assert asks(actions)[0].question == "time" and asks(actions)[0].previous
    state, actions = step(questionnaire, state, Answer("", today=TODAY))
    assert state.answers["time"] == "no" and asks(actions)[0].question == "not_yet"
    for _ in range(3):  # not_yet → time → respond → the name
        state, actions = step(questionnaire, state, Back())
    state, actions = step(questionnaire, state, Answer("", today=TODAY))
    assert state.answers["client"] == "Anna" and asks(actions)[0].question == "respond"


@pytest.mark.parametrize("typed", ["history", "historique", "forget", "oublier"])
def test_the_pages_words_typed_in_the_conversation_bring_the_help(
    questionnaire: Questionnaire, typed: str
) -> None:
    """Where the history is depends on the platform: its help says (each adds its own)."""
    state, actions = step(questionnaire, None, Answer(typed, today=TODAY))
    assert state is None and says(actions, "help")  # no conversation started about it
    at_name, _ = at(questionnaire)
    state, actions = step(questionnaire, at_name, Answer(typed, today=TODAY))
    assert state == at_name and says(actions, "help") and not says(actions, "reprompt")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("y", "yes"), ("Yep", "yes"), ("n", "no"), ("nope", "no"), ("o", "yes"), ("nan", "no")],
)
def test_yes_and_no_take_their_short_forms(
    questionnaire: Questionnaire, typed: str, meant: str
) -> None:
    state, _ = at(questionnaire, "Anna", typed)
    assert state.answers["respond"] == meant


def test_the_middle_of_this_month_is_this_month_not_next_years(
    questionnaire: Questionnaire,
) -> None:
    from datetime import date

    from core.dates import parse_date

    assert parse_date("mid-March", today=date(2026, 3, 10), lang="en") == date(2026, 3, 15)
    assert parse_date("mi-mars", today=date(2026, 3, 10), lang="fr") == date(2026, 3, 15)


def test_enter_keeps_a_date_only_while_it_is_still_ahead(questionnaire: Questionnaire) -> None:
    state, _ = at(questionnaire, "Anna", "yes", "no", "yes", "timeline")
    state, _ = step(questionnaire, state, Answer("tomorrow", today=TODAY))
    assert state.status == "done"
    state, _ = step(questionnaire, state, Back())
    later = TODAY + timedelta(days=10)
    again, actions = step(questionnaire, state, Answer("", today=later))
    assert again is state and says(actions, "reprompt")  # 28 November has passed
