"""Shared fixtures: the real questionnaire from prompts/, and a fixed 'today'."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.questionnaire import Questionnaire, load_questionnaire

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="session")
def questionnaire() -> Questionnaire:
    return load_questionnaire()
