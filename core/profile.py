"""The user's saved profile: a signature, a default tone and language, a time zone, the wait
before a "did they answer?" reminder, and a few colleagues to refer clients to.

Theory of operation
-------------------
* A profile is a small frozen value, kept by the store as JSON text
  (:meth:`core.ports.Store.save_profile`; ``forget`` deletes it). The session reads it once,
  at a start, and hands it to the engine on the :class:`core.events.Start` event: the saved
  tone and language are a new conversation's defaults, the signature replaces the platform's
  display name, and the colleagues are offered at the question flagged ``colleagues: true``.
* Reading is forgiving (:meth:`UserProfile.from_json`): a field this version does not know,
  or one whose value no longer fits (a tone since removed from ``prompts/``, a time zone the
  tz database dropped, a list grown too long), is left out, never an error. A profile is a
  convenience; it must never stop a conversation.
* Writing is strict, and pure: every change goes through :func:`edit` (one typed line, the
  grammar the terminal and Discord share: ``tone formal``, ``colleague add Sam Lee``,
  ``clear signature``; its words are ``ui.profile.words`` in every language) or
  :func:`from_form` (Slack's form, every field at once). A refused change is a
  :class:`ProfileError` value worded in ``prompts/<lang>.yaml`` (``ui.profile``), never an
  exception: it is the person's slip, and they are told how to put it right.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from core.engine import language_code, tone_code
from core.followup import MAX_WAIT as MAX_WAIT  # the bounds a saved wait is checked against
from core.followup import MIN_WAIT as MIN_WAIT
from core.questionnaire import Questionnaire
from core.text import clean, fold

SCHEMA = 1  # written for a future reader; this one reads whatever fields it recognises
MAX_SIGNATURE = 80
MAX_COLLEAGUES = 5
MAX_COLLEAGUE = 60  # a short name, maybe with a way to reach them
SHOWN_VALUE = 40  # how much of a refused value an error message repeats

Field = Literal["signature", "tone", "lang", "tz", "wait", "colleagues"]
FIELDS: tuple[Field, ...] = ("signature", "tone", "lang", "tz", "wait", "colleagues")
# The grammar's command word → the field it changes (the label's key in ui.profile too).
_FIELD_OF: Mapping[str, Field] = {
    "signature": "signature",
    "tone": "tone",
    "language": "lang",
    "timezone": "tz",
    "wait": "wait",
    "colleague": "colleagues",
}
# A field → its label's key in ui.profile.
_LABELS: Mapping[Field, str] = {
    "signature": "signature",
    "tone": "tone",
    "lang": "language",
    "tz": "timezone",
    "wait": "wait",
    "colleagues": "colleagues",
}
_LIMITS = {
    "signature_too_long": MAX_SIGNATURE,
    "colleague_too_long": MAX_COLLEAGUE,
    "too_many_colleagues": MAX_COLLEAGUES,
    "bad_wait": MAX_WAIT,
}


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What a user saved; ``None`` (or no colleagues) means not set: the platform's name,
    the questionnaire's default tone, the user's locale, and so on."""

    signature: str | None = None
    tone: str | None = None  # a tone id of prompts/flow.yaml
    lang: str | None = None  # a language code of prompts/flow.yaml
    tz: str | None = None  # an IANA time zone name, for reminders at a civil hour
    wait: int | None = None  # working days before "did they answer?"
    colleagues: tuple[str, ...] = ()

    def to_json(self) -> str:
        data: dict[str, Any] = {"schema": SCHEMA}
        for name in FIELDS:
            value = getattr(self, name)
            if value is not None and value != ():
                data[name] = list(value) if isinstance(value, tuple) else value
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None, q: Questionnaire) -> UserProfile:
        """The profile in ``text`` (None: nothing saved), keeping only the fields that
        still fit ``q``; anything unreadable reads as not set."""
        try:
            raw = json.loads(text) if text else {}
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            return cls()
        found: dict[str, Any] = {}
        for name in FIELDS:
            value = raw.get(name)
            if name == "colleagues":
                names = [n for n in value if isinstance(n, str)] if isinstance(value, list) else []
                # Each name that still fits is kept, up to the limit; the others go.
                fitting = [n for n in _unique(names) if isinstance(_colleague(n), str)]
                found[name] = tuple(fitting[:MAX_COLLEAGUES])
                continue
            if name == "wait" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if isinstance(value, str) and (typed := clean(value)):
                checked = _CHECKS[name](q, typed)
                if not isinstance(checked, ProfileError):
                    found[name] = checked
        return cls(**found)


@dataclass(frozen=True, slots=True)
class ProfileError:
    """A change refused: ``key`` names its wording in ``ui.profile``, ``field`` the field it
    concerns (None: the line as a whole), ``value`` what was typed."""

    field: Field | None
    key: str
    value: str = ""

    def text(self, q: Questionnaire, lang: str) -> str:
        value = self.value if len(self.value) <= SHOWN_VALUE else self.value[:SHOWN_VALUE] + "…"
        return word(
            q,
            lang,
            self.key,
            value=value,
            options=_options(q, lang, self.key),
            min=MIN_WAIT,
            max=_LIMITS.get(self.key, 0),
        )


