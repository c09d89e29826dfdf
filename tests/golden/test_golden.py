"""The committed golden drafts match what the engine writes today (see regenerate.py)."""

from __future__ import annotations

import pytest

from core.questionnaire import Questionnaire
from tests.golden.files import differences
from tests.golden.regenerate import DRAFTS, expected

HOW = "If the change is intended, run `python -m tests.golden.regenerate` and review the diff."


@pytest.fixture(scope="module")
def files(questionnaire: Questionnaire) -> dict[str, str]:
    return expected(questionnaire)


def test_one_file_per_path_language_and_tone(files: dict[str, str]) -> None:
    committed = {p.name for p in DRAFTS.glob("*.txt")}
    assert committed == set(files), (
        f"missing: {sorted(set(files) - committed)}; stale: {sorted(committed - set(files))}. "
        + HOW
    )


def test_every_golden_file_is_up_to_date(files: dict[str, str]) -> None:
    problems = differences(DRAFTS, files)
    assert not problems, "\n\n".join([*problems[:5], HOW])
