"""A fake Slack Web API on 127.0.0.1 for offline tests and benchmarks.

An aiohttp server answering ``/api/<method>`` the way Slack does (``{"ok": true, ...}``
with plausible bodies) and ``/respond/<id>`` as an interaction's ``response_url``. Every
call is recorded with its decoded arguments (``blocks`` and ``view`` as objects, whatever
the encoding), so tests can assert on exactly what the bot sent. A method can be made to
fail (``fail``) or to answer 429 with ``Retry-After`` a number of times (``rate_limit``).

For Socket Mode, ``apps.connections.open`` hands out ``ws://…/ws``: a WebSocket that says
hello, pushes the envelopes given to :meth:`FakeSlackApi.push` and records the acks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

TEAM = "T0001"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0001"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None = field(default=None, repr=False)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class User:
    locale: str = "en-US"
    real_name: str = "Sam Taylor"
    tz_offset: int = 0  # seconds east of UTC
    tz: str = "Atlantic/Reykjavik"  # the IANA name Slack gives with the offset (UTC all year)


class FakeSlackApi:
    def __init__(self, *, record: bool = True) -> None:
        self.record = record
        self.calls: list[Call] = []
        self.users: dict[str, User] = {}
        self._failures: dict[str, list[tuple[int, dict[str, Any] | None, dict[str, str]]]] = {}
        self.delays: dict[str, float] = {}  # method → seconds to wait before answering
        self.acks: list[dict[str, Any]] = []  # Socket Mode envelope acknowledgements
        # What auth.test reports in its x-oauth-scopes header: the scopes the install granted.
        self.scopes: list[str] = ["commands", "chat:write", "im:history", "im:write", "users:read"]
        # Called with (method, channel, message) for every message posted or updated.
        self.on_show: Callable[[str, str, dict[str, Any]], None] | None = None
        self._envelopes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ts = itertools.count(1)
        # What each channel shows now: ts → {"ts", "text", "blocks"}, in posting order.
        self.channels: dict[str, dict[str, dict[str, Any]]] = {}
        self._server: TestServer | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        app.router.add_get("/ws", self._socket)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """The Web API base URL (SLACK_API_URL)."""
        assert self._server is not None
        return str(self._server.make_url("/api/"))

    def response_url(self, name: str = "r") -> str:
        assert self._server is not None
        return str(self._server.make_url(f"/respond/{name}"))

    # --- scripting ------------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1, **details: Any) -> None:
        """Answer ``method`` with ``{"ok": false, "error": error, **details}`` the next
        ``times`` calls (``needed="im:write"`` for a missing scope)."""
        self._failures.setdefault(method, []).extend(
            [(200, {"ok": False, "error": error, **details}, {})] * times
        )

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer ``method`` with 429 and ``Retry-After`` the next ``times`` calls."""
        body = {"ok": False, "error": "ratelimited"}
        self._failures.setdefault(method, []).extend(
            [(429, body, {"Retry-After": str(retry_after)})] * times
        )

    def server_error(self, method: str, *, status: int = 503, times: int = 1) -> None:
        """Answer ``method`` with an HTTP server error (no JSON) the next ``times`` calls."""
        self._failures.setdefault(method, []).extend([(status, None, {})] * times)

    def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        self._envelopes.put_nowait(envelope)

    # --- reading the record ---------------------------------------------------------------

    def to(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Everything the bot showed, in order: posts, updates and responses."""
        shown = self.to("chat.postMessage", "chat.update", "chat.postEphemeral", "respond")
        return [c.args for c in shown if channel is None or c.args.get("channel") == channel]

    def shown(self, channel: str) -> list[dict[str, Any]]:
        """The messages a channel shows now (updates applied), oldest first."""
        return list(self.channels.get(channel, {}).values())

    def clear(self) -> None:
        self.calls.clear()

    # --- handlers -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = dict(request.query)
        args.update(await _decode(request))
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ") or None
        call = Call(method, args, token)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if self.record:
            self.calls.append(call)
        queued = self._failures.get(method)
        if queued:
            status, body, headers = queued.pop(0)
            if body is None:
                return web.Response(status=status, text="upstream unavailable")
            call.result = body
            return web.json_response(body, status=status, headers=headers)
        call.result = {"ok": True, **self._answer(method, args)}
        self._show(method, args, call.result)
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if method == "auth.test" else {}
        return web.json_response(call.result, headers=headers)

    async def _respond(self, request: web.Request) -> web.Response:
        if self.record:
            self.calls.append(
                Call("respond", {"url_id": request.match_info["id"], **await _decode(request)})
            )
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}
        )

        async def pushing() -> None:
            while True:
                await socket.send_json(await self._envelopes.get())

        pusher = asyncio.create_task(pushing())
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            pusher.cancel()
        return socket

    def _show(self, method: str, args: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        if method in ("chat.postMessage", "chat.update"):
            # A post to a user id lands in the DM with them (the channel Slack answers with).
            channel = self.channels.setdefault(str(result.get("channel")), {})
            ts = str(result["ts"])
            channel[ts] = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks") or []}
            if self.on_show is not None:
                self.on_show(method, str(result.get("channel")), channel[ts])

    def _answer(self, method: str, args: Mapping[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return {
                    "url": "https://example.slack.com/",
                    "team": "Example",
                    "user": "bot",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": BOT_ID,
                    "app_id": APP_ID,
                }
            case "conversations.open":
                return {"channel": {"id": "D" + str(args.get("users", "X"))}}
            case "chat.postMessage":
                ts = f"{1700000000 + next(self._ts)}.000100"
                return {
                    "channel": _dm(str(args.get("channel"))),
                    "ts": ts,
                    "message": {"text": args.get("text"), "blocks": args.get("blocks"), "ts": ts},
                }
            case "chat.update":
                return {
                    "channel": args.get("channel"),
                    "ts": args.get("ts"),
                    "text": args.get("text"),
                }
            case "chat.postEphemeral":
                return {"message_ts": f"{1700000000 + next(self._ts)}.000200"}
            case "users.info":
                uid = str(args.get("user"))
                user = self.users.get(uid, User())
                return {
                    "user": {
                        "id": uid,
                        "name": uid.lower(),
                        "real_name": user.real_name,
                        "locale": user.locale,
                        "tz_offset": user.tz_offset,
                        "tz": user.tz,
                        "profile": {"real_name": user.real_name, "display_name": ""},
                    }
                }
            case "apps.connections.open":
                assert self._server is not None
                return {"url": str(self._server.make_url("/ws")).replace("http://", "ws://")}
            case "views.publish":
                return {"view": {"id": "V0001", **(args.get("view") or {})}}
            case "oauth.v2.access":
                return {
                    "access_token": "xoxb-installed-token",
                    "token_type": "bot",
                    "scope": "commands,chat:write",
                    "bot_user_id": BOT_USER,
                    "app_id": APP_ID,
                    "team": {"id": "T0002", "name": "Second"},
                    "enterprise": None,
                    "is_enterprise_install": False,
                    "authed_user": {"id": "U0002"},
                }
        return {}


def _dm(channel: str) -> str:
    """Where a post to ``channel`` lands: a user id (U…, W…) means the DM with that user,
    the channel conversations.open gives for them."""
    return "D" + channel if channel[:1] in ("U", "W") else channel


async def _decode(request: web.Request) -> dict[str, Any]:
    """The request's arguments, with JSON-encoded form fields (blocks, view) decoded."""
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.post()
    args: dict[str, Any] = {}
    for key, value in form.items():
        text = str(value)
        if key in ("blocks", "view", "attachments") and text[:1] in "[{":
            args[key] = json.loads(text)
        else:
            args[key] = text
    return args
