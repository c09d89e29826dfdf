"""What the bot should do next, as frozen values the adapters render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputKind = Literal["choice", "text", "date"]


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
    choice questions and offered by adapters for text and date questions). ``previous`` is
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


@dataclass(frozen=True, slots=True)
class Say:
    """A message that is not a question: re-prompts, help, goodbyes, notices.

    ``kind`` lets an adapter style it: ``reprompt``, ``help``, ``stale``, ``cancelled``,
    ``ended``, ``notice``.
    """

    text: str
    kind: str = "notice"


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


Action = Ask | Say | Result
