"""How a past decision reads in the user's history, the same on every platform; and what the
journal recalls about a client when a new request from them comes in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date

from core import followup, names
from core.ports import Decision
from core.questionnaire import Questionnaire


def decision_line(
    q: Questionnaire,
    lang: str,
    decision: Decision,
    *,
    show: Callable[[str], str] = str,
    now: datetime | None = None,
) -> str:
    """ "Nov 27, 2026 — Take it on (Anna)". ``show`` makes the client's name safe for the
    platform (escaping, one line); outcomes no longer in the questionnaire show their id.
    With ``now``, where the request stands follows ("… · waiting for their answer")."""
    outcome = decision.outcome
    title = q.outcome_text(lang, outcome, "title") if outcome in q.outcomes else outcome
    client = f" ({show(decision.client)})" if decision.client else ""
    day = format_date(decision.decided_at.date(), format="medium", locale=lang)
    line = q.ui(lang, "history_line", date=day, outcome=title, client=client)
    if now is None:
        return line
    status = followup.status_line(q, lang, decision, now, show=show)
    return followup.with_status(q, lang, line, status)


# --- the journal at the triage question (the method's fourth question) -----------------

# The state's context key that holds what the journal said about the conversation's client:
# "<match key>" alone when nothing was found, "<match key>|<outcome>|<YYYY-MM-DD>" otherwise,
# followed by "|<outcome>|<YYYY-MM-DD>" of the same request seen before, when it was.
# It is kept small and in the conversation, so a re-asked question (back, another language)
# shows it again without reading the journal a second time.
CONTEXT_KEY = "journal"
# How many of the user's latest decisions are searched for the client.
LOOKUP_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the journal says about one client: for whom (the match key) and, when found,
    the latest decision about them; and, when the same request came from them before (a
    repeat: the method's "no reply owed"), what was decided about it then."""

    key: str
    outcome: str | None = None
    day: date | None = None
    repeat: str | None = None
    repeat_day: date | None = None

    def encode(self) -> str:
        if self.outcome is None or self.day is None:
            return self.key
        text = f"{self.key}|{self.outcome}|{self.day.isoformat()}"
        if self.repeat is not None and self.repeat_day is not None:
            text += f"|{self.repeat}|{self.repeat_day.isoformat()}"
        return text

    @classmethod
    def decode(cls, text: str) -> Recalled | None:
        """Every encoding written so far reads back (one part, three, or five)."""
        parts = text.split("|")
        if len(parts) == 1:
            return cls(parts[0])
        if len(parts) not in (3, 5):
            return None
        try:
            days = [date.fromisoformat(p) for p in parts[2::2]]
        except ValueError:
            return None
        if len(parts) == 3:
            return cls(parts[0], parts[1], days[0])
        return cls(parts[0], parts[1], days[0], parts[3], days[1])


def recall(decisions: Sequence[Decision], client: str, request: str | None = None) -> Recalled:
    """The latest of ``decisions`` about ``client`` (matched by :func:`names.match_key`),
    and the latest about the same ``request`` from them (its text compared by
    :func:`core.followup.fingerprint`, the only form a journal entry keeps)."""
    key = names.match_key(client)
    matching = [d for d in decisions if d.client and key and names.match_key(d.client) == key]
    if not matching:
        return Recalled(key)
    latest = max(matching, key=lambda d: d.decided_at)
    found = followup.fingerprint(request) if request else ""
    repeats = [d for d in matching if found and d.detail("request") == found]
    if not repeats:
        return Recalled(key, latest.outcome, latest.decided_at.date())
    repeat = max(repeats, key=lambda d: d.decided_at)
    return Recalled(
        key, latest.outcome, latest.decided_at.date(), repeat.outcome, repeat.decided_at.date()
    )
