"""How a past decision reads in the user's history, the same on every platform."""

from __future__ import annotations

from collections.abc import Callable

from babel.dates import format_date

from core.ports import Decision
from core.questionnaire import Questionnaire


def decision_line(
    q: Questionnaire, lang: str, decision: Decision, *, show: Callable[[str], str] = str
) -> str:
    """ "Nov 27, 2026 — Take it on (Anna)". ``show`` makes the client's name safe for the
    platform (escaping, one line); outcomes no longer in the questionnaire show their id."""
    outcome = decision.outcome
    title = q.outcome_text(lang, outcome, "title") if outcome in q.outcomes else outcome
    client = f" ({show(decision.client)})" if decision.client else ""
    day = format_date(decision.decided_at.date(), format="medium", locale=lang)
    return q.ui(lang, "history_line", date=day, outcome=title, client=client)
