"""Reading dates the way people type them (English and French), and writing them back in
the conversation's locale. ``dateparser`` and ``babel`` do the work: no month tables here."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import format_date as _babel_format_date

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGES = ("en", "fr")
# Past this a typed year is a slip of the keyboard, not a plan.
MAX_YEARS_AHEAD = 5
# Only short answers are searched for a date inside a phrase ("à partir du 15 mars");
# in a long sentence a stray number would too easily pass for one.
_SEARCH_UP_TO = 40


def parse_date(text: str, *, today: date, lang: str, locale: str | None = None) -> date | None:
    """The date ``text`` means, relative to ``today``; None when it is not a date.
    ``locale`` "en_US" reads 03/04/2027 as March 4; everywhere else day comes first."""
    text = text.strip()
    if _ISO.match(text):
        try:
            found: date | None = date.fromisoformat(text)
        except ValueError:
            return None
    else:
        found = _parse(text, today, lang, "MDY" if locale == "en_US" else "DMY")
    return found


def too_far(day: date, today: date) -> bool:
    """Whether ``day`` is further ahead than anyone plans work: a slip in the year."""
    return day.year > today.year + MAX_YEARS_AHEAD


# "end of March", "fin d'avril", "late May": the last day of what follows (a week's Friday,
# a year's 31 December); "mid-March", "mi-mars": its middle (a month's 15th, a week's
# Wednesday, a year's 1 July). dateparser reads neither, and would take "March" for the 1st.
_ARTICLE = r"(?:d['’]\s*|de\s+|du\s+)?(?:the\s+|la\s+|le\s+|l['’]\s*)?"
_END = re.compile(rf"^(?:the\s+)?(?:end\s+of|late|fin)\s+{_ARTICLE}(.+)$", re.IGNORECASE)
_MID = re.compile(rf"^(?:the\s+)?(?:mid|mi)(?:-|\s+)(?:of\s+)?{_ARTICLE}(.+)$", re.IGNORECASE)
_WEEK = re.compile(r"\b(?:week|semaine)\b", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}$|\b(?:year|an|année)\b", re.IGNORECASE)
_THIS_MONTH = re.compile(r"^(?:this\s+)?(?:month|mois)$|^ce\s+mois$", re.IGNORECASE)
_THIS_YEAR = re.compile(r"^(?:this\s+)?(?:year|année|an)$|^cette\s+année$", re.IGNORECASE)
WEDNESDAY, FRIDAY = 2, 4


def _parse(text: str, today: date, lang: str, order: str) -> date | None:
    end = _END.match(text)
    period = end or _MID.match(text)
    if period is None:
        return _parse_plain(text, today, lang, order, day="first")
    rest = period.group(1).strip()
    if _THIS_YEAR.match(rest):
        return date(today.year, 12, 31) if end else date(today.year, 7, 1)
    if _THIS_MONTH.match(rest):
        start = today.replace(day=1)
    else:
        # The period's last day first: "mid-March" on 10 March is this March, not next.
        found = _parse_plain(rest, today, lang, order, day="last")
        if found is None:
            return None
        start = found.replace(day=1)
        if _YEAR.search(rest):
            return date(found.year, 12, 31) if end else date(found.year, 7, 1)
        if _WEEK.search(rest):
            return found + timedelta(days=(FRIDAY if end else WEDNESDAY) - found.weekday())
    return _last_day(start) if end else start.replace(day=15)


def _last_day(day: date) -> date:
    following = day.replace(day=28) + timedelta(days=4)
    return following - timedelta(days=following.day)


def _parse_plain(text: str, today: date, lang: str, order: str, *, day: str) -> date | None:
    # The conversation's language first; the other one still helps a bilingual user.
    languages = [lang, *(other for other in _LANGUAGES if other != lang)]
    settings: Any = {
        "DATE_ORDER": order,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12, 0),
        # "April" means the 1st of April: the earliest day of what was said ("last" after
        # "end of").
        "PREFER_DAY_OF_MONTH": day,
    }
    # Imported on first use: loading dateparser's language data is most of a cold start.
    import dateparser
    from dateparser.search import search_dates

    try:
        found = dateparser.parse(text, languages=languages, settings=settings)
        if found is None and len(text) <= _SEARCH_UP_TO:
            hits = search_dates(text, languages=languages, settings=settings)
            found = hits[0][1] if hits else None
    except (ValueError, OverflowError, TypeError):
        return None
    return found.date() if found else None


# Babel builds each date from its locale's patterns (~50 µs); a turn formats the same few
# dates again and again (today, a proposed date, a reminder's day).
@lru_cache(maxsize=4096)
def format_date(value: date, locale: str) -> str:
    """A long, natural date in the locale: "March 15, 2027" (en, en_US), "15 March 2027"
    (en_GB), "15 mars 2027" (fr)."""
    text = _babel_format_date(value, format="long", locale=locale)
    if locale.startswith("fr") and value.day == 1 and text.startswith("1 "):
        return "1er " + text[2:]  # French writes the first of the month as an ordinal
    return text
