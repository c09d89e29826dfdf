"""What a person did, as the engine sees it: frozen values, one class per kind of event.

Time is never read by the core; an event that needs "today" carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.profile import UserProfile


@dataclass(frozen=True, slots=True)
class Start:
    """Open a conversation (slash command, first DM, shortcut, terminal start).

    ``client`` and ``request`` are context the platform already knows (the text after the
    command, a quoted message); ``signature`` is how the user signs their replies. ``lang``
    and ``tone`` pick the language and tone when given (the user asked for them);
    ``locale`` is only a default for a new conversation (the platform's idea of the user's
    language), so resuming never switches a conversation away from the language it was in.
    ``fresh`` starts over even when a conversation is already open (otherwise the user is
    asked whether to resume). ``profile`` is what the user saved (:mod:`core.profile`),
    filled in by the session, never by an adapter: its tone and language are a new
    conversation's defaults (``lang`` and ``tone`` still win), its signature replaces
    ``signature``, and its colleagues are offered at the question that asks for one.
    """

    today: date | None = None  # unused by the engine today; kept so callers can say when
    lang: str | None = None
    locale: str | None = None
    tone: str | None = None
    client: str | None = None
    request: str | None = None
    signature: str | None = None
    fresh: bool = False
    tz: str | None = None  # the user's time zone (IANA name), for follow-up reminders
    profile: UserProfile | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer: a clicked choice id or typed text.

    ``question`` names the question the answer was given to (a button knows it; typed text
    usually does not). An answer to a question that is no longer open is stale and advances
    nothing, which is what makes double clicks harmless. ``version`` is the conversation
    version the question was asked at (a button knows it): an answer from an older message
    is stale even when the same question is open again.

    Typed text with no conversation open starts one; ``locale``, ``signature`` and ``tz``
    are then used as a :class:`Start` would use them.
    """

    text: str
    today: date
    question: str | None = None
    version: int | None = None
    locale: str | None = None
    signature: str | None = None
    tz: str | None = None
    profile: UserProfile | None = None


@dataclass(frozen=True, slots=True)
class Back:
    """Return to the previous question, keeping the answers given so far.

    Like an answer, a button names the ``question`` and ``version`` it was shown with, so
    a Back, Restart or Cancel button on an old message is stale instead of acting on the
    conversation as it is now."""

    question: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Restart:
    """Start the questionnaire over, dropping the answers (language and tone are kept)."""

    version: int | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """End the conversation politely, without a result."""

    version: int | None = None


@dataclass(frozen=True, slots=True)
class ChangeLanguage:
    """Switch the conversation's language; a button names the ``version`` it was shown at."""

    lang: str
    version: int | None = None


@dataclass(frozen=True, slots=True)
class ChangeTone:
    """Switch the draft's tone; a button names the ``version`` it was shown at."""

    tone: str
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Help:
    """Explain what to do here, then ask the open question again."""


Event = Start | Answer | Back | Restart | Cancel | ChangeLanguage | ChangeTone | Help
