"""One turn of a conversation as the adapters receive it: what happened, in which
language, what to show, and what becomes of the message the event came from.

Theory of operation
-------------------
The engine returns actions; :func:`classify` reads them once, here, and says what they
mean, so no adapter ever inspects message kinds or compares versions to guess:

* ``effect`` — what happened (:class:`Effect`).
* ``private`` — the messages concern only whoever clicked (a stale button, a failure,
  "nothing to cancel"): shown to them alone, the conversation's messages stay as they are.
* ``source`` — what to do with the message a control was clicked on (:class:`Source`):
  keep it, freeze it (remove its controls), freeze it noting the answer, or replace it in
  place (a tone or language switch rewrites the result where it stands, and its notice
  goes to the clicker alone).
* ``answered`` — the "You answered: …" note for a frozen question, already worded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.actions import Action, Ask, Control, Notice, Result, Say
from core.events import Answer, ChangeLanguage, ChangeTone, Event
from core.state import ConversationState


class Effect(StrEnum):
    ADVANCED = "advanced"  # a new question or a result (an answer, back, restart, start)
    REVISED = "revised"  # the same step again, in another tone or language
    REPROMPTED = "reprompted"  # the answer was refused; the question stays open
    INFORMED = "informed"  # help or a notice; nothing changed
    STALE = "stale"  # a control from an older message; nothing changed
    ENDED = "ended"  # cancelled, or found expired
    FAILED = "failed"  # the store could not be reached; nothing was done
    DUPLICATE = "duplicate"  # a redelivery; nothing to show


class Source(StrEnum):
    """What to do with the message whose control started the turn."""

    KEEP = "keep"
    FREEZE = "freeze"  # remove its controls
    ANSWERED = "answered"  # remove its controls and note the answer (``Turn.answered``)
    REPLACE = "replace"  # draw the turn's first message in its place


@dataclass(frozen=True, slots=True)
class Turn:
    effect: Effect
    lang: str
    actions: tuple[Action, ...]
    source: Source = Source.KEEP
    private: bool = False
    answered: str | None = None
    state: ConversationState | None = None
    # After a next step on a journal entry (core.followup): the entry's steps still open,
    # for redrawing the buttons where it was clicked. None: not a next-step turn.
    open_steps: tuple[Control, ...] | None = None

    @property
    def replacement(self) -> Result | None:
        """With ``Source.REPLACE``: the result to draw in place of the clicked message;
        the turn's notices then go to the clicker alone."""
        if self.source is not Source.REPLACE:
            return None
        return next((a for a in self.actions if isinstance(a, Result)), None)

    @property
    def notices(self) -> tuple[Say, ...]:
        return tuple(a for a in self.actions if isinstance(a, Say))


def classify(
    event: Event,
    before: ConversationState | None,
    after: ConversationState | None,
    actions: tuple[Action, ...],
    *,
    default_lang: str,
    answered: str | None = None,
) -> Turn:
    """The :class:`Turn` for ``actions``, which ``event`` produced from ``before``.

    ``after is before`` (the same object) means the engine changed nothing."""
    kinds = {a.kind for a in actions if isinstance(a, Say)}
    shows = any(isinstance(a, Ask | Result) for a in actions)
    state = after if after is not None else before
    lang = next(
        (a.lang for a in actions if isinstance(a, Ask | Result)),
        state.lang if state is not None else default_lang,
    )
    changed = after is not before

    def turn(
        effect: Effect, source: Source, *, private: bool = False, note: str | None = None
    ) -> Turn:
        return Turn(effect, lang, actions, source, private, note, after)

    if Notice.ERROR in kinds:
        return turn(Effect.FAILED, Source.KEEP, private=True)
    if Notice.STALE in kinds and not changed:
        # The message is left alone: a stale click is often the second of a double click,
        # racing the first one's edit of the same message.
        return turn(Effect.STALE, Source.KEEP, private=True)
    if Notice.CANCELLED in kinds or Notice.ENDED in kinds:
        return turn(Effect.ENDED, Source.FREEZE)
    if not changed:
        if Notice.REPROMPT in kinds and shows:
            return turn(Effect.REPROMPTED, Source.FREEZE)
        # Help, "nothing to cancel", an unknown tone word: only the asker needs to see it
        # unless it brings the question back.
        return turn(Effect.INFORMED, Source.FREEZE if shows else Source.KEEP, private=not shows)
    if isinstance(event, ChangeTone | ChangeLanguage):
        result = next((a for a in actions if isinstance(a, Result)), None)
        if result is not None:
            # The reply is rewritten where it stands; a notice goes to the clicker alone.
            return turn(Effect.REVISED, Source.REPLACE)
        return turn(Effect.REVISED, Source.FREEZE)
    if isinstance(event, Answer) and answered is not None:
        return turn(Effect.ADVANCED, Source.ANSWERED, note=answered)
    return turn(Effect.ADVANCED, Source.FREEZE)


def failed(actions: tuple[Action, ...], lang: str) -> Turn:
    return Turn(Effect.FAILED, lang, actions, Source.KEEP, private=True)


def duplicate(lang: str) -> Turn:
    return Turn(Effect.DUPLICATE, lang, ())
