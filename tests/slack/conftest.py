"""The Slack adapter under test: the real Bolt app behind its real aiohttp routes, driven
with signed requests, talking to a fake Web API on 127.0.0.1 that records every call.

:class:`Slack` plays the Slack side: it signs and sends slash commands, DM events, clicks
(built from the message as it is shown now, as Slack would) and shortcuts, then waits
until the bot's post-ack work is done. Every payload the bot sent is checked against
Block Kit's rules at teardown, and any error logged by Bolt or the adapter fails the test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bots.bootstrap import bootstrap
from bots.config import Settings
from bots.slack.app import SHORTCUT_CALLBACK, SlackBot
from bots.slack.blocks import COMMAND
from bots.slack.server import web_app
from core import controls
from core.actions import ControlKind as Kind
from core.controls import ControlRef
from core.memory_store import MemoryStore
from core.ports import Store
from tests.conftest import TODAY
from tests.fakes.slack_api import APP_ID, BOT_ID, BOT_USER, TEAM, FakeSlackApi
from tests.slack.payloads import check_payload, check_view

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token-9f8e7d"
USER = "U0001"
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 12, 0, tzinfo=UTC)


class ErrorLog(logging.Handler):
    """Collects ERROR records (and Bolt's warnings about requests nobody handled)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        unhandled = (
            record.name.startswith("slack_bolt") and "Unhandled request" in record.getMessage()
        )
        if record.levelno >= logging.ERROR or unhandled:
            self.records.append(record)


@pytest.fixture(autouse=True)
def bolt_errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    loggers = [
        logging.getLogger(n) for n in ("slack_bolt", "slack_sdk", "asyncio", "should_i_take_it")
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)
    assert not handler.records, "errors logged:\n" + "\n".join(
        f"{r.name}: {r.getMessage()}" for r in handler.records
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    fake = FakeSlackApi()
    await fake.start()
    yield fake
    await fake.close()
    for call in fake.calls:  # everything the bot showed obeys Block Kit's rules
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "respond"):
            check_payload(call.args)
        elif call.method in ("views.publish", "views.open"):
            check_view(call.args["view"])


