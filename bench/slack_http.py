"""Slack HTTP benchmark: N simulated users each hold a whole conversation through the real
endpoint, next to a minimal Bolt app measured the same way in the same run.

    python -m bench.slack_http [--users 50,200] [--stores memory,sqlite]

Each user sends a signed ``/should-i-take-it``, then clicks through the questions (one
user in five types an answer instead), as Slack would deliver them to ``POST
/slack/events``. The bot's Web API calls go to the fake Slack API on 127.0.0.1
(``tests/fakes/slack_api.py``). The minimal app acks every request and posts one message,
no more; its users send as many requests of the same shapes.

Figures per app and number of users: **ack** latency (request sent → HTTP response: what
Slack's 3-second deadline sees), **turn** latency (request sent → the bot's next message
reaches the Web API: what the person waits for), and turns/s over the whole run. The app
under test runs in a process of its own (``--serve``, as in production); the users and the
fake API share this one, so both apps face the same load generator and the ratio
ours/minimal is the figure to compare. ``run()`` returns the rows for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.slack_payloads import click_payload
from bots.bootstrap import bootstrap
from bots.config import Settings
from bots.slack.app import SlackBot
from bots.slack.ids import ActionRef, Kind
from bots.slack.server import web_app
from core.memory_store import MemoryStore
from core.ports import Store
from core.store import open_store
from tests.fakes.slack_api import TEAM, FakeSlackApi

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
DEADLINE = 80.0  # seconds for the whole run, whatever happens
TURN_TIMEOUT = 30.0
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# Button values to click after the command (a date for the date picker); ("type", text)
# answers by message. Together they reach five of the seven outcomes.
PATHS: list[list[str | tuple[str, str]]] = [
    ["skip", "yes", "yes", "yes"],
    ["skip", "yes", "no", "no", "no", "2027-03-15"],
    ["skip", "yes", "no", "yes", "timeline", "2027-03-15"],
    [("type", "Acme"), "yes", "yes", "no", "fee", ("type", "€650 per day")],
    ["skip", "no"],
]

Row = dict[str, Any]


@dataclass
class Timings:
    acks: list[float] = field(default_factory=list)
    turns: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


class Posts:
    """Counts chat.postMessage per channel and wakes whoever waits for the next one."""

    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.last: dict[str, dict[str, Any]] = {}
        self._changed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def seen(self, method: str, channel: str, message: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            self.count[channel] += 1
            if refs(message):
                self.last[channel] = message
            self._changed[channel].set()

    async def wait(self, channel: str, count: int) -> None:
        async with asyncio.timeout(TURN_TIMEOUT):
            while self.count[channel] < count:
                self._changed[channel].clear()
                await self._changed[channel].wait()


def refs(message: dict[str, Any]) -> dict[str, ActionRef]:
    found = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            ref = ActionRef.decode(element["action_id"])
            if ref is not None:
                found[element["action_id"]] = ref
    return found


class Client:
    """Signs and sends what Slack would, and times it."""

    def __init__(self, http: aiohttp.ClientSession, url: str, api: FakeSlackApi) -> None:
        self.http, self.url, self.api = http, url, api

    async def send(self, fields: dict[str, str]) -> float:
        return await self._post(urlencode(fields), "application/x-www-form-urlencoded")

    async def send_json(self, body: dict[str, Any]) -> float:
        return await self._post(json.dumps(body), "application/json")

    async def _post(self, body: str, content_type: str) -> float:
        """Sign ``body`` as Slack does and time the request until its answer is read."""
        stamp = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        }
        started = time.perf_counter()
        async with self.http.post(self.url, data=body, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        return time.perf_counter() - started

    def command(self, user: str) -> dict[str, str]:
        return {
            "command": "/should-i-take-it",
            "text": "",
            "user_id": user,
            "team_id": TEAM,
            "channel_id": "C0001",
            "api_app_id": "A0001",
            "response_url": self.api.response_url(user),
            "trigger_id": f"{user}.trigger",
        }

    def click(
        self, user: str, message: dict[str, Any], action_id: str, picked: str
    ) -> dict[str, str]:
        block = next(
            b
            for b in message["blocks"]
            if b["type"] == "actions" and any(e["action_id"] == action_id for e in b["elements"])
        )
        action: dict[str, Any] = {"action_id": action_id, "block_id": block["block_id"]}
        action |= {"type": "datepicker", "selected_date": picked} if picked else {"type": "button"}
        payload = click_payload(user, message, action, self.api.response_url(user))
        return {"payload": payload}

    def typed(self, user: str, text: str, n: int) -> dict[str, Any]:
        event = {
            "type": "message",
            "channel": f"D{user}",
            "user": user,
            "text": text,
            "channel_type": "im",
        }
        return {
            "type": "event_callback",
            "team_id": TEAM,
            "event_id": f"Ev{user}.{n}",
            "event": event,
        }


async def our_user(client: Client, posts: Posts, n: int, timings: Timings) -> None:
    user = f"U{n:05d}"
    channel = f"D{user}"
    expected = 1
    started = time.perf_counter()
    timings.acks.append(await client.send(client.command(user)))
    await posts.wait(channel, expected)
    timings.turns.append(time.perf_counter() - started)
    for step, value in enumerate(PATHS[n % len(PATHS)]):
        expected += 1
        started = time.perf_counter()
        if isinstance(value, tuple):
            timings.acks.append(await client.send_json(client.typed(user, value[1], step)))
        else:
            message = posts.last[channel]
            picks = refs(message)
            date = next((a for a, r in picks.items() if r.kind is Kind.DATE), None)
            action = date or next(
                a for a, r in picks.items() if r.kind is Kind.ANSWER and r.value == value
            )
            form = client.click(user, message, action, value if date else "")
            timings.acks.append(await client.send(form))
        await posts.wait(channel, expected)
        timings.turns.append(time.perf_counter() - started)


async def minimal_user(client: Client, posts: Posts, n: int, timings: Timings) -> None:
    """The same number of requests of the same shapes, each answered by one message."""
    user = f"U{n:05d}"
    channel = f"D{user}"
    expected = 1
    started = time.perf_counter()
    timings.acks.append(await client.send(client.command(user)))
    await posts.wait(channel, expected)
    timings.turns.append(time.perf_counter() - started)
    message = posts.last[channel]
    action = next(iter(refs(message)))
    for step, value in enumerate(PATHS[n % len(PATHS)]):
        expected += 1
        started = time.perf_counter()
        if isinstance(value, tuple):
            timings.acks.append(await client.send_json(client.typed(user, value[1], step)))
        else:
            timings.acks.append(await client.send(client.click(user, message, action, "")))
        await posts.wait(channel, expected)
        timings.turns.append(time.perf_counter() - started)


def minimal_app(client: AsyncWebClient) -> AsyncApp:
    """Acks, posts one message (with one button, so its users have something to click)."""
    app = AsyncApp(signing_secret=SECRET, client=client)
    button = {
        "type": "button",
        "action_id": ActionRef(Kind.HELP).encode(),
        "text": {"type": "plain_text", "text": "Go"},
    }
    blocks = [{"type": "actions", "block_id": "b", "elements": [button]}]

    async def reply(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body.get("user_id") or (body.get("user") or {}).get("id") or body["event"]["user"]
        await client.chat_postMessage(channel=f"D{user}", text="ok", blocks=blocks)

    app.command("/should-i-take-it")(reply)
    app.block_action(re.compile(".*"))(reply)
    app.event("message")(reply)
    return app


async def measure(name: str, users: int, app: str, store: str) -> list[Row]:
    """Run ``users`` conversations against ``app`` ("ours" or "minimal") served by a child
    process, and summarise the timings."""
    user_flow = our_user if app == "ours" else minimal_user
    async with AsyncExitStack() as stack:
        api = FakeSlackApi(record=False)
        await api.start()
        stack.push_async_callback(api.close)
        posts = Posts()
        api.on_show = posts.seen
        connector = aiohttp.TCPConnector(limit=0)
        http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        url = await stack.enter_async_context(served(app, store, api.url))
        client = Client(http, url, api)
        timings = Timings(started=time.perf_counter())
        await asyncio.gather(*(user_flow(client, posts, n, timings) for n in range(users)))
        timings.ended = time.perf_counter()
    return summary(name, users, timings)


@asynccontextmanager
async def served(app: str, store: str, api_url: str) -> AsyncIterator[str]:
    """The events URL of ``app`` running in a child process (stopped on the way out)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.slack_http", "--serve", app, "--port", str(port)),
        *("--api", api_url, "--stores", store),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"ready"
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()


