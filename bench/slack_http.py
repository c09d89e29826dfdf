"""Slack HTTP benchmark: N simulated users each hold a whole conversation through the real
endpoint, next to a minimal Bolt app and a "floor" app measured the same way in the same run.

    python -m bench.slack_http [--users 50] [--rounds 3] [--apps minimal,floor,ours_sqlite,...]

Each user sends a signed ``/should-i-take-it``, then clicks through the questions (one
user in five types an answer instead), as Slack would deliver them to ``POST
/slack/events``. The bot's Web API calls go to the fake Slack API on 127.0.0.1
(``tests/fakes/slack_api.py``). The minimal app acks every request and posts one message,
no more; its users send as many requests of the same shapes.

Figures per app and number of users: **ack** latency (request sent → HTTP response: what
Slack's 3-second deadline sees), **turn** latency (request sent → the bot's next message
reaches the Web API: what the person waits for), and turns/s over the whole run.

The users' own ack latency also counts the load generator's delays: its one event loop
drives every user and the fake API, and at 200 users it is saturated itself (a minimal Bolt
app then shows an ack p99 over 300 ms). So a **probe**, a process of its own doing nothing
else, sends ``PROBE_RATE`` signed DMs a second (each from a new user, so each is a real
request the bot answers) on a fixed schedule during the run, and times their acks:
``probe_ack_p50`` / ``probe_ack_p99`` are the bot's ack latency under that load. The app
under test runs in a process of its own (``--serve``, as in production); the users and the
fake API share this one, so every app faces the same load generator.

The figure that measures the bot rather than the machine is **bot CPU per request**: the
user + system time of the app's process (all its threads), read from ``/proc/<pid>/stat``
after it is ready and again after the run, divided by the requests it answered. Load
generator, fake API and PostgreSQL do not count, nor does the machine's other tenants' load.

The apps, each in a fresh process:

- ``minimal``: Bolt, ack + one ``chat.postMessage`` per request;
- ``floor``: Bolt, ack + one raw ``sqlite3`` read and conditional write (on the event loop,
  the cheapest possible) + the Web API calls our bot makes for the same request (a click:
  ``chat.update`` and ``chat.postMessage``; a typed answer: the post; a command:
  ``users.info``, ``conversations.open``, the post and its ``response_url``): what any bot
  that keeps state must at least spend;
- ``ours_sqlite`` (the default), ``ours_postgresql``, ``ours_memory``: the real bot.
- ``direct_sqlite``, ``direct_postgresql``: the real bot without its inbox and outbox
  (``SlackBot(durable=False)``: ack, then work and send), to measure what they cost in
  the same run (``--apps direct_sqlite,ours_sqlite``).

Configurations alternate A B C … A B C … over ``--rounds`` rounds, and each figure is
printed as the min and the median over the rounds. ``run()`` returns the rows for
``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
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
import asyncpg
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.slack_payloads import click_payload
from bots.bootstrap import bootstrap, configure_logging, run_service, settle_heap
from bots.config import Settings
from bots.slack.app import SlackBot
from bots.slack.server import web_app
from core import controls
from core.actions import ControlKind as Kind
from core.controls import ControlRef
from core.memory_store import MemoryStore
from core.ports import Store
from core.store import open_store
from tests.fakes.slack_api import TEAM, FakeSlackApi

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
DEADLINE = 300.0  # seconds for the whole run, whatever happens
USERS = (50,)
ROUNDS = 5  # the issue asks for 3; CPU time is noisy enough here to want more
APPS = ("minimal", "floor", "ours_sqlite", "ours_postgresql", "ours_memory")
DIRECT = ("direct_sqlite", "direct_postgresql")  # not run unless named
# After the rounds: the default set-up under a heavier load, for its ack tail, and the
# minimal app under the same load, to compare with.
CROWD = (("ours_sqlite", "minimal"), 200)
# The crowd's runs, alternated between its apps, each user going through CROWD_EACH
# conversations: one conversation each lasts under 2 s, which gives the probe ~35 acks and
# a "p99" that is its maximum. The percentiles are of every run's acks.
CROWD_ROUNDS = 3
CROWD_EACH = 4
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROBE_RATE = 20.0  # the probe's requests per second, whatever the acks' latency
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


def refs(message: dict[str, Any]) -> dict[str, ControlRef]:
    found = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            ref = controls.decode(element["action_id"])
            if ref is not None:
                found[element["action_id"]] = ref
    return found


class Client:
    """Signs and sends what Slack would, and times it."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, api: FakeSlackApi | None = None
    ) -> None:
        self.http, self.url, self._fake_api = http, url, api

    @property
    def api(self) -> FakeSlackApi:
        assert self._fake_api is not None, "commands and clicks carry the fake API's URLs"
        return self._fake_api

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


