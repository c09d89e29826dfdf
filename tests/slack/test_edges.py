"""Hardening of the HTTP edge (issue 12): odd but signed payload shapes."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bots.slack.blocks import COMMAND
from bots.slack.server import ClientFaults, server_options, web_app
from bots.slack.translate import conversation_key
from core.actions import ControlKind as Kind
from core.ports import StoreError
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.harness import held_connections
from tests.slack.conftest import NOW, TEAM, USER, Slack, open_slack, refs
from tests.slack.test_conversation import reach
from tests.test_locks import SlowStore

JSON = "application/json"

ODD_BODIES: list[dict[str, Any]] = [
    {"event": "x"},
    {"type": "url_verification", "event": "x", "challenge": "c"},
    {"type": "app_rate_limited", "event": 1},
    {"type": "event_callback", "event": "x"},
    {"type": "block_actions", "event": 1},
]


def shortcut(slack: Slack, **fields: Any) -> dict[str, Any]:
    body = {
        "type": "message_action",
        "callback_id": "should_i_take_it_message",
        "trigger_id": "t.1",
        "response_url": slack.api.response_url("odd"),
        "team": {"id": "T0001"},
        "user": {"id": "U0001"},
        "channel": {"id": "C0001"},
        "message": {"type": "message", "ts": "1.2", "text": "hello"},
    }
    return {k: v for k, v in (body | fields).items() if v is not None}


@pytest.mark.parametrize("body", ODD_BODIES, ids=json.dumps)
@pytest.mark.parametrize("as_form", [False, True], ids=["json", "payload"])
async def test_odd_signed_shapes_get_a_quick_4xx_or_2xx(
    slack: Slack, body: dict[str, Any], as_form: bool
) -> None:
    started = time.monotonic()
    if as_form:
        response = await slack.send_payload(body)
    else:
        response = await slack.send(json.dumps(body), JSON)
    assert response.status < 500, await response.text()
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "C0001"},
        {"message": "hello"},
        {"message": ["hello"]},
        {"response_url": None},
        {"channel": None},
        {"message": None},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
async def test_odd_shortcuts_get_a_quick_answer(slack: Slack, change: dict[str, Any]) -> None:
    started = time.monotonic()
    response = await slack.send_payload(shortcut(slack, **change))
    assert response.status < 500
    assert response.status != 404
    assert time.monotonic() - started < 1.0


# --- slow and faulty clients ------------------------------------------------------------------

SHORT = 0.5  # the test server's header and body timeouts (the real ones are a few seconds)


@pytest.fixture
async def strict(slack: Slack) -> AsyncIterator[TestServer]:
    """The same bot behind a server with short timeouts."""
    server = TestServer(web_app(slack.bot, body_timeout=SHORT), host="127.0.0.1")
    await server.start_server(**server_options(SHORT))
    yield server
    await server.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def dropped_after(reader: asyncio.StreamReader, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closed the connection, and what it said before."""
    started = time.monotonic()
    said = await asyncio.wait_for(reader.read(), limit)
    return time.monotonic() - started, said


async def test_slow_uploads_are_dropped_and_their_sockets_freed(strict: TestServer) -> None:
    before = open_fds()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    streams = [await asyncio.open_connection(strict.host, strict.port) for _ in range(8)]
    for _, writer in streams:
        writer.write(head)
    await asyncio.sleep(0.1)
    assert held_connections(strict.port) == 8
    assert open_fds() >= before + 16  # both ends of each connection are ours
    waits = await asyncio.gather(*(dropped_after(r, 10 * SHORT) for r, _ in streams))
    for seconds, said in waits:
        assert seconds < 3 * SHORT
        assert said.startswith(b"HTTP/1.1 408")
    for _, writer in streams:
        writer.close()
    await asyncio.sleep(0.05)
    assert held_connections(strict.port) == 0


async def test_a_connection_that_never_finishes_its_headers_is_dropped(
    strict: TestServer,
) -> None:
    reader, writer = await asyncio.open_connection(strict.host, strict.port)
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    seconds, said = await dropped_after(reader, 10 * SHORT)
    assert seconds < 3 * SHORT and said == b""
    writer.close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
