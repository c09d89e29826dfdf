"""A fee proposal as data: the amount, its currency and what it is per, read with Babel in
the language it was typed in, and written back in the reply's locale ("4 800 €" in French,
"€4,800" in English). Whatever is not an amount (the scope, "HT") stays as typed, cleaned
of lead-ins such as "I can do it for", and never starts with a capital after a colon."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberFormatError, format_currency, parse_decimal

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "us$": "USD", "$us": "USD", "chf": "CHF"}
_CODES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD")
_WORDS = {"euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "pounds": "GBP"}
_CURRENCY = r"(?:US\$|\$US|[€$£]|\b(?:EUR|USD|GBP|CHF|CAD|AUD|euros?|dollars?|pounds)\b)"
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.,']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_UNIT = (
    r"(?:\s*(?:/|per|a|an|par|de\s+l['’]|à\s+l['’]|la|le)\s*"
    r"(?P<unit>jour|journée|day|j|d|heure|hour|h|hr|mois|month|semaine|week|projet|project)\b)?"
)
_AMOUNT = re.compile(
    rf"(?:(?P<pre>{_CURRENCY})\s?)?(?P<num>{_NUMBER})(?:\s?(?P<k>[kK])\b)?\s?(?P<post>{_CURRENCY})?{_UNIT}",
    re.IGNORECASE,
)
_UNITS = {
    "jour": "day", "journée": "day", "day": "day", "j": "day", "d": "day",
    "heure": "hour", "hour": "hour", "h": "hour", "hr": "hour",
    "mois": "month", "month": "month", "semaine": "week", "week": "week",
    "projet": "project", "project": "project",
}  # fmt: skip
_PER = {
    "en": {"day": "per day", "hour": "per hour", "month": "per month", "week": "per week",
           "project": "for the project"},
    "fr": {"day": "par jour", "hour": "de l’heure", "month": "par mois", "week": "par semaine",
           "project": "pour le projet"},
}  # fmt: skip
# What people write before the proposal itself; the template says it for them.
_LEAD_IN = re.compile(
    r"^(?:"
    r"je\s+(?:vous\s+)?(?:propose(?:rais)?|demande(?:rais)?|suggère)|je\s+peux\s+(?:le\s+)?faire\s+pour"
    r"|je\s+pourrais\s+(?:le\s+)?faire\s+pour|ma\s+proposition(?:\s+est)?|mon\s+tarif\s+(?:serait|est)"
    r"|il\s+(?:me\s+)?faudrait|i\s+(?:can|could)\s+do\s+it\s+for"
    r"|i(?:\s+would|['’]d)\s+(?:propose|suggest|charge|need|ask\s+for)"
    r"|i\s+(?:propose|suggest|charge|need)|my\s+(?:fee|rate|price|proposal)\s+(?:would\s+be|is)"
    r"|how\s+about"
    r")\b[\s:,]*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal
    currency: str
    per: str | None  # "day", "hour", "month", "week", "project" or None


def parse(text: str, lang: str) -> tuple[Amount, re.Match[str]] | None:
    """The first amount with a currency in ``text``, read in ``lang``'s conventions."""
    return next(iter(_amounts(text, lang)), None)


def _amounts(text: str, lang: str) -> list[tuple[Amount, re.Match[str]]]:
    """Every amount with a currency in ``text``, in order."""
    found = []
    for match in _AMOUNT.finditer(text):
        symbol = match.group("pre") or match.group("post")
        value = _number(match.group("num"), lang) if symbol else None
        if symbol is None or value is None:
            continue
        if match.group("k"):
            value *= 1000
        unit = match.group("unit")
        per = _UNITS.get(unit.lower()) if unit else None
        found.append((Amount(value, _currency(symbol), per), match))
    return found


# A proposal that opens with a minus: "-5", "€-200", "- 300 €" ("-20 % of the scope" is
# a cut, not a fee; a dash further on is a range or a separator: "500 € - 600 €").
_NEGATIVE = re.compile(rf"^\s*(?:{_CURRENCY}\s?)?[-−–]\s?\d(?![\d.,\s]*%)", re.IGNORECASE)


def no_fee(text: str, lang: str) -> bool:
    """Whether ``text`` proposes a fee of nothing or less: it opens with a minus, or its
    amount (or the bare number it is) is zero. Words without a number ("a smaller scope")
    are a proposal."""
    if _NEGATIVE.search(text):
        return True
    found = parse(text, lang)
    if found is not None:
        return found[0].value <= 0
    bare = _number(text.strip(), lang) if re.fullmatch(r"\s*[\d.,]+\s*", text) else None
    return bare is not None and bare <= 0


def _number(text: str, lang: str) -> Decimal | None:
    digits = re.sub(r"[ \u00a0\u202f']", "", text)
    # One or two digits after the last separator are cents in both languages ("4,5",
    # "1 200,50", "$80.50"); three are a thousands group ("4.800", "4,800").
    if cents := re.fullmatch(r"([\d.,]*?)[.,](\d{1,2})", digits):
        whole = re.sub(r"[.,]", "", cents.group(1)) or "0"
        return Decimal(f"{whole}.{cents.group(2)}")
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", digits):
        return Decimal(re.sub(r"[.,]", "", digits))
    try:
        return Decimal(parse_decimal(digits, locale=lang, strict=False))
    except NumberFormatError:
        try:
            return Decimal(parse_decimal(digits, locale="en"))
        except NumberFormatError:
            return None


