"""A fake Discord for the tests: its REST API and a minimal gateway on 127.0.0.1 (aiohttp,
random port) recording every request, and builders for the raw gateway payloads
(``INTERACTION_CREATE``, ``MESSAGE_CREATE``) that tests feed to a real discord.py client.

Like Discord, it keeps the messages it is sent (so a test can click a button on one),
accepts one response per interaction (40060 the second time), refuses DMs to a user who
closed them (50007) and rejects what breaks a limit (50035 Invalid Form Body). Everything
that would go wrong on Discord, or that breaks the bot's own rules (a message sent without
``AllowedMentions.none()``, an interaction answered late), is listed in ``problems`` so a
test fails on it even when the bot swallowed the error.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

API = "/api/v10"
TOKEN = "fake-discord-token-for-tests"  # deliberately nothing like a real token
APP_ID = 990000000000000001
GUILD_ID = 990000000000000100
GUILD_CHANNEL_ID = 990000000000000101
TIMESTAMP = "2026-11-27T12:00:00+00:00"
BOT_USER: dict[str, Any] = {
    "id": str(APP_ID),
    "username": "should-i-take-it",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
EPHEMERAL, LOADING = 64, 128
RESPONSE_DEADLINE = 3.0  # seconds Discord gives for the first response to an interaction

# Discord's documented limits.
CONTENT_MAX, CUSTOM_ID_MAX, LABEL_MAX, ROW_MAX, ROWS_MAX = 2000, 100, 80, 5, 5
EMBED_TITLE_MAX, EMBED_DESCRIPTION_MAX = 256, 4096
MODAL_TITLE_MAX, INPUT_LABEL_MAX, PLACEHOLDER_MAX = 45, 45, 100


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Request:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class Interaction:
    """An interaction a test sent to the bot, and what the bot answered."""

    id: int
    token: str
    kind: int
    channel_id: int
    message_id: int | None  # the message a clicked button or a sent form belongs to
    created: float = field(default_factory=time.monotonic)
    responses: list[int] = field(default_factory=list)  # callback types, in order
    original: int | None = None  # the message the "original response" designates
    followups: list[int] = field(default_factory=list)  # ids of follow-up messages


Handler = Callable[[Any, re.Match[str]], tuple[int, Any]]


class FakeDiscord:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.problems: list[str] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.dm_channels: dict[int, int] = {}  # user id → DM channel id
        self.closed_dms: set[int] = set()  # users whose privacy settings refuse the bot's DMs
        self.interactions: dict[str, Interaction] = {}  # by token
        self.modals: list[dict[str, Any]] = []
        self.synced: dict[str, list[dict[str, Any]]] = {}  # command sync path → commands
        self.identified = 0  # gateway sessions opened
        self._ids = itertools.count(990000000000100000)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._application),
            ("GET", re.compile(r"/gateway/bot"), self._gateway_bot),
            (
                "PUT",
                re.compile(r"/applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands"),
                self._sync,
            ),
            ("POST", re.compile(r"/users/@me/channels"), self._open_dm),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/messages"), self._send),
            (
                "PATCH",
                re.compile(r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)"),
                self._edit_message,
            ),
            (
                "POST",
                re.compile(r"/interactions/(?P<id>\d+)/(?P<token>[^/]+)/callback"),
                self._callback,
            ),
            ("POST", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"), self._follow_up),
            (
                "PATCH",
                re.compile(
                    r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)"
                ),
                self._edit_webhook,
            ),
        ]

    # --- running -------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url + API

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = await request.json() if request.can_read_body else None
        record = Request(request.method, path, dict(request.query), body)
        self.requests.append(record)
        webhook = path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            record.status = 401
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                record.status, answer = handler(body, match)
                return _json(record.status, answer)
        self.problems.append(f"unknown route {request.method} {path}")
        record.status = 404
        return _json(404, {"message": "404: Not Found", "code": 0})

    # --- the REST API --------------------------------------------------------------
    def _me(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        return 200, BOT_USER

    def _application(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            "id": str(APP_ID),
            "name": "should-i-take-it",
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": {**BOT_USER, "id": "990000000000000002", "bot": False, "username": "owner"},
            "summary": "",
            "verify_key": "0" * 64,
            "team": None,
            "flags": 0,
        }

    def _gateway_bot(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            "url": self.url.replace("http", "ws", 1) + "/gateway",
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    def _sync(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        commands = [
            {
                "description": "",
                **c,
                "id": str(next(self._ids)),
                "application_id": str(APP_ID),
                "version": "1",
            }
            for c in body
        ]
        if match["guild"]:
            for c in commands:
                c["guild_id"] = match["guild"]
        self.synced[self.requests[-1].path] = commands
        return 200, commands

    def _open_dm(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        user_id = int(body["recipient_id"])
        return 200, {
            "id": str(self.dm_channel(user_id)),
            "type": 1,
            "recipients": [self.users[user_id]],
        }

    def _send(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        channel = int(match["channel"])
        if any(self.dm_channels.get(u) == channel for u in self.closed_dms):
            return 403, {"message": "Cannot send messages to this user", "code": 50007}
        return self._created(channel, body, flags=0)

    def _edit_message(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        return self._edited(int(match["message"]), body)

    def _callback(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        interaction = self.interactions.get(match["token"])
        if interaction is None or interaction.id != int(match["id"]):
            self.problems.append(f"response to an unknown interaction {match['id']}")
            return 404, {"message": "Unknown interaction", "code": 10062}
        kind, data = body["type"], body.get("data") or {}
        interaction.responses.append(kind)
        if len(interaction.responses) > 1:
            self.problems.append(
                f"interaction {interaction.id} answered twice: {interaction.responses}"
            )
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        late = time.monotonic() - interaction.created
        if late > RESPONSE_DEADLINE:
            self.problems.append(f"interaction {interaction.id} answered after {late:.1f} s")
        message: dict[str, Any] | None = None
        if kind == 4:  # a message
            status, message = self._created(
                interaction.channel_id, data, flags=data.get("flags", 0)
            )
            if status != 200:
                return status, message
            interaction.original = int(message["id"])
        elif kind == 5:  # "thinking…", to be replaced by editing the original response
            flags = LOADING | (data.get("flags", 0) & EPHEMERAL)
            message = self._store(interaction.channel_id, {"content": ""}, flags=flags)
            interaction.original = int(message["id"])
        elif kind in (6, 7):  # deferred update / update of the clicked message
            interaction.original = interaction.message_id
            if kind == 7:
                status, message = self._edited(interaction.message_id or 0, data)
                if status != 200:
                    return status, message
        elif kind == 9:  # a form
            problems = modal_problems(data)
            if problems:
                self.problems += problems
                return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problems}
            self.modals.append(data)
        else:
            self.problems.append(f"unexpected interaction response type {kind}")
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.kind,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            }
        }
        if message is not None:
            answer["resource"] = {"type": kind, "message": message}
        return 200, answer

    def _follow_up(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        interaction = self._acknowledged(match["token"])
        if interaction is None:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        status, message = self._created(interaction.channel_id, body, flags=body.get("flags", 0))
        if status == 200:
            interaction.followups.append(int(message["id"]))
        return status, message

    def _edit_webhook(self, body: Any, match: re.Match[str]) -> tuple[int, Any]:
        interaction = self._acknowledged(match["token"])
        if interaction is None:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        target = interaction.original if match["message"] == "@original" else int(match["message"])
        if target is None:
            self.problems.append(f"interaction {interaction.id} has no original response to edit")
            return 404, {"message": "Unknown Message", "code": 10008}
        return self._edited(target, body)

    def _acknowledged(self, token: str) -> Interaction | None:
        interaction = self.interactions.get(token)
        if interaction is None or not interaction.responses:
            self.problems.append(f"webhook call for an interaction not answered yet ({token})")
            return None
        return interaction

    # --- messages ------------------------------------------------------------------
    def _created(self, channel: int, body: dict[str, Any], *, flags: int) -> tuple[int, Any]:
        problems = message_problems(body)
        if problems:
            self.problems += problems
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problems}
        return 200, self._store(channel, body, flags=flags)

    def _store(self, channel: int, body: dict[str, Any], *, flags: int) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "id": str(message_id),
            "channel_id": str(channel),
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        self.messages[message_id] = message
        return copy.deepcopy(message)

    def _edited(self, message_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        message = self.messages.get(message_id)
        if message is None:
            self.problems.append(f"edit of unknown message {message_id}")
            return 404, {"message": "Unknown Message", "code": 10008}
        problems = message_problems(body)
        if problems:
            self.problems += problems
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": problems}
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ([] if key != "content" else "")
                )
        message["flags"] &= ~LOADING
        message["edited_timestamp"] = TIMESTAMP
        return 200, copy.deepcopy(message)

    def channel_messages(self, channel: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel)]

    # --- gateway payloads ----------------------------------------------------------
    def user(self, user_id: int, name: str, *, global_name: str | None = None) -> dict[str, Any]:
        user = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
        }
        self.users[user_id] = user
        return user

    def dm_channel(self, user_id: int) -> int:
        return self.dm_channels.setdefault(user_id, next(self._ids))

    def slash(
        self,
        user: dict[str, Any],
        name: str,
        *,
        in_guild: bool,
        locale: str = "en-US",
        **options: str,
    ) -> dict[str, Any]:
        data = {
            "id": "990000000000000010",
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
        }
        return self._interaction(2, user, data, in_guild=in_guild, locale=locale)

    def message_menu(
        self,
        user: dict[str, Any],
        name: str,
        target: dict[str, Any],
        *,
        in_guild: bool,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        data = {
            "id": "990000000000000011",
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        return self._interaction(2, user, data, in_guild=in_guild, locale=locale)

    def click(
        self,
        user: dict[str, Any],
        message: dict[str, Any],
        custom_id: str,
        *,
        in_guild: bool = False,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": 2}
        return self._interaction(3, user, data, in_guild=in_guild, locale=locale, message=message)

    def submit(
        self,
        user: dict[str, Any],
        message: dict[str, Any],
        custom_id: str,
        fields: dict[str, str],
        *,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in fields.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return self._interaction(5, user, data, in_guild=False, locale=locale, message=message)

    def direct_message(self, user: dict[str, Any], content: str) -> dict[str, Any]:
        """A MESSAGE_CREATE for ``content`` typed by ``user`` in their DM with the bot."""
        message_id = next(self._ids)
        return {
            "id": str(message_id),
            "channel_id": str(self.dm_channel(int(user["id"]))),
            "author": user,
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }

    def _interaction(
        self,
        kind: int,
        user: dict[str, Any],
        data: dict[str, Any],
        *,
        in_guild: bool,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        interaction_id = next(self._ids)
        token = f"interaction-token-{interaction_id}"
        if message is not None:
            channel = int(message["channel_id"])
        else:
            channel = GUILD_CHANNEL_ID if in_guild else self.dm_channel(int(user["id"]))
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": "0",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel),
        }
        if in_guild:
            payload |= {
                "guild_id": str(GUILD_ID),
                "guild_locale": "en-US",
                "context": 0,
                "authorizing_integration_owners": {"0": str(GUILD_ID)},
                "member": {
                    "user": user,
                    "roles": [],
                    "joined_at": TIMESTAMP,
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": "0",
                },
                "channel": {
                    "id": str(channel),
                    "type": 0,
                    "guild_id": str(GUILD_ID),
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                },
            }
        else:
            payload |= {
                "context": 1,
                "authorizing_integration_owners": {"1": user["id"]},
                "user": user,
                "channel": {"id": str(channel), "type": 1, "recipients": [user]},
            }
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        message_id = int(message["id"]) if message is not None else None
        self.interactions[token] = Interaction(interaction_id, token, kind, channel, message_id)
        return payload

    # --- the gateway, for whole-process tests ----------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45000}})
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                break
            sent = json.loads(frame.data)
            op = sent.get("op")
            if op == 1:  # heartbeat
                await ws.send_json({"op": 11})
            elif op == 2:  # identify
                self.identified += 1
                ready = {
                    "v": 10,
                    "user": BOT_USER,
                    "guilds": [],
                    "session_id": "fake-session",
                    "resume_gateway_url": self.url.replace("http", "ws", 1) + "/gateway",
                    "application": {"id": str(APP_ID), "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                    "shard": sent["d"].get("shard", [0, 1]),
                }
                await ws.send_json({"op": 0, "t": "READY", "s": 1, "d": ready})
        return ws


def _json(status: int, data: Any) -> web.Response:
    # discord.py only parses a body whose Content-Type is exactly application/json.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


def message_problems(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    content = body.get("content")
    if content is not None:
        if utf16_length(content) > CONTENT_MAX:
            problems.append(f"content of {utf16_length(content)} characters")
        if body.get("allowed_mentions") != {"parse": []}:
            problems.append(
                f"allowed_mentions {body.get('allowed_mentions')!r} for {content[:60]!r}"
            )
    for embed in body.get("embeds") or []:
        if len(embed.get("title", "")) > EMBED_TITLE_MAX:
            problems.append("embed title too long")
        if len(embed.get("description", "")) > EMBED_DESCRIPTION_MAX:
            problems.append("embed description too long")
    rows = body.get("components") or []
    if len(rows) > ROWS_MAX:
        problems.append(f"{len(rows)} component rows")
    ids: list[str] = []
    for row in rows:
        buttons = row.get("components", [])
        if not 1 <= len(buttons) <= ROW_MAX:
            problems.append(f"a row of {len(buttons)} components")
        for button in buttons:
            custom_id, label = button.get("custom_id", ""), button.get("label", "")
            ids.append(custom_id)
            if not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
                problems.append(f"custom_id of {len(custom_id)} characters: {custom_id!r}")
            if utf16_length(label) > LABEL_MAX:
                problems.append(f"button label of {utf16_length(label)} characters")
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate custom_ids in one message: {ids}")
    return problems


def modal_problems(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not 1 <= len(data.get("title", "")) <= MODAL_TITLE_MAX:
        problems.append(f"modal title {data.get('title')!r}")
    if not 1 <= len(data.get("custom_id", "")) <= CUSTOM_ID_MAX:
        problems.append(f"modal custom_id {data.get('custom_id')!r}")
    for row in data.get("components", []):
        for item in row.get("components", [row.get("component", {})]):
            if len(item.get("label", "")) > INPUT_LABEL_MAX:
                problems.append(f"text input label {item.get('label')!r}")
            if len(item.get("placeholder", "")) > PLACEHOLDER_MAX:
                problems.append(f"text input placeholder {item.get('placeholder')!r}")
    return problems
