"""How a past decision reads in the user's history, the same on every platform; and what the
journal recalls about a client when a new request from them comes in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

from core import names
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


# --- the journal at the triage question (the method's fourth question) -----------------

# The state's context key that holds what the journal said about the conversation's client:
# "<match key>" alone when nothing was found, "<match key>|<outcome>|<YYYY-MM-DD>" otherwise.
# It is kept small and in the conversation, so a re-asked question (back, another language)
# shows it again without reading the journal a second time.
CONTEXT_KEY = "journal"
# How many of the user's latest decisions are searched for the client.
LOOKUP_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the journal says about one client: for whom (the match key) and, when found,
    the latest decision about them."""

    key: str
    outcome: str | None = None
    day: date | None = None

    def encode(self) -> str:
        if self.outcome is None or self.day is None:
            return self.key
        return f"{self.key}|{self.outcome}|{self.day.isoformat()}"

    @classmethod
    def decode(cls, text: str) -> Recalled | None:
        parts = text.split("|")
        if len(parts) == 1:
            return cls(parts[0])
        if len(parts) != 3:
            return None
        try:
            return cls(parts[0], parts[1], date.fromisoformat(parts[2]))
        except ValueError:
            return None


def recall(decisions: Sequence[Decision], client: str) -> Recalled:
    """The latest of ``decisions`` about ``client`` (matched by :func:`names.match_key`)."""
    key = names.match_key(client)
    matching = [d for d in decisions if d.client and key and names.match_key(d.client) == key]
    if not matching:
        return Recalled(key)
    latest = max(matching, key=lambda d: d.decided_at)
    return Recalled(key, latest.outcome, latest.decided_at.date())