def _user_of(body: dict[str, Any]) -> str:
    return str(body.get("user_id") or (body.get("user") or {}).get("id") or body["event"]["user"])


BUTTON = {
    "type": "button",
    "action_id": controls.encode(ControlRef(Kind.HELP, "U1"), "U1"),
    "text": {"type": "plain_text", "text": "Go"},
}
BLOCKS = [{"type": "actions", "block_id": "b", "elements": [BUTTON]}]


def minimal_app(client: AsyncWebClient) -> AsyncApp:
    """Acks, posts one message (with one button, so its users have something to click)."""
    app = AsyncApp(signing_secret=SECRET, client=client)

    async def reply(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_postMessage(channel=f"D{_user_of(body)}", text="ok", blocks=BLOCKS)

    _listen(app, reply)
    return app


MOVED = {"response_type": "ephemeral", "text": "I've sent you a direct message."}
FLOOR_STATE = json.dumps({"step": "time", "answers": {"client": "Acme"}, "pad": "x" * 520})


def floor_app(client: AsyncWebClient, db: sqlite3.Connection) -> AsyncApp:
    """Acks, reads and conditionally writes one row with raw sqlite3, and makes the Web API
    calls our bot makes for the same request: the least a bot that keeps each user's state
    must do. A click: freeze it, post the next question. A typed answer: post. A command:
    the user's time zone and locale (``users.info``), the DM (``conversations.open``), the
    post, and "continue in our DM" to its ``response_url`` (on the shared session, as ours)."""
    app = AsyncApp(signing_secret=SECRET, client=client)

    async def reply(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = _user_of(body)
        row = db.execute("SELECT data, version FROM state WHERE key = ?", (user,)).fetchone()
        db.execute("BEGIN IMMEDIATE")
        if row is None:
            db.execute(
                "INSERT INTO state VALUES (?, ?, 1) ON CONFLICT DO NOTHING", (user, FLOOR_STATE)
            )
        else:
            db.execute(
                "UPDATE state SET data = ?, version = ? WHERE key = ? AND version = ?",
                (row[0], row[1] + 1, user, row[1]),
            )
        db.execute("COMMIT")
        channel = f"D{user}"
        if "command" in body:
            await client.users_info(user=user)
            await client.conversations_open(users=user)
        elif "actions" in body:
            await client.chat_update(channel=channel, ts="1700000000.000100", text="frozen")
        await client.chat_postMessage(channel=channel, text="ok", blocks=BLOCKS)
        if "command" in body:
            assert client.session is not None
            async with client.session.post(body["response_url"], json=MOVED) as answered:
                await answered.read()

    _listen(app, reply)
    return app


def _listen(app: AsyncApp, reply: Any) -> None:
    app.command("/should-i-take-it")(reply)
    app.block_action(re.compile(".*"))(reply)
    app.event("message")(reply)


@dataclass
class Run:
    rows: dict[str, float]  # metric → value
    requests: int
    cpu_s: float
    probed: list[float] = field(default_factory=list)  # the probe's ack latencies (s)


async def measure(app: str, users: int, each: int = 1) -> Run:
    """Run ``users`` users against ``app`` served by a child process, each through ``each``
    conversations one after the other (a new user id each time); the timings and the CPU
    the child spent on them. Every run starts from an empty database."""
    user_flow = our_user if app.startswith(("ours", "direct")) else minimal_user
    async with AsyncExitStack() as stack:
        pg_url = await stack.enter_async_context(pg_database(app.endswith("_postgresql")))
        api = FakeSlackApi(record=False)
        await api.start()
        stack.push_async_callback(api.close)
        posts = Posts()
        api.on_show = posts.seen
        connector = aiohttp.TCPConnector(limit=0)
        http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        url, pid = await stack.enter_async_context(served(app, api.url, pg_url))
        client = Client(http, url, api)
        cpu_before = cpu_seconds(pid)
        async with probing(url) as probed:
            timings = Timings(started=time.perf_counter())

            async def one_after_another(n: int) -> None:
                for k in range(each):
                    await user_flow(client, posts, n + k * users, timings)

            await asyncio.gather(*(one_after_another(n) for n in range(users)))
            timings.ended = time.perf_counter()
        # Work acked but still running shows as the next post, which every turn waited for.
        cpu = cpu_seconds(pid) - cpu_before
    figures = summary(timings)
    if len(probed) >= 2:
        figures |= {
            "probe_ack_p50": _pct(probed, 50) * 1000,
            "probe_ack_p99": _pct(probed, 99) * 1000,
        }
    return Run(figures, len(timings.acks) + len(probed), cpu, probed)


@asynccontextmanager
async def probing(url: str) -> AsyncIterator[list[float]]:
    """A probe process sending signed DMs to ``url`` while the block runs; the list of
    their ack latencies (s) is filled in on the way out."""
    probed: list[float] = []
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.slack_http", "--probe", url),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"ready"
        yield probed
        child.stdin.close()  # the probe's signal to stop and report
        async with asyncio.timeout(30):
            probed += json.loads(await child.stdout.read())
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def probe(url: str, rate: float) -> None:
    """The probe process: a signed DM from a new user every ``1 / rate`` s (on schedule,
    not after the last answer) until stdin closes; then the acks' latencies, as JSON."""
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    latencies: list[float] = []
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        client = Client(http, url)

        async def one(n: int) -> None:
            body = client.typed(f"P{os.getpid()}x{n}", "hello", 0)
            # A refused or failed probe has no latency to report.
            with contextlib.suppress(AssertionError, aiohttp.ClientError, OSError):
                latencies.append(await client.send_json(body))

        async def until_closed() -> None:
            await reader.read()
            closed.set()

        watcher = asyncio.create_task(until_closed())
        print("ready", flush=True)
        n, started = 0, loop.time()
        while not closed.is_set():
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(started + n / rate):
                    await closed.wait()
        if pending:
            await asyncio.wait(pending, timeout=10)
        watcher.cancel()
    sys.stdout.write(json.dumps(latencies))
    sys.stdout.flush()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


@asynccontextmanager
async def served(app: str, api_url: str, pg_url: str | None) -> AsyncIterator[tuple[str, int]]:
    """The events URL and pid of ``app`` running in a child process (stopped on the way
    out)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.slack_http", "--serve", app, "--port", str(port)),
        *("--api", api_url, *(("--db", pg_url) if pg_url else ())),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"ready"
        yield f"http://127.0.0.1:{port}/slack/events", child.pid
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()


async def serve(app: str, port: int, api_url: str, db: str | None) -> None:
    """The child process: serve ``app`` on 127.0.0.1:``port`` until SIGTERM."""
    async with listening(app, port, api_url, db) as stop:
        print("ready", flush=True)
        await stop.wait()


@asynccontextmanager
async def listening(
    app: str, port: int, api_url: str, db: str | None
) -> AsyncIterator[asyncio.Event]:
    """``app`` served on 127.0.0.1:``port`` while the block runs; the event SIGTERM sets.
    Logging as in production (INFO: our bot writes a line per turn), into /dev/null, and the
    start-up heap frozen as production's main does, for every app alike."""
    log_as_in_production()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        if app.startswith(("ours_", "direct_")):
            kind, store_kind = app.split("_", 1)
            application = await ours(api_url, store_kind, db, http, stack, kind == "ours")
        else:
            application = await bolt_only(api_url, app, http, stack)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        settle_heap()
        yield stop


def log_as_in_production() -> None:
    """Production's logging (``bots.slack.main``: INFO and up), written to /dev/null."""
    # Open for the process's whole life: the log handler holds it.
    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115


async def ours(
    api_url: str,
    store_kind: str,
    db: str | None,
    http: aiohttp.ClientSession,
    stack: AsyncExitStack,
    durable: bool = True,
) -> web.Application:
    store: Store = MemoryStore()
    if store_kind != "memory":
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        url = db if store_kind == "postgresql" else f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        store = await open_store(url)
        stack.push_async_callback(store.close)
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api_url)
    app = await bootstrap(settings, store=store, clock=lambda: NOW)
    bot = SlackBot(app, settings, http_session=http, durable=durable)
    stack.push_async_callback(bot.work.wait, 5)
    return web_app(bot)


async def bolt_only(
    api_url: str, app_name: str, http: aiohttp.ClientSession, stack: AsyncExitStack
) -> web.Application:
    client = AsyncWebClient(token=TOKEN, base_url=api_url, session=http)
    if app_name == "floor":
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        db = sqlite3.connect(Path(folder) / "floor.sqlite3", isolation_level=None)
        stack.callback(db.close)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, data TEXT, version INTEGER)")
        app = floor_app(client, db)
    else:
        app = minimal_app(client)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    application = web.Application()
    application.router.add_post("/slack/events", events)
    return application


