"""The questionnaire, free of I/O: events in, actions out.

``core`` never talks to a platform, a network, a database or the clock; the adapters in
``bots/`` translate platform payloads into :mod:`core.events`, hand them to
:class:`core.session.Session` (or straight to :func:`core.engine.step`), and render the
:mod:`core.actions` that come back. The one exception is ``core.store``, the store
implementation shared by every adapter; the engine never imports it.
"""

from core.actions import Action, Ask, Choice, Progress, Result, Say
from core.engine import step
from core.events import (
    Answer,
    Back,
    Cancel,
    ChangeLanguage,
    ChangeTone,
    Event,
    Help,
    Restart,
    Start,
)
from core.questionnaire import InvalidDefinition, Questionnaire, load_questionnaire
from core.state import ConversationState, StateError

__all__ = [
    "Action",
    "Answer",
    "Ask",
    "Back",
    "Cancel",
    "ChangeLanguage",
    "ChangeTone",
    "Choice",
    "ConversationState",
    "Event",
    "Help",
    "InvalidDefinition",
    "Progress",
    "Questionnaire",
    "Restart",
    "Result",
    "Say",
    "Start",
    "StateError",
    "load_questionnaire",
    "step",
]