# --- showing it ------------------------------------------------------------------------


def page_language(q: Questionnaire, saved: UserProfile, platform: str | None) -> str:
    """The language of a user's own pages (help, history, profile, forget): the one they
    saved, else the platform's (``platform``, when the questionnaire speaks it), else the
    first. A language asked for explicitly (``… history fr``) comes before all three."""
    for lang in (saved.lang, platform):
        if lang in q.languages:
            return lang
    return q.languages[0]


def word(q: Questionnaire, lang: str, key: str, /, **values: object) -> str:
    """A text of ``ui.profile`` in ``lang``, its placeholders filled in."""
    text = str(q.ui_map(lang, "profile")[key])
    return text.format(**values) if values else text


def lines(q: Questionnaire, lang: str, profile: UserProfile) -> list[str]:
    """The profile as shown on every surface: one "Label: value" line per field."""
    if profile.wait is None:
        wait = None
    elif profile.wait == 1:
        wait = word(q, lang, "wait_one")
    else:
        wait = word(q, lang, "wait_days", days=profile.wait)
    shown: dict[Field, str | None] = {
        "signature": profile.signature,
        "tone": q.tone_label(lang, profile.tone) if profile.tone else None,
        "lang": q.texts[profile.lang].name if profile.lang else None,
        "tz": profile.tz,
        "wait": wait,
        # Names may hold commas ("Sam Lee, Lyon"): a separator no name is likely to have.
        "colleagues": " · ".join(profile.colleagues) or None,
    }
    not_set = word(q, lang, "not_set")
    return [
        word(q, lang, "line", label=word(q, lang, _LABELS[name]), value=value or not_set)
        for name, value in shown.items()
    ]


@dataclass(frozen=True, slots=True)
class ProfilePage:
    """The profile as a surface shows it after a look or a change: "Saved." after a change
    (``saved``), the title, one line per field, and how to change it after a look (``how``).
    A surface only styles it (bold, bullets, escaping)."""

    saved: str | None
    title: str
    lines: tuple[str, ...]
    how: str | None


def page(q: Questionnaire, lang: str, profile: UserProfile, *, changed: bool) -> ProfilePage:
    return ProfilePage(
        saved=word(q, lang, "saved") if changed else None,
        title=word(q, lang, "title"),
        lines=tuple(lines(q, lang, profile)),
        how=None if changed else word(q, lang, "how"),
    )


def label(q: Questionnaire, lang: str, field: Field) -> str:
    """A field's name as the profile shows it ("Default tone")."""
    return word(q, lang, _LABELS[field])


# --- changing it ----------------------------------------------------------------------


def edit(q: Questionnaire, profile: UserProfile, text: str) -> UserProfile | ProfileError:
    """``profile`` with the one change ``text`` asks for: ``signature Camille Martin``,
    ``tone formal``, ``language fr``, ``timezone Europe/Paris``, ``wait 5``,
    ``colleague add Marie Dupont``, ``colleague remove Marie Dupont``, ``clear tone``
    (``clear colleagues``: all of them), optionally after ``set``. The words are those of
    ``ui.profile.words`` in any language; values are read as :func:`from_form` reads them."""
    command, typed, rest = _split(q, clean(text))
    if command == "set":
        command, typed, rest = _split(q, rest)
    if command == "colleague":
        action, typed_action, name = _split(q, rest)
        if action == "add":
            return _add(profile, name, typed_action)
        if action == "remove":
            return _remove(profile, name, typed_action)
        return ProfileError("colleagues", "colleague_usage", typed)
    if command == "clear":
        if not rest:
            return ProfileError(None, "needs_value", typed)
        what, typed_what, _ = _split(q, rest)
        field = _FIELD_OF.get(what or "")
        if field is None:
            return ProfileError(None, "unknown", typed_what)
        cleared: dict[str, Any] = {field: () if field == "colleagues" else None}
        return replace(profile, **cleared)
    field = _FIELD_OF.get(command or "")
    if field is None:
        return ProfileError(None, "unknown", typed)
    if not rest:
        return ProfileError(field, "needs_value", typed)
    checked = _CHECKS[field](q, rest)
    if isinstance(checked, ProfileError):
        return checked
    changes: dict[str, Any] = {field: checked}
    return replace(profile, **changes)


def from_form(
    q: Questionnaire,
    *,
    signature: str = "",
    tone: str = "",
    lang: str = "",
    tz: str = "",
    wait: str = "",
    colleagues: str = "",
) -> UserProfile | dict[Field, ProfileError]:
    """A whole profile from a form's fields (an empty field: not set; ``colleagues``: one
    per line), or what is wrong with each refused field."""
    given: dict[Field, str] = {"signature": signature, "tone": tone, "lang": lang}
    given |= {"tz": tz, "wait": wait}
    found: dict[str, Any] = {}
    errors: dict[Field, ProfileError] = {}
    for name, raw in given.items():
        typed = clean(raw)
        checked = _CHECKS[name](q, typed) if typed else None
        if isinstance(checked, ProfileError):
            errors[name] = checked
        else:
            found[name] = checked
    # A name given twice is kept once: the form says what the list should be.
    kept = _colleagues(_unique(colleagues.splitlines()))
    if isinstance(kept, ProfileError):
        errors["colleagues"] = kept
    else:
        found["colleagues"] = kept
    return errors if errors else UserProfile(**found)