def summary(t: Timings) -> dict[str, float]:
    return {
        "ack_p50": _pct(t.acks, 50) * 1000,
        "ack_p99": _pct(t.acks, 99) * 1000,
        "turn_p50": _pct(t.turns, 50) * 1000,
        "turn_p99": _pct(t.turns, 99) * 1000,
        "turns_per_s": len(t.turns) / (t.ended - t.started),
    }


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


UNITS = {"cpu_ms_per_request": "ms", "turns_per_s": "turns/s"}


def _row(metric: str, value: float, unit: str) -> Row:
    return {"bench": "slack_http", "metric": metric, "value": round(value, 2), "unit": unit}


def report(users: int, runs: dict[str, list[Run]]) -> list[Row]:
    """Min and median over the rounds per app; ratios of medians to the floor and minimal."""
    rows: list[Row] = []
    medians: dict[tuple[str, str], float] = {}
    for app, done in runs.items():
        figures: dict[str, list[float]] = defaultdict(list)
        for run in done:
            figures["cpu_ms_per_request"].append(run.cpu_s * 1000 / run.requests)
            for metric, value in run.rows.items():
                figures[metric].append(value)
        for metric, values in figures.items():
            unit = UNITS.get(metric, "ms")
            medians[app, metric] = statistics.median(values)
            # For turns/s the best round is the max; "min" keeps its meaning of the best.
            best = max(values) if metric == "turns_per_s" else min(values)
            rows.append(_row(f"{app}.u{users}.{metric} (best)", best, unit))
            rows.append(_row(f"{app}.u{users}.{metric} (median)", medians[app, metric], unit))
    for app in runs:
        direct = app.replace("ours_", "direct_")
        if app.startswith("ours_") and direct in runs:  # what the inbox and outbox cost
            for metric in ("turns_per_s", "ack_p99", "turn_p99", "cpu_ms_per_request"):
                ratio = medians[app, metric] / medians[direct, metric]
                rows.append(_row(f"{app}.u{users}.{metric} / {direct}'s", ratio, "x"))
        for base in ("floor", "minimal"):
            if app == base or base not in runs or not app.startswith("ours"):
                continue
            mine, theirs = medians[app, "cpu_ms_per_request"], medians[base, "cpu_ms_per_request"]
            rows.append(_row(f"{app}.u{users}.cpu per request / {base}'s", mine / theirs, "x"))
    if "floor" in runs and "minimal" in runs:
        ratio = medians["floor", "cpu_ms_per_request"] / medians["minimal", "cpu_ms_per_request"]
        rows.append(_row(f"floor.u{users}.cpu per request / minimal's", ratio, "x"))
    return rows


