"""The one control codec: a :class:`~core.actions.Control` to a platform id and back, and
a decoded id to the core event it means.

Grammar: ``sit:<kind>:<owner>:<version>:<question>:<value>``, for example
``sit:a:42:3:time:yes`` ("answer *yes* to *time*, in user 42's conversation at version 3").
Everything a click needs travels in the id, nothing in memory, so a button keeps working
after a restart; the owner lets a click by anyone else be refused. The grammar is the one
Discord buttons have carried since the first release, so persistent buttons posted
before keep working; Slack ids of the older ``sit:answer:…`` form decode as
:data:`OUTDATED`, and the adapter says the button comes from an older version.

At most 100 characters (Discord's ``custom_id``; Slack allows 255): an owner id takes at
most 32, question and choice ids from ``prompts/`` are short words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final, assert_never

from core import events
from core.actions import Control, ControlKind, Style
from core.events import Event
from core.questionnaire import Questionnaire

PREFIX: Final = "sit"
MAX_LENGTH: Final = 100
_PART = r"[A-Za-z0-9_-]*"
_OWNER = r"[A-Za-z0-9]{1,32}"


def pattern(kinds: str) -> str:
    """The regular expression of the ids of ``kinds`` (their one-letter codes)."""
    return (
        rf"{PREFIX}:(?P<kind>[{kinds}]):(?P<owner>{_OWNER}):(?P<version>[0-9]{{1,12}})"
        rf":(?P<question>{_PART}):(?P<value>{_PART})"
    )


BUTTONS: Final = pattern("".join(k.value for k in ControlKind if k is not ControlKind.SUBMIT))
"""Every id drawn as a button (Discord registers its persistent handler for these)."""
_ANY = re.compile(pattern("".join(k.value for k in ControlKind)))
_PART_RE = re.compile(_PART)


class Refusal(StrEnum):
    """A click the core will not act on; the value is the notice's key in ``prompts/``."""

    NOT_YOURS = "not_yours"  # someone else's conversation
    OUTDATED = "outdated"  # a button from a version whose ids this one cannot read


@dataclass(frozen=True, slots=True)
class NextStep:
    """A next step clicked on journal entry ``ref`` (see :mod:`core.followup`)."""

    ref: int
    step: str
    value: str = ""


class AppAction(StrEnum):
    """What a control means outside the questionnaire."""

    START = "start"
    FORGET = "forget"
    KEEP = "keep"
    OPEN_FORM = "open_form"  # show the typed-answer form (Discord)


@dataclass(frozen=True, slots=True)
class ControlRef:
    """A decoded id: the control's kind, question, version and value, and whose it is."""

    kind: ControlKind
    owner: str
    version: int = 0
    question: str = ""
    value: str = ""


OUTDATED: Final = ControlRef(ControlKind.HELP, "-", -1)
"""Ours (the prefix says so) but in no grammar this version reads."""


def encode(control: Control | ControlRef, owner: str) -> str:
    for part in (control.question, control.value):
        if not _PART_RE.fullmatch(part):
            raise ValueError(f"{part!r} cannot go into a control id (letters, digits, - and _)")
    text = (
        f"{PREFIX}:{control.kind.value}:{owner}:{control.version}"
        f":{control.question}:{control.value}"
    )
    if len(text) > MAX_LENGTH or not _ANY.fullmatch(text):
        raise ValueError(f"not a valid control id: {text[:120]!r}")
    return text


def decode(text: str) -> ControlRef | None:
    """The reference in ``text``; :data:`OUTDATED` for an id of ours this version cannot
    read; None for anything we did not make."""
    match = _ANY.fullmatch(text)
    if match is None:
        return OUTDATED if text.startswith(f"{PREFIX}:") else None
    return ControlRef(
        ControlKind(match["kind"]),
        match["owner"],
        int(match["version"]),
        match["question"],
        match["value"],
    )


def read(
    text: str, user: str, today: date, typed: str = ""
) -> Event | AppAction | NextStep | Refusal | None:
    """What a click on the control ``text`` by ``user`` means: the one way in from a
    platform id. None for an id that is not ours (another app's button)."""
    ref = decode(text)
    if ref is None:
        return None
    if ref is OUTDATED:
        return Refusal.OUTDATED
    if ref.owner != user:
        return Refusal.NOT_YOURS
    return event_for(ref, today, typed)


def event_for(ref: ControlRef, today: date, typed: str = "") -> Event | AppAction | NextStep:
    """The event a click means. ``typed`` is what the platform payload brings for a date
    picker or a submitted form."""
    question = ref.question or None
    match ref.kind:
        case ControlKind.ANSWER:
            return events.Answer(ref.value, today, question=question, version=ref.version)
        case ControlKind.DATE | ControlKind.SUBMIT:
            return events.Answer(typed, today, question=question, version=ref.version)
        case ControlKind.BACK:
            return events.Back(question=question, version=ref.version)
        case ControlKind.RESTART:
            return events.Restart(version=ref.version)
        case ControlKind.CANCEL:
            return events.Cancel(version=ref.version)
        case ControlKind.HELP:
            return events.Help()
        case ControlKind.TONE:
            return events.ChangeTone(ref.value, version=ref.version)
        case ControlKind.LANGUAGE:
            return events.ChangeLanguage(ref.value, version=ref.version)
        case ControlKind.TYPE:
            return AppAction.OPEN_FORM
        case ControlKind.START:
            return AppAction.START
        case ControlKind.FORGET:
            return AppAction.FORGET
        case ControlKind.KEEP:
            return AppAction.KEEP
        case ControlKind.NEXT:
            return NextStep(ref.version, ref.question, ref.value)
        case _:
            assert_never(ref.kind)


# --- controls outside a conversation turn -------------------------------------------


def forget_controls(q: Questionnaire, lang: str, version: int = 0) -> tuple[Control, ...]:
    """The confirmation under "delete your past decisions?": delete, or keep them.
    ``version`` is :meth:`core.session.Session.forget_version` when it was asked, so the
    delete button works once (a replayed or second click finds something changed)."""
    return (
        Control(
            ControlKind.FORGET, q.ui(lang, "forget_button"), version=version, style=Style.DANGER
        ),
        Control(ControlKind.KEEP, q.ui(lang, "keep_button"), version=version),
    )


def start_control(q: Questionnaire, lang: str) -> Control:
    return Control(ControlKind.START, q.ui(lang, "start_button"), style=Style.PRIMARY)