class Slack:
    """The Slack side of the conversation."""

    def __init__(self, api: FakeSlackApi, bot: SlackBot, client: TestClient[Any, Any]) -> None:
        self.api, self.bot, self.client = api, bot, client
        self.q = bot.q
        self._n = 0

    # --- raw requests ---------------------------------------------------------------------

    async def send(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str = SECRET,
        settle: bool = True,
    ) -> ClientResponse:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
            **(headers or {}),
        }
        response = await self.client.post("/slack/events", data=body.encode(), headers=signed)
        await response.read()
        if settle:  # wait for the work after the ack, as a person waits for the reply
            assert await self.bot.work.wait(10), "the bot's work did not finish"
        return response

    async def send_form(self, fields: dict[str, str], **kw: Any) -> ClientResponse:
        return await self.send(urlencode(fields), "application/x-www-form-urlencoded", **kw)

    async def send_payload(self, payload: dict[str, Any], **kw: Any) -> ClientResponse:
        return await self.send_form({"payload": json.dumps(payload)}, **kw)

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:05d}"

    # --- what a person does ---------------------------------------------------------------

    async def command(
        self, text: str = "", *, user: str = USER, channel: str = "C0001", team: str = TEAM
    ) -> ClientResponse:
        return await self.send_form(
            {
                "token": "legacy",
                "team_id": team,
                "team_domain": "example",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": COMMAND,
                "text": text,
                "api_app_id": APP_ID,
                "response_url": self.api.response_url(self._id("cmd")),
                "trigger_id": self._id("trigger."),
            }
        )

    async def dm(
        self,
        text: str,
        *,
        user: str = USER,
        event_id: str | None = None,
        retry: int | None = None,
        **extra: Any,
    ) -> ClientResponse:
        event = {
            "type": "message",
            "channel": f"D{user}",
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "channel_type": "im",
            **extra,
        }
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else None
        )
        return await self.event(event, event_id=event_id, headers=headers)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        body = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        }
        return await self.send(json.dumps(body), "application/json", headers=headers)

    async def shortcut(
        self, text: str, *, user: str = USER, channel: str = "C0001"
    ) -> ClientResponse:
        return await self.send_payload(
            {
                "type": "message_action",
                "callback_id": SHORTCUT_CALLBACK,
                "token": "legacy",
                "action_ts": f"{time.time():.6f}",
                "trigger_id": self._id("trigger."),
                "response_url": self.api.response_url(self._id("shortcut")),
                "team": {"id": TEAM, "domain": "example"},
                "user": {"id": user, "name": user.lower()},
                "channel": {"id": channel, "name": "general"},
                "message_ts": "1699999999.000100",
                "message": {
                    "type": "message",
                    "user": "UCLIENT",
                    "ts": "1699999999.000100",
                    "text": text,
                },
            }
        )

    async def home(self, *, user: str = USER) -> ClientResponse:
        return await self.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": f"D{user}",
                "tab": "home",
                "event_ts": "1.2",
            }
        )

    async def click(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str = USER,
        channel: str | None = None,
        selected_date: str | None = None,
        where: str = "message",
        response_url: str | None = None,
    ) -> ClientResponse:
        """Click the element ``action_id`` of ``message`` (as shown in ``channel``).
        ``where``: a posted ``message``; an ``ephemeral`` one (Slack then sends no copy of
        the message, only where it is); the App Home's ``view`` (no channel, no message, no
        response_url). ``response_url``: the one the click carries (a fresh one if None)."""
        block, element = _find(message, action_id)
        action: dict[str, Any] = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": block.get("block_id"),
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
        if selected_date is not None:
            action["selected_date"] = selected_date
        channel = channel or f"D{user}"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "example"},
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": TEAM,
            },
            "api_app_id": APP_ID,
            "token": "legacy",
            "trigger_id": self._id("trigger."),
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "channel": {"id": channel, "name": "directmessage"},
            "message": {
                "type": "message",
                "user": BOT_USER,
                "bot_id": BOT_ID,
                "ts": message["ts"],
                "text": message["text"],
                "blocks": message["blocks"],
            },
            "response_url": response_url or self.api.response_url(self._id("click")),
            "actions": [action],
        }
        if where == "ephemeral":
            payload["container"]["is_ephemeral"] = True
            del payload["message"]
        elif where == "view":
            payload["container"] = {"type": "view", "view_id": "V0001"}
            payload["view"] = {"id": "V0001", "type": "home", "blocks": message["blocks"]}
            for gone in ("channel", "message", "response_url"):
                del payload[gone]
        return await self.send_payload(payload)

    # --- reading the DM -------------------------------------------------------------------

    def shown(self, user: str = USER) -> list[dict[str, Any]]:
        return self.api.shown(f"D{user}")

    def last(self, user: str = USER) -> dict[str, Any]:
        return self.shown(user)[-1]

    def question(self, user: str = USER) -> dict[str, Any]:
        """The newest message with buttons or a date picker."""
        return next(m for m in reversed(self.shown(user)) if refs(m))

    async def choose(
        self, value: str, *, kind: Kind = Kind.ANSWER, user: str = USER
    ) -> ClientResponse:
        """Click the button of the newest question whose reference has ``kind`` and ``value``."""
        message = self.question(user)
        action_id = next(a for a, r in refs(message).items() if r.kind is kind and r.value == value)
        return await self.click(message, action_id, user=user)

    async def pick_date(self, iso: str, *, user: str = USER) -> ClientResponse:
        message = self.question(user)
        action_id = next(a for a, r in refs(message).items() if r.kind is Kind.DATE)
        return await self.click(message, action_id, user=user, selected_date=iso)


def refs(message: dict[str, Any]) -> dict[str, ControlRef]:
    """The message's interactive elements: action_id → what it means."""
    found: dict[str, ControlRef] = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            ref = controls.decode(element["action_id"])
            if ref is not None:
                found[element["action_id"]] = ref
    return found


def _find(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no element {action_id!r} in the message")


class Clock:
    """A clock the test moves on (days pass between a decision and its reminder)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


async def open_slack(
    api: FakeSlackApi,
    store: Store,
    *,
    http: aiohttp.ClientSession | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
    **settings: Any,
) -> tuple[Slack, TestClient[Any, Any]]:
    """The bot behind a test server; ``http`` is the shared session production passes
    (Web API calls and response_url posts), None for Bolt's own per-call sessions."""
    options: dict[str, Any] = {
        "slack_bot_token": TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_url": api.url,
        **settings,
    }
    config = Settings(**options)
    app = await bootstrap(config, store=store, clock=clock)
    bot = SlackBot(app, config, http_session=http)
    await bot.start()
    client = TestClient(TestServer(web_app(bot), host="127.0.0.1"))
    await client.start_server()
    return Slack(api, bot, client), client


@pytest.fixture
async def slack(api: FakeSlackApi) -> AsyncIterator[Slack]:
    async with aiohttp.ClientSession() as http:
        harness, client = await open_slack(api, MemoryStore(), http=http)
        yield harness
        await client.close()
        await harness.bot.close()
