"""What the bot should do next, as frozen values the adapters draw.

A turn (:class:`core.turn.Turn`) carries a tuple of these. Questions and results carry
their **controls**: every button any surface may show, computed here in the core, so
that Slack, Discord and the terminal show the same choices for the same turn and an
adapter never decides which buttons a question or a result has. A control maps straight
back to an event (:func:`core.controls.event_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Literal

InputKind = Literal["choice", "text", "date"]


class Notice(StrEnum):
    """What kind of message a :class:`Say` is (a ``StrEnum``: it prints as its value)."""

    REPROMPT = "reprompt"  # the answer was refused; the question follows again
    HELP = "help"
    STALE = "stale"  # a control from an older message
    CANCELLED = "cancelled"
    ENDED = "ended"  # the conversation expired
    NOTICE = "notice"  # anything else: "Starting over.", "Language changed", ...
    ERROR = "error"  # the store failed; nothing was done


class ControlKind(StrEnum):
    """What a control does. The values are the one-letter codes the control codec puts
    into platform ids (:mod:`core.controls`); they must never change meaning, since
    persistent buttons outlive deploys."""

    ANSWER = "a"  # value: a choice id (or "skip")
    DATE = "d"  # a date picker; the value comes from the platform payload
    TYPE = "m"  # type the answer (a form on Discord, a message elsewhere)
    SUBMIT = "f"  # the typed-answer form itself (Discord's modal), never drawn as a button
    BACK = "b"
    RESTART = "r"
    CANCEL = "c"
    HELP = "h"
    TONE = "t"  # value: a tone id
    LANGUAGE = "l"  # value: a language code
    START = "s"  # start a conversation (Slack's App Home)
    FORGET = "x"  # confirm deleting the user's journal
    KEEP = "k"  # decline deleting it
    NEXT = "n"  # a next step on a journal entry: version = the entry's ref,
    # question = the step id (core.followup), value = its argument (days to wait, ...)


class Style(StrEnum):
    PRIMARY = "primary"  # the answers to the open question
    SECONDARY = "secondary"  # navigation, switches, skip
    DANGER = "danger"  # cannot be undone


class Row(IntEnum):
    """Controls are drawn in rows, in this order."""

    ANSWERS = 0
    NEXT_STEPS = 1  # what to do next about a decided request (core.followup)
    NAVIGATION = 2


@dataclass(frozen=True, slots=True)
class Control:
    """A button (or picker) in platform-neutral terms.

    ``question`` and ``version`` say which message it belongs to, so a control from an
    older message is stale; ``value`` is the choice, tone or language it carries.
    ``word`` is what a text-only surface types to the same effect (the terminal).
    """

    kind: ControlKind
    label: str
    question: str = ""
    version: int = 0
    value: str = ""
    style: Style = Style.SECONDARY
    row: Row = Row.NAVIGATION
    word: str = ""


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the user is among the four questions; ``current`` is 1-based."""

    current: int
    total: int
    label: str  # "Question 2 of 4", already in the conversation's language


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask a question. ``choices`` is empty for free-text and date questions.

    ``optional`` questions accept the ``skip`` choice (it is listed in ``choices`` for
    choice questions and among the controls for text and date questions). ``previous`` is
    the answer given before, when the user came back to this question. ``version`` is the
    conversation version this question belongs to, for buttons that must go stale.
    """

    question: str
    text: str
    choices: tuple[Choice, ...]
    input: InputKind
    progress: Progress | None
    optional: bool
    lang: str
    version: int
    can_go_back: bool
    hint: str = ""
    previous: str | None = None
    controls: tuple[Control, ...] = ()


@dataclass(frozen=True, slots=True)
class Say:
    """A message that is not a question: re-prompts, help, goodbyes, notices."""

    text: str
    kind: Notice = Notice.NOTICE


@dataclass(frozen=True, slots=True)
class Result:
    """The end of the questionnaire: the outcome, the draft to send (``None`` for
    ``no_reply``), the advice and why it came out this way."""

    outcome: str
    title: str
    draft: str | None
    advice: str
    why: str
    lang: str
    tone: str
    version: int
    heading: str = ""  # "Your reply (Warm, English)", or what to do when no reply is owed
    controls: tuple[Control, ...] = ()


Action = Ask | Say | Result
