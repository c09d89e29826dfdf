"""The answers that lead to each outcome (after the opening 'who is it from' question).

Triage comes first: every path starts with the answer to ``respond``."""

from __future__ import annotations

PATHS: dict[str, list[str]] = {
    "accept": ["yes", "yes", "yes"],
    "booked": ["yes", "no", "no", "no", "2027-03-15"],
    "negotiate_timeline": ["yes", "no", "yes", "timeline", "2027-03-15"],
    "negotiate_fee": ["yes", "yes", "no", "fee", "€650 per day"],
    "refer": ["yes", "yes", "no", "neither", "yes", "Sam Lee"],
    "decline": ["yes", "yes", "no", "neither", "no"],
    "no_reply": ["no"],
}

# What the user gave on each path, which the draft must contain (per language).
SPECIFICS: dict[str, dict[str, list[str]]] = {
    "accept": {"en": [], "fr": []},
    "booked": {"en": ["March 15, 2027"], "fr": ["15 mars 2027"]},
    "negotiate_timeline": {"en": ["March 15, 2027"], "fr": ["15 mars 2027"]},
    "negotiate_fee": {"en": ["€650 per day"], "fr": ["650\u00a0€ par jour"]},
    "refer": {"en": ["Sam Lee"], "fr": ["Sam Lee"]},
    "decline": {"en": [], "fr": []},
    "no_reply": {"en": [], "fr": []},
}