async def pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def pg_database(wanted: bool) -> AsyncIterator[str | None]:
    """A throw-away database (its URL) for a benchmark; None when the server is away."""
    if not wanted:
        yield None
        return
    # Each run its own database: users of an earlier run would resume their conversations.
    name = f"sit_bench_{secrets.token_hex(6)}"
    try:
        await pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL skipped: {exc!r}", file=sys.stderr)
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_async(
    users: tuple[int, ...], rounds: int, apps: tuple[str, ...], crowd: bool = True
) -> list[Row]:
    rows: list[Row] = []
    async with asyncio.timeout(DEADLINE):
        playing = list(apps)
        if any(app.endswith("_postgresql") for app in apps):
            async with pg_database(True) as pg_url:
                if pg_url is None:
                    playing = [app for app in playing if not app.endswith("_postgresql")]
        for count in users:
            runs: dict[str, list[Run]] = {app: [] for app in playing}
            for _ in range(rounds):
                for app in playing:  # A B C … A B C …: drift hits every app alike
                    runs[app].append(await measure(app, count))
            rows += report(count, runs)
        crowd_apps, count = CROWD if crowd else ((), 0)
        crowds = [app for app in crowd_apps if app in playing and count not in users]
        crowd_runs: dict[str, list[Run]] = {app: [] for app in crowds}
        for _ in range(CROWD_ROUNDS):
            for app in crowds:
                crowd_runs[app].append(await measure(app, count, CROWD_EACH))
        for app, done in crowd_runs.items():
            rows += crowd_report(app, count, done)
    return rows


