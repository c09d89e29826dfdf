"""The one control codec and what a turn says about itself."""

from __future__ import annotations

from datetime import date

import pytest

from core import controls
from core.actions import ControlKind, Notice, Result, Say
from core.controls import OUTDATED, AppAction, ControlRef
from core.engine import step
from core.events import Answer, Back, Cancel, ChangeLanguage, ChangeTone, Help, Restart, Start
from core.questionnaire import Questionnaire
from core.turn import Effect, Source, classify

TODAY = date(2026, 11, 27)


def test_ids_round_trip_and_stay_within_discords_limit() -> None:
    longest = ControlRef(ControlKind.ANSWER, "9" * 20, 10**12 - 1, "what_would_work", "timeline")
    encoded = controls.encode(longest, longest.owner)
    assert len(encoded) <= controls.MAX_LENGTH
    assert controls.decode(encoded) == longest
    slack = ControlRef(ControlKind.DATE, "U0123ABCD", 4, "free_from")
    assert controls.decode(controls.encode(slack, "U0123ABCD")) == slack


@pytest.mark.parametrize("bad", ["a:b", "with space", "é", "x" * 120])
def test_ids_refuse_what_would_not_decode(bad: str) -> None:
    with pytest.raises(ValueError):
        controls.encode(ControlRef(ControlKind.ANSWER, "1", 1, "time", bad), "1")


def test_ids_from_elsewhere_and_from_older_versions() -> None:
    assert controls.decode("someone_elses_button") is None
    # Slack buttons of the first release: ours, but unreadable now.
    assert controls.decode("sit:answer:time:3:yes") is OUTDATED
    # Discord buttons of the first release share today's grammar and keep working.
    assert controls.decode("sit:a:42:3:time:yes") == ControlRef(
        ControlKind.ANSWER, "42", 3, "time", "yes"
    )


@pytest.mark.parametrize(
    ("ref", "typed", "event"),
    [
        (
            ControlRef(ControlKind.ANSWER, "U", 3, "time", "yes"),
            "",
            Answer("yes", TODAY, "time", 3),
        ),
        (
            ControlRef(ControlKind.DATE, "U", 4, "free_from"),
            "2027-01-05",
            Answer("2027-01-05", TODAY, "free_from", 4),
        ),
        (
            ControlRef(ControlKind.SUBMIT, "U", 2, "client"),
            "Anna",
            Answer("Anna", TODAY, "client", 2),
        ),
        (ControlRef(ControlKind.BACK, "U", 5, "terms"), "", Back("terms", 5)),
        (ControlRef(ControlKind.BACK, "U", 5), "", Back(None, 5)),
        (ControlRef(ControlKind.RESTART, "U", 6), "", Restart(6)),
        (ControlRef(ControlKind.CANCEL, "U", 7, "time"), "", Cancel(7)),
        (ControlRef(ControlKind.HELP, "U", 7, "time"), "", Help()),
        (ControlRef(ControlKind.TONE, "U", 8, "", "brief"), "", ChangeTone("brief", 8)),
        (ControlRef(ControlKind.LANGUAGE, "U", 8, "", "fr"), "", ChangeLanguage("fr", 8)),
        (ControlRef(ControlKind.TYPE, "U", 8, "client", "en"), "", AppAction.OPEN_FORM),
        (ControlRef(ControlKind.START, "U"), "", AppAction.START),
        (ControlRef(ControlKind.FORGET, "U"), "", AppAction.FORGET),
        (ControlRef(ControlKind.KEEP, "U"), "", AppAction.KEEP),
    ],
)
def test_every_control_maps_to_one_event(ref: ControlRef, typed: str, event: object) -> None:
    assert controls.event_for(ref, TODAY, typed) == event


def test_every_control_the_core_draws_decodes_back_to_its_event(
    questionnaire: Questionnaire,
) -> None:
    state, actions = step(questionnaire, None, Start(today=TODAY))
    for _ in range(6):
        shown = [a for a in actions if not isinstance(a, Say)]
        assert shown
        for control in shown[-1].controls:
            ref = controls.decode(controls.encode(control, "U1"))
            assert ref is not None and ref.kind is control.kind and ref.version == state.version
            assert controls.event_for(ref, TODAY, "2027-03-15") is not None
        if isinstance(shown[-1], Result):
            break
        first = shown[-1].controls[0]
        event = Answer(first.value or "2027-03-15", TODAY, first.question, first.version)
        state, actions = step(questionnaire, state, event)


