"""Reading dates the way people type them (English and French), and writing them back in
the conversation's locale. ``dateparser`` and ``babel`` do the work: no month tables here."""

from __future__ import annotations

import re
from datetime import date, datetime

import dateparser
from babel.dates import format_date as _babel_format_date

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGES = ("en", "fr")


def parse_date(text: str, *, today: date, lang: str) -> date | None:
    """The date ``text`` means, relative to ``today``; None when it is not a date."""
    text = text.strip()
    if _ISO.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    base = datetime(today.year, today.month, today.day, 12, 0)
    try:
        found = dateparser.parse(
            text,
            # The conversation's language first; the other one still helps a bilingual user.
            languages=[lang, *(other for other in _LANGUAGES if other != lang)],
            settings={
                "DATE_ORDER": "DMY",
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": base,
                "PREFER_DAY_OF_MONTH": "first",
                "REQUIRE_PARTS": ["day", "month"],
            },
        )
    except (ValueError, OverflowError):
        return None
    return found.date() if found else None


def format_date(value: date, lang: str) -> str:
    """A long, natural date in the locale: "March 15, 2027" / "15 mars 2027"."""
    return _babel_format_date(value, format="long", locale=lang)