def crowd_report(app: str, users: int, runs: list[Run]) -> list[Row]:
    """The crowd's figures: the probe's ack percentiles over every run's acks, the rest as
    the median of the runs."""
    probed = [latency for run in runs for latency in run.probed]
    rows = []
    if len(probed) >= 2:
        for pct in (50, 99):
            rows.append(_row(f"{app}.u{users}.probe_ack_p{pct}", _pct(probed, pct) * 1000, "ms"))
        rows.append(_row(f"{app}.u{users}.probe acks timed", len(probed), "acks"))
    for metric in ("ack_p50", "ack_p99", "turn_p99", "turns_per_s"):
        median = statistics.median(run.rows[metric] for run in runs)
        rows.append(
            _row(
                f"{app}.u{users}.{metric} (median of {len(runs)})", median, UNITS.get(metric, "ms")
            )
        )
    return rows


def run(
    users: tuple[int, ...] = USERS,
    rounds: int = ROUNDS,
    apps: tuple[str, ...] = APPS,
    crowd: bool = True,
) -> list[Row]:
    """The rows for ``bench/run_all.py``; ``crowd=False`` leaves out the 200-user runs."""
    return asyncio.run(run_async(users, rounds, apps, crowd))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", default="50", help="numbers of concurrent users, e.g. 50,200")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--apps", default=",".join(APPS), help=f"some of {', '.join(APPS + DIRECT)}"
    )
    parser.add_argument("--serve", choices=APPS + DIRECT, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        asyncio.run(probe(args.probe, PROBE_RATE))
        return
    if args.serve:
        # On production's event loop (uvloop where installed), for every app alike.
        run_service(serve(args.serve, args.port, args.api, args.db))
        return
    started = time.perf_counter()
    rows = run(
        tuple(int(n) for n in args.users.split(",")), args.rounds, tuple(args.apps.split(","))
    )
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        print(f"{r['metric']:<{width}}  {r['value']:>9}  {r['unit']}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