def test_the_resume_question_offers_start_over_once(questionnaire: Questionnaire) -> None:
    state, _ = step(questionnaire, None, Start(today=TODAY))
    state, _ = step(questionnaire, state, Answer("Anna", TODAY))
    _, (resume,) = step(questionnaire, state, Start(today=TODAY))
    kinds = [c.kind for c in resume.controls]
    assert ControlKind.RESTART not in kinds and ControlKind.BACK not in kinds
    assert [c.value for c in resume.controls if c.kind is ControlKind.ANSWER] == [
        "continue",
        "start_over",
    ]


def test_the_turn_says_what_happened(questionnaire: Questionnaire) -> None:
    q = questionnaire
    start, actions = step(q, None, Start(today=TODAY))
    turn = classify(Start(), None, start, tuple(actions), default_lang="en")
    assert (turn.effect, turn.source, turn.private) == (Effect.ADVANCED, Source.FREEZE, False)

    click = Answer("x" * 500, TODAY, "client", start.version)
    same, actions = step(q, start, click)
    turn = classify(click, start, same, tuple(actions), default_lang="en")
    assert turn.effect is Effect.REPROMPTED and not turn.private

    old = Answer("yes", TODAY, "time", start.version - 1)
    same, actions = step(q, start, old)
    turn = classify(old, start, same, tuple(actions), default_lang="en")
    assert (turn.effect, turn.source, turn.private) == (Effect.STALE, Source.KEEP, True)

    cancel = Cancel(start.version)
    done, actions = step(q, start, cancel)
    turn = classify(cancel, start, done, tuple(actions), default_lang="en")
    assert turn.effect is Effect.ENDED and turn.source is Source.FREEZE
    again = classify(cancel, done, done, tuple(step(q, done, Cancel())[1]), default_lang="en")
    assert again.effect is Effect.INFORMED and again.private

    failed = classify(Help(), None, None, (Say("down", Notice.ERROR),), default_lang="fr")
    assert (failed.effect, failed.lang, failed.private) == (Effect.FAILED, "fr", True)


def test_reading_a_click_refuses_other_peoples_and_outdated_buttons() -> None:
    mine = controls.encode(ControlRef(ControlKind.ANSWER, "U1", 3, "time", "yes"), "U1")
    assert controls.read(mine, "U1", TODAY) == Answer("yes", TODAY, "time", 3)
    assert controls.read(mine, "U2", TODAY) is controls.Refusal.NOT_YOURS
    assert controls.read("sit:answer:time:3:yes", "U1", TODAY) is controls.Refusal.OUTDATED
    assert controls.read("another_apps_button", "U1", TODAY) is None


def test_an_adapter_s_own_words_are_checked_at_start_up(questionnaire: Questionnaire) -> None:
    from core.questionnaire import InvalidDefinition

    questionnaire.check_words({"slack_home_how": frozenset({"command", "shortcut"})})
    with pytest.raises(InvalidDefinition, match=r"en.yaml: ui.slack_nowhere: missing"):
        questionnaire.check_words({"slack_nowhere": frozenset()})
    with pytest.raises(InvalidDefinition, match=r"ui.slack_home_how"):
        questionnaire.check_words({"slack_home_how": frozenset({"command"})})


def test_an_empty_answer_at_the_resume_question_continues(questionnaire: Questionnaire) -> None:
    state, _ = step(questionnaire, None, Start(today=TODAY))
    state, _ = step(questionnaire, state, Answer("Anna", TODAY))
    waiting, _ = step(questionnaire, state, Start(today=TODAY))
    assert waiting is not None and waiting.pending == "resume"
    resumed, (ask,) = step(questionnaire, waiting, Answer("", TODAY))
    assert resumed is not None and resumed.pending is None and ask.question == state.step
