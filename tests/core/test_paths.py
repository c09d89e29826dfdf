"""Every path of flow.yaml, walked through the engine: triage first, honest progress."""

from __future__ import annotations

from itertools import pairwise

import pytest

from core.questionnaire import Questionnaire
from tests.golden.walk import Walk, choice_paths, play


@pytest.fixture(scope="module")
def walks(questionnaire: Questionnaire) -> list[Walk]:
    return [
        play(questionnaire, path, "en", "warm", fill=fill)
        for path in choice_paths(questionnaire)
        for fill in (True, False)
    ]


def test_every_outcome_is_reached(questionnaire: Questionnaire, walks: list[Walk]) -> None:
    assert {w.result.outcome for w in walks if w.result} == set(questionnaire.outcomes)


def test_no_draft_without_a_yes_it_deserves_a_reply(walks: list[Walk]) -> None:
    for walk in walks:
        assert walk.result is not None
        if walk.result.draft is not None:
            assert walk.answered("respond", "yes"), walk.slug


def test_triage_is_the_first_question_and_no_is_one_answer(walks: list[Walk]) -> None:
    for walk in walks:
        assert [s.ask.question for s in walk.screens[:2]] == ["client", "respond"], walk.slug
        if walk.answered("respond", "no"):
            assert walk.result is not None and walk.result.outcome == "no_reply"
            assert len(walk.screens) == 2


def test_progress_never_repeats_on_consecutive_screens(walks: list[Walk]) -> None:
    for walk in walks:
        labels = [s.ask.progress for s in walk.screens]
        for before, after in pairwise(labels):
            assert before is None or after is None or before.current < after.current, walk.slug


def test_every_total_shown_is_reached_by_some_path_from_there(walks: list[Walk]) -> None:
    counted = {
        w.slug: [s.ask.progress for s in w.screens if s.ask.progress is not None] for w in walks
    }
    for walk in walks:
        for i, screen in enumerate(walk.screens):
            progress = screen.ask.progress
            if progress is None:
                continue
            prefix = [s.answer for s in walk.screens[:i]]
            reachable = {
                len(counted[other.slug])
                for other in walks
                if [s.answer for s in other.screens[:i]] == prefix
            }
            assert progress.total in reachable, (walk.slug, progress)
            assert max(reachable) == progress.total, (walk.slug, progress)


def test_a_not_yet_is_never_offered_not_for_me_next(walks: list[Walk]) -> None:
    for walk in walks:
        for screen in walk.screens:
            if screen.ask.question == "what_would_work" and walk.answered("not_yet", "yes"):
                assert "neither" not in [c.id for c in screen.ask.choices]
