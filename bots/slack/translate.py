"""Slack payloads translated into what the core understands: events, conversation keys,
the user's language and name, the command's sub-command.

Pure functions of the payload: no Web API calls, no session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bots.slack.ids import ActionRef, Kind
from bots.slack.mrkdwn import to_plain
from core.events import Answer, Back, Cancel, ChangeLanguage, ChangeTone, Event, Help, Restart
from core.ports import ConversationKey
from core.questionnaire import Questionnaire
from core.text import fold

PLATFORM = "slack"

# Sub-commands of the slash command, in both languages ("help" comes from the prompts).
_SUBCOMMANDS: dict[str, Literal["history", "forget"]] = {
    "history": "history",
    "historique": "history",
    "forget": "forget",
    "oublier": "forget",
}


def conversation_key(
    team_id: str | None, enterprise_id: str | None, user_id: str
) -> ConversationKey:
    """One conversation per workspace and user; an org-wide (Enterprise Grid) install
    without a team falls back to the organisation."""
    return ConversationKey(PLATFORM, team_id or enterprise_id or "-", user_id)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What ``/should-i-take-it [text]`` asks for. ``request`` is any text that is not a
    sub-command or language: the client's request, kept as context."""

    kind: Literal["start", "help", "history", "forget"]
    lang: str | None = None
    request: str | None = None


def parse_command(q: Questionnaire, text: str) -> CommandRequest:
    words = to_plain(text).split(maxsplit=1)
    if not words:
        return CommandRequest("start")
    first, rest = fold(words[0]), (words[1].strip() if len(words) > 1 else "")
    if not rest:
        if q.command_for(first) == "help":
            return CommandRequest("help")
        if first in _SUBCOMMANDS:
            return CommandRequest(_SUBCOMMANDS[first])
    lang = next((code for code in q.languages if first == fold(code)), None)
    if lang is not None:
        return CommandRequest("start", lang, rest or None)
    return CommandRequest("start", None, to_plain(text).strip() or None)


@dataclass(frozen=True, slots=True)
class Profile:
    """What users.info tells us: the language to start in and how to sign the reply."""

    lang: str | None = None
    name: str | None = None
    tz_offset: int | None = None  # seconds east of UTC: whose "today" a typed date is


def profile_from(user: Mapping[str, Any], languages: tuple[str, ...]) -> Profile:
    locale = str(user.get("locale") or "")
    code = locale.replace("_", "-").split("-")[0].lower()
    profile = user.get("profile") or {}
    name = str(
        profile.get("real_name") or user.get("real_name") or profile.get("display_name") or ""
    )
    offset = user.get("tz_offset")
    tz = offset if isinstance(offset, int) and abs(offset) <= 14 * 3600 else None
    return Profile(code if code in languages else None, name.strip() or None, tz)


def is_user_dm(event: Mapping[str, Any]) -> bool:
    """A message a person wrote to the bot in its DM: not a bot's, not an edit or a
    deletion or any other subtype."""
    return (
        event.get("channel_type") == "im"
        and "subtype" not in event
        and "bot_id" not in event
        and bool(event.get("user"))
    )


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message as its author wrote it."""
    return to_plain(str(message.get("text") or "")).strip()


def click_event(ref: ActionRef, action: Mapping[str, Any], today: date) -> Event | None:
    """The core event a click means; None for clicks that are not conversation steps
    (App Home start, the forget confirmation)."""
    question = ref.question or None
    match ref.kind:
        case Kind.ANSWER:
            return Answer(ref.value, today, question=question, version=ref.version)
        case Kind.DATE:
            picked = str(action.get("selected_date") or "")
            return Answer(picked, today, question=question, version=ref.version)
        case Kind.BACK:
            return Back(question=question, version=ref.version)
        case Kind.RESTART:
            return Restart(version=ref.version)
        case Kind.CANCEL:
            return Cancel(version=ref.version)
        case Kind.HELP:
            return Help()
        case Kind.TONE:
            return ChangeTone(ref.value)
        case Kind.LANG:
            return ChangeLanguage(ref.value)
    return None


def click_label(action: Mapping[str, Any]) -> str:
    """What the clicked button said (for "You answered: …")."""
    text = action.get("text") or {}
    return str(text.get("text") or "")


def dm_link(team_id: str | None, channel_id: str) -> str:
    """A link that opens the DM in the Slack app or the browser."""
    team = f"&team={team_id}" if team_id else ""
    return f"https://slack.com/app_redirect?channel={channel_id}{team}"