async def test_client_faults_are_not_logged_as_errors(
    strict: TestServer, level: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_log = logging.getLogger("aiohttp.server")
    monkeypatch.setattr(server_log, "level", level)
    seen = Records()
    server_log.addHandler(seen)
    try:
        # A header far over aiohttp's limit, quoting the sender's bytes.
        reader, writer = await asyncio.open_connection(strict.host, strict.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nX-Long: " + b"SECRETBYTES" * 2000 + b"\r\n\r\n")
        _, said = await dropped_after(reader, 5)
        assert said.startswith(b"HTTP/1.") and b" 400 " in said[:20]
        writer.close()
        # A client going away in the middle of its upload.
        reader, writer = await asyncio.open_connection(strict.host, strict.port)
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        await asyncio.sleep(0.05)
        writer.transport.abort()
        await asyncio.sleep(0.1)
    finally:
        server_log.removeHandler(seen)
    assert all(r.levelno <= logging.DEBUG for r in seen.records), seen.records
    assert not any(r.exc_info for r in seen.records)
    assert not any("SECRETBYTES" in r.getMessage() for r in seen.records)
    if level == logging.DEBUG:
        assert any("LineTooLong" in r.getMessage() for r in seen.records)


# --- health ------------------------------------------------------------------------------------


async def test_a_healthz_storm_asks_the_database_about_once_a_second(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = 0
    real_ping = slack.bot.store.ping

    async def slow_ping() -> None:
        nonlocal pings
        pings += 1
        await asyncio.sleep(0.05)  # a database under load
        await real_ping()

    monkeypatch.setattr(slack.bot.store, "ping", slow_ping)
    started = time.monotonic()
    statuses = await asyncio.gather(*(status(slack, "/healthz") for _ in range(300)))
    seconds = time.monotonic() - started
    assert statuses.count(200) == 300
    assert pings <= 1 + int(seconds)  # one probe a second at most, shared by all callers
    # Readiness always asks, but concurrent checks share one question.
    before = pings
    assert await asyncio.gather(*(status(slack, "/readyz") for _ in range(20))) == [200] * 20
    assert 1 <= pings - before <= 3


async def status(slack: Slack, path: str) -> int:
    async with slack.client.get(path) as response:
        return response.status


async def test_healthz_turns_503_within_a_second_of_the_database_going_down(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await status(slack, "/healthz") == 200

    async def down() -> None:
        raise StoreError("gone")

    monkeypatch.setattr(slack.bot.store, "ping", down)
    started = time.monotonic()
    while await status(slack, "/healthz") == 200:
        assert time.monotonic() - started < 1.5
        await asyncio.sleep(0.05)
    assert await status(slack, "/healthz") == 503


# --- forget, confirmed once ------------------------------------------------------------------


def ticking(slack: Slack) -> None:
    """A clock that moves on (a microsecond a reading), as real ones do."""
    readings = itertools.count()
    slack.bot.session.clock = lambda: NOW + timedelta(microseconds=next(readings))


async def forget_confirmation(slack: Slack) -> tuple[dict[str, Any], str]:
    await slack.command("forget")
    confirm = slack.api.to("respond")[-1].args
    message = {"ts": "1.2", "text": confirm["text"], "blocks": confirm["blocks"]}
    forget = next(a for a, r in refs(message).items() if r.kind is Kind.FORGET)
    return message, forget


async def test_a_second_or_replayed_forget_deletes_nothing(slack: Slack) -> None:
    ticking(slack)
    key = conversation_key(TEAM, None, USER)
    await reach(slack, "accept")
    message, forget = await forget_confirmation(slack)
    await slack.click(message, forget, channel="C0001")
    assert slack.api.to("respond")[-1].args["text"] == slack.q.ui("en", "forgotten", count=1)

    await reach(slack, "accept")  # a decision made after the first forget
    assert len(await slack.bot.session.history(key)) == 1
    await slack.click(message, forget, channel="C0001")  # the same click, replayed
    said = slack.api.to("respond")[-1].args
    assert said["text"] == slack.q.ui("en", "forget_stale")
    assert said["replace_original"] is True
    assert len(await slack.bot.session.history(key)) == 1  # still there

    message, forget = await forget_confirmation(slack)  # asked again: works, once
    await slack.click(message, forget, channel="C0001")
    assert slack.api.to("respond")[-1].args["text"] == slack.q.ui("en", "forgotten", count=1)
    await slack.click(message, forget, channel="C0001")
    assert slack.api.to("respond")[-1].args["text"] == slack.q.ui("en", "forget_stale")


# --- contention -------------------------------------------------------------------------------


async def test_eight_concurrent_events_on_one_conversation_are_all_served(
    api: FakeSlackApi,
) -> None:
    store = SlowStore(seed=1)
    slack, client = await open_slack(api, store)
    try:
        await slack.command()
        before = len(slack.shown())
        responses = await asyncio.gather(*(slack.dm("restart") for _ in range(8)))
        assert [r.status for r in responses] == [200] * 8
        assert await slack.bot.work.wait(10)
        said = [m["text"] for m in slack.shown()[before:]]
        assert len(said) >= 8  # every one answered
        assert slack.q.ui("en", "error") not in said
        assert store.lost_races == 0
    finally:
        await client.close()


# --- redelivered commands ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "history", "forget"])
async def test_a_retried_or_replayed_command_is_handled_once(slack: Slack, text: str) -> None:
    fields = {
        "team_id": TEAM,
        "channel_id": "C0001",
        "user_id": USER,
        "command": COMMAND,
        "text": text,
        "response_url": slack.api.response_url("cmd"),
        "trigger_id": "trigger.once",
    }
    first = await slack.send_form(fields)
    calls = len(slack.api.calls)
    assert first.status == 200 and calls > 0
    retried = await slack.send_form(fields, headers={"X-Slack-Retry-Num": "1"})
    replayed = await slack.send_form(fields)  # the same signed body again, later
    assert retried.status == replayed.status == 200
    assert len(slack.api.calls) == calls  # nothing shown twice
    again = await slack.send_form(fields | {"trigger_id": "trigger.twice"})  # typed again
    assert again.status == 200 and len(slack.api.calls) > calls


async def test_a_replayed_shortcut_starts_once(slack: Slack) -> None:
    body = shortcut(slack)
    await slack.send_payload(body)
    posted = len(slack.shown())
    assert posted > 0
    await slack.send_payload(body)
    assert len(slack.shown()) == posted


# --- text quoted back --------------------------------------------------------------------------

INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"


def everything_shown(slack: Slack) -> str:
    return json.dumps([c.args for c in slack.api.calls], ensure_ascii=False)


async def test_invisible_characters_never_reach_the_quote(slack: Slack) -> None:
    request = f"Hi{INVISIBLE}, can you\u202e build it\u200b?\n\nThanks,\u2066 Ana"
    await slack.shortcut(request)
    quote = [
        e
        for m in slack.shown()
        for b in m["blocks"]
        if b["type"] == "rich_text"
        for e in b["elements"]
        if e["type"] == "rich_text_quote"
    ]
    assert quote and quote[0]["elements"][0]["text"] == "Hi, can you build it?\n\nThanks, Ana"
    shown = everything_shown(slack)
    assert not any(ch in shown for ch in INVISIBLE)


async def test_invisible_characters_in_command_text_never_reach_the_quote(slack: Slack) -> None:
    await slack.command("ACME\u202e wants\u200b a site")
    shown = everything_shown(slack)
    assert "ACME wants a site" in shown
    assert not any(ch in shown for ch in INVISIBLE)


async def test_typed_formatting_is_not_drawn_in_you_answered(slack: Slack) -> None:
    await slack.command()
    await slack.dm("_it_ ~st~ *b*")  # the client's name, typed
    await slack.choose("", kind=Kind.BACK)  # asked again, with "You answered: …" under it
    notes = [
        element
        for call in slack.api.calls
        if call.method in ("chat.update", "chat.postMessage")
        for block in call.args.get("blocks") or []
        if block["type"] == "context"
        for element in block["elements"]
        if "_it_" in element.get("text", "")
    ]
    assert notes, "no note echoes the typed answer"
    assert all(e["type"] == "plain_text" for e in notes)


def test_our_own_faults_stay_errors() -> None:
    """Only a client's fault is quietened: a refused database connection is ours."""
    try:
        raise ConnectionRefusedError("database")
    except ConnectionRefusedError as exc:
        record = logging.LogRecord(
            "aiohttp.server", logging.ERROR, "x", 1, "Error handling request", (), (None, exc, None)
        )
    assert ClientFaults().filter(record) and record.levelno == logging.ERROR and record.exc_info
