"""The answers that lead to each outcome (after the opening 'who is it from' question)."""

from __future__ import annotations

PATHS: dict[str, list[str]] = {
    "accept": ["yes", "yes"],
    "booked": ["no", "no", "no", "yes", "2027-03-15"],
    "negotiate_timeline": ["no", "yes", "timeline", "2027-03-15"],
    "negotiate_fee": ["yes", "no", "fee", "€650 per day"],
    "refer": ["no", "no", "yes", "Sam Lee"],
    "decline": ["yes", "no", "neither", "no", "yes"],
    "no_reply": ["no", "no", "no", "no"],
}

# What the user gave on each path, which the draft must contain (per language).
SPECIFICS: dict[str, dict[str, list[str]]] = {
    "accept": {"en": [], "fr": []},
    "booked": {"en": ["March 15, 2027"], "fr": ["15 mars 2027"]},
    "negotiate_timeline": {"en": ["March 15, 2027"], "fr": ["15 mars 2027"]},
    "negotiate_fee": {"en": ["€650 per day"], "fr": ["€650 per day"]},
    "refer": {"en": ["Sam Lee"], "fr": ["Sam Lee"]},
    "decline": {"en": [], "fr": []},
    "no_reply": {"en": [], "fr": []},
}
