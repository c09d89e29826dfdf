"""Is a signed request shaped the way Slack sends it? Checked before Bolt dispatches it.

Bolt's middleware and our listeners read fields Slack always sends; a body that lacks them
or holds another type would crash them (a 500, or an error after the ack that the person
never sees). Such a body is refused with a 400 instead. The rules are data: for each kind
of request, the fields read and the type each must have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# (dotted path, expected type(s), required)
Rule = tuple[str, type | tuple[type, ...], bool]

# Fields Bolt's own middleware reads from any body, whatever its type (building the
# context, skipping the bot's own events): of another type, they crash it before any
# listener runs, and Bolt answers 500.
COMMON: tuple[Rule, ...] = (
    ("event", dict, False),
    ("enterprise", (str, dict), False),
    ("team", (str, dict), False),
    ("user", (str, dict), False),
    ("channel", (str, dict), False),
    ("authorizations", list, False),
    ("view", dict, False),
    ("message", dict, False),
    ("previous_message", dict, False),
    ("item", dict, False),
    ("assistant_thread", dict, False),
    ("function_data", dict, False),
    ("response_url", str, False),
    ("response_urls", list, False),
)

RULES: Mapping[str, tuple[Rule, ...]] = {
    "command": (
        ("user_id", str, True),
        ("team_id", str, True),
        ("response_url", str, True),
        ("channel_id", str, False),
        ("text", str, False),
    ),
    "event_callback": (
        ("event", dict, True),
        ("event.type", str, True),
        ("team_id", str, False),
        ("authorizations", list, False),
        ("event.user", str, False),
        ("event.channel", str, False),
    ),
    "block_actions": (
        ("user", dict, True),
        ("user.id", str, True),
        ("actions", list, True),
        ("team", dict, False),
        ("team.id", str, False),
        ("container", dict, False),
        ("channel", dict, False),
        ("message", dict, False),
        ("message.blocks", list, False),
    ),
    "view_submission": (
        ("user", dict, True),
        ("user.id", str, True),
        ("team", dict, False),
        ("team.id", str, False),
        ("view", dict, True),
        ("view.callback_id", str, True),
        ("view.private_metadata", str, False),
        ("view.state", dict, False),
        ("view.state.values", dict, False),
    ),
    "message_action": (
        ("user", dict, True),
        ("user.id", str, True),
        ("team", dict, False),
        ("callback_id", str, True),
        ("response_url", str, True),
        ("channel", dict, False),
        ("channel.id", str, False),
        ("message", dict, False),
        ("message.text", str, False),
    ),
}
EVENT_RULES: Mapping[str, tuple[Rule, ...]] = {
    "message": (("event.channel", str, True),),
    "app_home_opened": (("event.user", str, True),),
}


# Slack's ids (users, teams, channels) are short ASCII; ours are built from them and must
# stay within Slack's own limits (an action's block_id carries the user id).
ID_PATHS: Mapping[str, tuple[str, ...]] = {
    "command": ("user_id", "team_id", "channel_id"),
    "event_callback": ("team_id", "event.user", "event.channel"),
    "block_actions": ("user.id", "team.id"),
    "message_action": ("user.id", "team.id", "channel.id"),
    "view_submission": ("user.id", "team.id"),
}
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Every path above, split once (each request reads some twenty).
_PARTS: Mapping[str, tuple[str, ...]] = {
    path: tuple(path.split("."))
    for rules in (COMMON, *RULES.values(), *EVENT_RULES.values())
    for path, _, _ in rules
} | {path: tuple(path.split(".")) for paths in ID_PATHS.values() for path in paths}


def well_formed(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    kind = "command" if "command" in body else body.get("type")
    kind = kind if isinstance(kind, str) else ""
    if not _follows(body, COMMON) or not _follows(body, RULES.get(kind, ())):
        return False
    if not all(isinstance(a, dict) for a in body.get("authorizations") or ()):
        return False
    for path in ID_PATHS.get(kind, ()):
        found, value = _get(body, path)
        if found and not _ID.fullmatch(value):
            return False
    if kind == "event_callback":
        return _follows(body, EVENT_RULES.get(body["event"]["type"], ()))
    if kind == "block_actions":
        return _actions_ok(body["actions"]) and _blocks_ok(body.get("message", {}).get("blocks"))
    return True


def _follows(body: Mapping[str, Any], rules: tuple[Rule, ...]) -> bool:
    for path, kind, required in rules:
        found, value = _get(body, path)
        if (not found and required) or (found and not isinstance(value, kind)):
            return False
    return True


def _get(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = body
    for part in _PARTS.get(path) or path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _actions_ok(actions: list[Any]) -> bool:
    return bool(actions) and all(
        isinstance(a, dict)
        and isinstance(a.get("action_id"), str)
        and isinstance(a.get("block_id", ""), str)
        for a in actions
    )


def _blocks_ok(blocks: Any) -> bool:
    return blocks is None or all(isinstance(b, dict) for b in blocks)
