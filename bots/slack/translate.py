"""Slack payloads translated into what the core understands: conversation keys, the
command's sub-command, typed text. Pure functions of the payload: no Web API, no session.
Buttons are read by the one control codec (:mod:`core.controls`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bots.slack.mrkdwn import to_plain
from core.ports import ConversationKey
from core.questionnaire import Questionnaire
from core.text import fold

PLATFORM = "slack"
NOT_SET = "-"  # the value of a form's "not set" option


def conversation_key(
    team_id: str | None, enterprise_id: str | None, user_id: str
) -> ConversationKey:
    """One conversation per workspace and user; an org-wide (Enterprise Grid) install
    without a team falls back to the organisation."""
    return ConversationKey(PLATFORM, team_id or enterprise_id or "-", user_id)


def installation_of(key: ConversationKey) -> dict[str, str | None]:
    """Whose install (and token) a key's messages go out with, as an outbox row names it:
    the team, or the organisation when :func:`conversation_key` fell back to it (Slack's
    ids say which: T… or E…)."""
    org_wide = key.workspace.startswith("E")
    return {
        "team": None if org_wide else key.workspace,
        "enterprise": key.workspace if org_wide else None,
    }


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What ``/should-i-take-it [text]`` asks for. ``request`` is any text that is not a
    sub-command or language: the client's request, kept as context."""

    kind: Literal["start", "help", "history", "forget"]
    lang: str | None = None
    request: str | None = None


_PAGES: tuple[Literal["help", "history", "forget"], ...] = ("help", "history", "forget")


def parse_command(q: Questionnaire, text: str) -> CommandRequest:
    plain = to_plain(text)
    words = plain.split(maxsplit=1)
    if not words:
        return CommandRequest("start")
    first, rest = fold(words[0]), (words[1].strip() if len(words) > 1 else "")
    # A sub-command word alone, or with a language either side ("history fr", "fr help");
    # the words, in every language, come from prompts/ (ui.commands).
    alone = [fold(w) for w in plain.split()]
    if len(alone) <= 2:
        pages = [page for w in alone for page in _PAGES if q.command_for(w) == page]
        langs = [code for w in alone for code in q.languages if w == fold(code)]
        if len(pages) == 1 and len(pages) + len(langs) == len(alone):
            return CommandRequest(pages[0], langs[0] if langs else None)
    lang = next((code for code in q.languages if first == fold(code)), None)
    if lang is not None:
        return CommandRequest("start", lang, rest or None)
    return CommandRequest("start", None, plain.strip() or None)


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


def form_values(view: Mapping[str, Any]) -> dict[str, str]:
    """What a submitted form holds, by block id: the text typed or the option picked ("" for
    nothing, or for the "not set" option)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    found: dict[str, str] = {}
    for block_id, actions in (values or {}).items():
        for given in actions.values() if isinstance(actions, dict) else ():
            picked = given.get("selected_option") if isinstance(given, dict) else None
            value = picked.get("value") if isinstance(picked, dict) else None
            if value is None and isinstance(given, dict):
                value = given.get("value")
            found[str(block_id)] = value if isinstance(value, str) and value != NOT_SET else ""
    return found


def dm_link(team_id: str | None, channel_id: str) -> str:
    """A link that opens the DM in the Slack app or the browser."""
    team = f"&team={team_id}" if team_id else ""
    return f"https://slack.com/app_redirect?channel={channel_id}{team}"