# --- the grammar ----------------------------------------------------------------------


def _split(q: Questionnaire, text: str) -> tuple[str | None, str, str]:
    """The command word opening ``text`` (a word may be two: "time zone"), that word as
    typed, and the rest; None for a word that is no command."""
    parts = text.split(" ")
    for n in (2, 1):
        typed = " ".join(parts[:n])
        if len(parts) >= n and (command := q.profile_command_for(fold(typed))) is not None:
            return command, typed, " ".join(parts[n:]).strip()
    return None, parts[0], " ".join(parts[1:]).strip()


def _options(q: Questionnaire, lang: str, key: str) -> str:
    if key == "unknown_tone":
        return ", ".join(q.tone_label(lang, t) for t in q.tones)
    if key == "unknown_language":
        return ", ".join(f"{code} ({q.texts[code].name})" for code in q.languages)
    words = q.ui_map(lang, "profile")["words"]
    return ", ".join(str(words[c][0]) for c in (*_FIELD_OF, "clear"))


# --- checking one value (typed text, cleaned and not empty) ----------------------------


def _signature(q: Questionnaire, text: str) -> str | ProfileError:
    if len(text) > MAX_SIGNATURE:
        return ProfileError("signature", "signature_too_long", text)
    return text


def _tone(q: Questionnaire, text: str) -> str | ProfileError:
    return tone_code(q, text) or ProfileError("tone", "unknown_tone", text)


def _lang(q: Questionnaire, text: str) -> str | ProfileError:
    return language_code(q, text) or ProfileError("lang", "unknown_language", text)


def _tz(q: Questionnaire, text: str) -> str | ProfileError:
    zones, cities = _zones()
    key = text.replace(" ", "_").casefold()
    return zones.get(key) or cities.get(key) or ProfileError("tz", "unknown_timezone", text)


def _wait(q: Questionnaire, text: str) -> int | ProfileError:
    first = text.split(" ")[0]  # "5 working days" says 5
    if first.isascii() and first.isdigit() and MIN_WAIT <= int(first) <= MAX_WAIT:
        return int(first)
    return ProfileError("wait", "bad_wait", text)


_CHECKS: Mapping[str, Callable[[Questionnaire, str], str | int | ProfileError]] = {
    "signature": _signature,
    "tone": _tone,
    "lang": _lang,
    "tz": _tz,
    "wait": _wait,
}


@cache
def _zones() -> tuple[dict[str, str], dict[str, str]]:
    """The IANA names, by folded name and by folded city ("paris" → Europe/Paris) where the
    city is unambiguous. Read once from the tz database, like Babel's locale data."""
    names = zoneinfo.available_timezones()
    by_name = {z.casefold(): z for z in names}
    by_city: dict[str, str | None] = {}
    for z in sorted(names):
        city = z.rsplit("/", 1)[-1].casefold()
        if "/" in z:
            by_city[city] = None if city in by_city else z
    return by_name, {c: z for c, z in by_city.items() if z is not None and c not in by_name}


def _colleague(name: str) -> str | ProfileError:
    if len(name) > MAX_COLLEAGUE:
        return ProfileError("colleagues", "colleague_too_long", name)
    return name


def _unique(names: list[str]) -> list[str]:
    """The names cleaned, in order, without blanks or repeats (compared loosely)."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in map(clean, names):
        if fold(name) and fold(name) not in seen:
            seen.add(fold(name))
            kept.append(name)
    return kept


def _colleagues(names: list[str]) -> tuple[str, ...] | ProfileError:
    checked = [_colleague(n) for n in names]
    refused = next((c for c in checked if isinstance(c, ProfileError)), None)
    if refused is not None:
        return refused
    if len(checked) > MAX_COLLEAGUES:
        return ProfileError("colleagues", "too_many_colleagues")
    return tuple(c for c in checked if isinstance(c, str))


def _add(profile: UserProfile, name: str, typed: str) -> UserProfile | ProfileError:
    if not fold(name):
        return ProfileError("colleagues", "needs_value", typed)
    checked = _colleague(name)
    if isinstance(checked, ProfileError):
        return checked
    if any(fold(c) == fold(name) for c in profile.colleagues):
        return ProfileError("colleagues", "duplicate_colleague", name)
    if len(profile.colleagues) >= MAX_COLLEAGUES:
        return ProfileError("colleagues", "too_many_colleagues")
    return replace(profile, colleagues=(*profile.colleagues, name))


def _remove(profile: UserProfile, name: str, typed: str) -> UserProfile | ProfileError:
    if not fold(name):
        return ProfileError("colleagues", "needs_value", typed)
    kept = tuple(c for c in profile.colleagues if fold(c) != fold(name))
    if len(kept) == len(profile.colleagues):
        return ProfileError("colleagues", "no_such_colleague", name)
    return replace(profile, colleagues=kept)