async def serve(app: str, store: str, port: int, api_url: str) -> None:
    """The child process: serve ``app`` on 127.0.0.1:``port`` until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        build = ours if app == "ours" else minimal
        runner = web.AppRunner(await build(api_url, store, http, stack), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await stop.wait()


async def ours(
    api_url: str, store_kind: str, http: aiohttp.ClientSession, stack: AsyncExitStack
) -> web.Application:
    store: Store = MemoryStore()
    if store_kind == "sqlite":
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        store = await open_store(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        stack.push_async_callback(store.close)
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url)
    app = await bootstrap(settings, store=store, clock=lambda: NOW)
    bot = SlackBot(app, settings, http_session=http)
    stack.push_async_callback(bot.work.wait, 5)
    return web_app(bot)


async def minimal(
    api_url: str, store_kind: str, http: aiohttp.ClientSession, stack: AsyncExitStack
) -> web.Application:
    app = minimal_app(AsyncWebClient(token=TOKEN, base_url=api_url, session=http))

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    application = web.Application()
    application.router.add_post("/slack/events", events)
    return application


def summary(name: str, users: int, t: Timings) -> list[Row]:
    def row(metric: str, value: float, unit: str) -> Row:
        return {
            "bench": "slack_http",
            "metric": f"{name}.u{users}.{metric}",
            "value": round(value, 1),
            "unit": unit,
        }

    return [
        row("ack_p50", _pct(t.acks, 50) * 1000, "ms"),
        row("ack_p99", _pct(t.acks, 99) * 1000, "ms"),
        row("turn_p50", _pct(t.turns, 50) * 1000, "ms"),
        row("turn_p99", _pct(t.turns, 99) * 1000, "ms"),
        row("turns_per_s", len(t.turns) / (t.ended - t.started), "turns/s"),
    ]


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def run_async(users: tuple[int, ...], stores: tuple[str, ...]) -> list[Row]:
    rows: list[Row] = []
    async with asyncio.timeout(DEADLINE):
        for count in users:
            base = await measure("minimal", count, "minimal", "memory")
            rows += base
            for store in stores:
                mine = await measure(f"ours_{store}", count, "ours", store)
                rows += mine
                for a, b in zip(mine, base, strict=True):
                    metric = a["metric"].split(".")[-1]
                    value = a["value"] / b["value"] if b["value"] else float("nan")
                    name = f"ratio_{store}.u{count}.{metric}"
                    rows.append(
                        {
                            "bench": "slack_http",
                            "metric": name,
                            "value": round(value, 2),
                            "unit": "x",
                        }
                    )
    return rows


def run(
    users: tuple[int, ...] = (50, 200), stores: tuple[str, ...] = ("memory", "sqlite")
) -> list[Row]:
    return asyncio.run(run_async(users, stores))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--users", default="50,200", help="numbers of concurrent users, e.g. 50,200"
    )
    parser.add_argument(
        "--stores", default="memory,sqlite", help="our bot's stores: memory, sqlite"
    )
    parser.add_argument("--serve", choices=("ours", "minimal"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stores = tuple(args.stores.split(","))
    if args.serve:
        asyncio.run(serve(args.serve, stores[0], args.port, args.api))
        return
    rows = run(tuple(int(n) for n in args.users.split(",")), stores)
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        print(f"{r['metric']:<{width}}  {r['value']:>9}  {r['unit']}")


if __name__ == "__main__":
    main()
