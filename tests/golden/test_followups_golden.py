"""The committed golden follow-ups match what core.followup writes today (see
regenerate_followups.py)."""

from __future__ import annotations

import pytest

from core.questionnaire import Questionnaire
from tests.golden.files import differences
from tests.golden.regenerate_followups import FOLLOWUPS, expected

HOW = (
    "If the change is intended, run `python -m tests.golden.regenerate_followups` and review "
    "the diff."
)


@pytest.fixture(scope="module")
def files(questionnaire: Questionnaire) -> dict[str, str]:
    return expected(questionnaire)


def test_every_followed_outcome_has_its_files(
    questionnaire: Questionnaire, files: dict[str, str]
) -> None:
    committed = {p.name for p in FOLLOWUPS.glob("*.txt")}
    assert committed == set(files), (
        f"missing: {sorted(set(files) - committed)}; stale: {sorted(committed - set(files))}. "
        + HOW
    )
    # Every outcome with a follow-through, in every language and tone.
    outcomes = {name.split("__")[0] for name in files}
    assert outcomes == {"negotiate_timeline", "negotiate_fee", "refer", "booked"}
    per_outcome = len(questionnaire.languages) * len(questionnaire.tones)
    assert all(
        sum(name.startswith(f"{o}__") for name in files) % per_outcome == 0 for o in outcomes
    )


def test_every_golden_follow_up_is_up_to_date(files: dict[str, str]) -> None:
    problems = differences(FOLLOWUPS, files)
    assert not problems, "\n\n".join([*problems[:5], HOW])