def _currency(symbol: str) -> str:
    key = symbol.lower()
    if key in _SYMBOLS:
        return _SYMBOLS[key]
    if symbol.upper() in _CODES:
        return symbol.upper()
    return _WORDS.get(key, "EUR")


@lru_cache(maxsize=1024)  # Babel's currency formatting costs ~100 µs; amounts repeat
def format_amount(amount: Amount, lang: str) -> str:
    """The amount in ``lang``'s conventions, without ",00" when it is a whole number."""
    locale = Locale.parse(lang)
    pattern = None
    if amount.value == amount.value.to_integral_value():
        standard = locale.currency_formats["standard"].pattern.split(";")[0]
        pattern = re.sub(r"\.0+", "", standard)
    text = format_currency(
        amount.value,
        amount.currency,
        format=pattern,
        locale=locale,
        currency_digits=pattern is None,
    )
    if amount.per:
        text = f"{text} {_PER.get(lang, _PER['en'])[amount.per]}"
    return text


# A range: a bare number and a dash before an amount ("3000-4000 €", "3-4 k€"), or after
# one whose currency comes first ("€500-600", "$3,000-4,000", "€5-6k"). The bare end takes
# the amount's currency (and thousands). Only where a range can start (the proposal's
# start, after ":", "(", ",", "from", "entre"...) and with ends of one size: "Phase 1 -
# 3000 €" and "from May 2027 - 4000 €" are no ranges.
_LOW = re.compile(rf"(?P<num>{_NUMBER})(?P<k>\s?[kK])?\s?[-–]\s?$")
_HIGH = re.compile(rf"\s?[-–]\s?(?P<num>{_NUMBER})(?P<k>\s?[kK]\b)?(?![\d.,]|\s?{_CURRENCY})")
_RANGE_START = re.compile(
    r"(?:^|[:(,;]|\b(?:from|between|about|around|de|entre|environ))\s*$", re.IGNORECASE
)


def canonical(text: str, lang: str) -> str:
    """``text`` with its amounts rewritten unambiguously ("4800 EUR/day"), so that it reads
    the same whichever language the reply is later written in: "4,800" typed in English
    must not become 4.8 in a French reply. A range's bare end takes its other end's
    currency ("3000-4000 €" → "3000 EUR–4000 EUR")."""
    out, at = [], 0
    for amount, match in _amounts(text, lang):
        # (A range's bare high end is never an amount itself: _HIGH refuses a currency.)
        start, end, low, high = match.start(), match.end(), None, None
        bare = _LOW.search(text, at, start)
        if bare is not None and _RANGE_START.search(text, at, bare.start()):
            low = _end(bare, lang, amount.value, thousands=bool(match.group("k")))
            start = bare.start() if low is not None else start
        elif match.group("pre") and not match.group("post") and not amount.per:
            after = _HIGH.match(text, end)
            if after is not None:
                # "€5-6k": the thousands said once, at the end, are both ends'.
                scaled = after.group("k") and not match.group("k")
                base = amount.value * 1000 if scaled else amount.value
                high = _end(after, lang, base, thousands=False)
                if high is not None:
                    amount, end = replace(amount, value=base), after.end()
        out.append(text[at:start])
        if low is not None:
            out.append(f"{_token(replace(amount, value=low, per=None))}–")
        out.append(_token(amount))
        if high is not None:
            out.append(f"–{_token(replace(amount, value=high))}")
        at = end
    return "".join([*out, text[at:]])


def _end(found: re.Match[str], lang: str, other: Decimal, *, thousands: bool) -> Decimal | None:
    """A range's bare end (``found``), in thousands when the other end is; None when the
    two ends are not of one size (a phase number, a year)."""
    value = _number(found.group("num"), lang)
    if value is None:
        return None
    if found.group("k") or thousands:
        value *= 1000
    low, high = sorted((value, other))
    return value if 0 < low < high <= low * 10 else None


def _token(amount: Amount) -> str:
    per = f"/{amount.per}" if amount.per else ""
    return f"{amount.value.normalize():f} {amount.currency}{per}"


def describe(text: str, lang: str) -> str:
    """The proposal as the reply says it after a colon (``text`` as :func:`canonical` left
    it): the amount in the reply's locale, the rest as typed, no lead-in, no capital."""
    text = _LEAD_IN.sub("", text.strip()).strip()
    for amount, match in reversed(_amounts(text, "en")):
        text = f"{text[: match.start()]}{format_amount(amount, lang)}{text[match.end() :]}"
    return _lower_first(re.sub(r"\s{2,}", " ", text).strip())


def _lower_first(text: str) -> str:
    # "Landing page only" → "landing page only"; an acronym ("UX audit", "HT") is kept.
    if len(text) > 1 and text[0].isupper() and (text[1].islower() or text[1] == " "):
        if text[1] == " " and text[0] not in "AI":
            return text
        return text[0].lower() + text[1:]
    return text
