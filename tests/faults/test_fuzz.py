"""Whatever reaches ``POST /slack/events``, signed or not, the ``web`` process answers with
a 2xx (acked; the person gets a friendly message where they can see one) or a 4xx, never
a 5xx, never a stack trace; nothing crashes in the work after the ack; and the process is
healthy afterwards.

A hand-written table of nasty requests, then Hypothesis (a bounded number of examples)
on event callbacks, button clicks, slash commands and raw bytes. The fuzzed users have
conversations open, so fuzzed text really reaches the questionnaire.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bots.slack.blocks import COMMAND
from core import controls
from core.actions import ControlKind as Kind
from core.controls import ControlRef
from core.questionnaire import Questionnaire
from tests.fakes.slack_api import APP_ID, TEAM, FakeSlackApi
from tests.faults.harness import (
    RemoteSlack,
    WebProcess,
    fake_slack,
    signed,
    turn,
    unexpected_errors,
    until,
    users,
)

pytestmark = pytest.mark.postgres

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
LIMIT = 1024**2  # aiohttp's default largest body; beyond it a 413 is the right answer
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),  # the same examples on every CI run
    # No shrinking: a failing example can cost Bolt's 3-second ack wait, and shrinking
    # runs hundreds. The unshrunk example and the process's log say enough.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- one process for the whole module ----------------------------------------------------


@pytest.fixture(scope="module")
def api() -> Iterator[FakeSlackApi]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture(scope="module")
def web(
    api: FakeSlackApi, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebProcess]:
    process = WebProcess(api, pg_url, tmp_path_factory.mktemp("fuzz")).start()
    process.wait_healthy()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def people() -> list[str]:
    return users(3, "UF")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def slack(
    api: FakeSlackApi,
    web: WebProcess,
    people: list[str],
    questionnaire: Questionnaire,
    http: aiohttp.ClientSession,
) -> RemoteSlack:
    """The Slack side, with a conversation open for every fuzzed user."""
    slack = RemoteSlack(api, questionnaire, http)
    slack.point_at(web.url)
    for user in people:
        if not slack.shown(user):
            await turn(slack, user, slack.command(user=user))
    return slack


# --- sending anything ---------------------------------------------------------------------


async def post(
    http: aiohttp.ClientSession,
    web: WebProcess,
    body: bytes,
    content_type: str | None,
    *,
    sign: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    sent = {**(signed(body) if sign else {}), **(headers or {})}
    if content_type is not None:
        sent["Content-Type"] = content_type
    url = f"{web.url}/slack/events"
    limit = aiohttp.ClientTimeout(total=10)
    async with http.post(url, data=body, headers=sent, timeout=limit) as response:
        text = await response.text(errors="replace")
        return response.status, text


def assert_handled(status: int, text: str) -> None:
    assert 200 <= status < 300 or 400 <= status < 500, (status, text[:300])
    for leak in ("Traceback", 'File "', "Exception", "Error:"):
        assert leak not in text, text[:300]


def form(fields: dict[str, Any]) -> bytes:
    return urlencode(fields).encode()


def payload(value: Any) -> bytes:
    return form({"payload": json.dumps(value)})


def event_body(event: Any, **extra: Any) -> bytes:
    body = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event_id": f"EvFuzz{time.perf_counter_ns()}",
        "event": event,
        **extra,
    }
    return json.dumps(body).encode()


def dm(user: str, text: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": f"D{user}",
        "user": user,
        "text": text,
        "channel_type": "im",
        **extra,
    }


def command(user: str, respond: str, **fields: Any) -> dict[str, Any]:
    return {
        "team_id": TEAM,
        "channel_id": "C0001",
        "user_id": user,
        "command": COMMAND,
        "text": "",
        "response_url": respond,
        "trigger_id": "t.fuzz",
        **fields,
    }


def click(user: str, respond: str, action: Any, **fields: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": APP_ID,
        "container": {"type": "message", "message_ts": "1.2", "channel_id": f"D{user}"},
        "channel": {"id": f"D{user}"},
        "message": {"ts": "1.2", "text": "q", "blocks": []},
        "response_url": respond,
        "actions": [action],
        **fields,
    }


def button(user: str, ref: ControlRef, **fields: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": controls.encode(ref, user),
        "block_id": "sit:en:0",
        **fields,
    }


# --- the table ------------------------------------------------------------------------------


def without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in names}


@functools.cache
def nasty(user: str, respond: str) -> list[tuple[str, bytes, str | None]]:
    """(name, body, content type): requests no real Slack sends, and some it does."""
    yes = button(user, ControlRef(Kind.ANSWER, user, 1, "time", "yes"))
    date = button(user, ControlRef(Kind.DATE, user, 1, "free_from"))
    message = dm(user, "x")
    cmd = command(user, respond)
    ok_click = click(user, respond, yes)
    shortcut = {
        "type": "message_action",
        "callback_id": "should_i_take_it_message",
        "user": {"id": user},
        "team": {"id": TEAM},
        "channel": {"id": "C0001"},
        "message": {"type": "message", "text": "hello"},
        "response_url": respond,
    }
    events: list[tuple[str, bytes]] = [
        ("empty JSON", b""),
        ("malformed JSON", b'{"type": "event_callback", "event": {'),
        ("truncated event", event_body(dm(user, "hello"))[:-7]),
        ("JSON null", b"null"),
        ("JSON list", b"[1, 2, 3]"),
        ("JSON string", b'"event_callback"'),
        ("invalid UTF-8", b'{"type": "event_callback", "event": "\xff\xfe"}'),
        ("NUL in text", event_body(dm(user, "a\x00b"))),
        ("lone surrogate in text", event_body(dm(user, "\ud800x"))),
        ("event missing", event_body(None)),
        ("event a list", event_body([message])),
        ("event a string", event_body("message")),
        ("event type missing", event_body(without(message, "type"))),
        ("event type unknown", event_body({"type": "made_up_event", "user": user})),
        ("text a number", event_body(dm(user, 42))),
        ("text an object", event_body(dm(user, {"a": [1]}))),
        ("text null", event_body(dm(user, None))),
        ("user missing", event_body(without(message, "user"))),
        ("user a list", event_body(message | {"user": [user]})),
        ("channel missing", event_body(without(message, "channel"))),
        ("team missing", event_body(message, team_id=None)),
        ("team_id a number", event_body(message, team_id=1)),
        ("authorizations not a list", event_body(message, authorizations=False)),
        ("home tab without user", event_body({"type": "app_home_opened", "tab": "home"})),
        ("url_verification", b'{"type": "url_verification", "challenge": "c"}'),
        ("url_verification, no challenge", b'{"type": "url_verification"}'),
        ("unknown top-level type", b'{"type": "made_up"}'),
        ("markup typed", event_body(dm(user, "<!channel> <@U1> &lt;x&gt; *b* `c`"))),
        ("huge text (1 MB body)", event_body(dm(user, "x" * (LIMIT - 1000)))),
        ("over the body limit", event_body(dm(user, "x" * (LIMIT + 10)))),
        ("form sent as JSON", form(cmd)),
        # Odd but signed shapes Bolt's middleware choked on (issue 12): a 500 before.
        ("no type, event a string", b'{"event": "x"}'),
        ("url_verification with an event", b'{"type": "url_verification", "event": "x"}'),
        ("app_rate_limited, event a number", b'{"type": "app_rate_limited", "event": 1}'),
        ("authorizations of strings", event_body(message, authorizations=["x"])),
    ]
    forms: list[tuple[str, bytes]] = [
        ("form without fields", b""),
        ("form garbage", b"%%%&&&==="),
        ("command without user", form(without(cmd, "user_id"))),
        ("command without team", form(without(cmd, "team_id"))),
        ("command without response_url", form(without(cmd, "response_url"))),
        ("unknown command", form(cmd | {"command": "/something-else"})),
        ("command text huge", form(cmd | {"text": "w " * 200_000})),
        ("response_url unreachable", form(cmd | {"response_url": "http://127.0.0.1:9/x"})),
        ("response_url not a URL", form(cmd | {"response_url": "not a url"})),
        ("payload broken JSON", b"payload=%7Bbroken"),
        ("payload empty", b"payload="),
        ("payload null", payload(None)),
        ("payload a list", payload([1])),
        ("payload without type", payload({"user": {"id": user}})),
        ("payload unknown type", payload({"type": "made_up", "user": {"id": user}})),
        ("click, actions empty", payload(ok_click | {"actions": []})),
        ("click, action empty", payload(click(user, respond, {}))),
        ("click, actions a string", payload(ok_click | {"actions": "x"})),
        ("click, team a number", payload(ok_click | {"team": 1})),
        ("click, channel a number", payload(ok_click | {"channel": 1})),
        ("click, user missing", payload(without(ok_click, "user"))),
        ("click, user a string", payload(ok_click | {"user": user})),
        ("click, container a number", payload(ok_click | {"container": 1})),
        ("click, block_id a list", payload(click(user, respond, yes | {"block_id": [None]}))),
        ("click, message a boolean", payload(ok_click | {"message": False})),
        ("click, blocks of strings", payload(ok_click | {"message": {"ts": "1", "blocks": ["x"]}})),
        ("click, foreign action_id", payload(click(user, respond, {"action_id": "other:x"}))),
        (
            "click, bad version",
            payload(click(user, respond, yes | {"action_id": "sit:answer:time:x:"})),
        ),
        (
            "click, unknown kind",
            payload(click(user, respond, yes | {"action_id": "sit:zap:time:1:yes"})),
        ),
        (
            "click, unknown question",
            payload(
                click(user, respond, button(user, ControlRef(Kind.ANSWER, user, 1, "nope", "yes")))
            ),
        ),
        (
            "click, unknown choice",
            payload(
                click(
                    user, respond, button(user, ControlRef(Kind.ANSWER, user, 1, "time", "maybe"))
                )
            ),
        ),
        ("click, block_id junk", payload(click(user, respond, yes | {"block_id": "::::"}))),
        (
            "click, someone else's",
            payload(
                click(
                    user, respond, button("UOTHER", ControlRef(Kind.ANSWER, user, 1, "time", "yes"))
                )
            ),
        ),
        ("click, date not a date", payload(click(user, respond, date | {"selected_date": "soon"}))),
        (
            "click, 30 February",
            payload(click(user, respond, date | {"selected_date": "2027-02-30"})),
        ),
        (
            "click, tone unknown",
            payload(click(user, respond, button(user, ControlRef(Kind.TONE, user, 1, "", "rude")))),
        ),
        (
            "click, language unknown",
            payload(
                click(user, respond, button(user, ControlRef(Kind.LANGUAGE, user, 1, "", "xx")))
            ),
        ),
        ("click, no message", payload(without(ok_click, "message"))),
        ("click, nowhere", payload(without(ok_click, "container", "channel"))),
        ("click, blocks junk", payload(ok_click | {"message": {"ts": "1.2", "blocks": "x"}})),
        (
            "shortcut, no message",
            payload(
                {
                    "type": "message_action",
                    "callback_id": "should_i_take_it_message",
                    "user": {"id": user},
                    "team": {"id": TEAM},
                    "response_url": respond,
                }
            ),
        ),
        ("payload, no type, event a string", payload({"event": "x"})),
        ("payload, app_rate_limited", payload({"type": "app_rate_limited", "event": 1})),
        ("shortcut, channel a string", payload(shortcut | {"channel": "C0001"})),
        ("shortcut, message a string", payload(shortcut | {"message": "hello"})),
        ("shortcut, no response_url", payload(without(shortcut, "response_url"))),
        ("view submission", payload({"type": "view_submission", "user": {"id": user}, "view": {}})),
        ("JSON sent as form", event_body(message)),
    ]
    return [
        ("no content type", b"{}", None),
        ("text/plain", b"hello", "text/plain"),
        ("multipart, no boundary", b"--x\r\n", "multipart/form-data"),
        *((name, body, JSON) for name, body in events),
        *((name, body, FORM) for name, body in forms),
    ]


TABLE = [name for name, _, _ in nasty("U", "http://127.0.0.1:9/")]
# Logged when a response_url cannot be used: the adapter handles it, by design.
HANDLED = ("Unhandled request", "response_url failed")


class LogWatch:
    """Work after the ack is out of the response's sight: a listener that blew up only
    shows in the process's log. This reads what was logged since the last look."""

    def __init__(self, web: WebProcess) -> None:
        self.web = web
        self.mark()

    def mark(self) -> None:
        self.seen = len(self.web.log())

    async def assert_quiet(self, settle: float = 0.05) -> None:
        await asyncio.sleep(settle)  # the acked work of a fuzzed request takes a few ms
        added = self.web.log()[self.seen :]
        self.mark()
        assert unexpected_errors(added, also=HANDLED) == []


@pytest.fixture
def watch(web: WebProcess) -> LogWatch:
    return LogWatch(web)


@pytest.fixture(autouse=True)
async def still_healthy(web: WebProcess) -> AsyncIterator[None]:
    yield
    assert await asyncio.to_thread(web.health) == 200


@pytest.mark.parametrize("name", TABLE)
async def test_nasty_requests_are_acked_or_refused(
    name: str,
    slack: RemoteSlack,
    web: WebProcess,
    people: list[str],
    http: aiohttp.ClientSession,
    watch: LogWatch,
) -> None:
    cases = nasty(people[0], slack.api.response_url("fuzz"))
    ((_, body, content_type),) = [case for case in cases if case[0] == name]
    status, text = await post(http, web, body, content_type)
    assert_handled(status, text)
    if name == "over the body limit":
        assert status == 413
    if name == "url_verification":
        assert (status, json.loads(text)) == (200, {"challenge": "c"})
    await watch.assert_quiet(0.1)


async def test_a_megabyte_answer_gets_a_friendly_reprompt(
    slack: RemoteSlack, web: WebProcess, http: aiohttp.ClientSession
) -> None:
    (user,) = users(1, "UH")
    await turn(slack, user, slack.command(user=user))  # asks who the request is from
    before = slack.posts(user)
    length = LIMIT - 1000
    status, _ = await post(http, web, event_body(dm(user, "x" * length)), JSON)
    assert status == 200
    await until(lambda: slack.posts(user) > before, what="the reprompt")
    reprompt = slack.last(user)["text"]
    assert f"({length} characters)" in reprompt
    assert slack.q.question_text("en", "client") in reprompt
    assert len(reprompt) < 3000


async def test_a_click_on_a_live_question_with_a_mangled_message(
    slack: RemoteSlack, web: WebProcess, http: aiohttp.ClientSession, watch: LogWatch
) -> None:
    """The clicked message comes back with the click and the bot freezes it (buttons
    off): with a message Slack never sends, on a question that is really open, the click
    is refused or served, and nothing crashes after the ack."""
    mangled = [False, {"ts": "1", "blocks": ["x"]}, {"ts": "1", "blocks": [{"type": "actions"}]}]
    people = users(len(mangled), "UM")

    async def click_with(user: str, message: Any) -> None:
        await turn(slack, user, slack.command(user=user))
        question = slack.question(user)
        block, skip = next(
            (b, e)
            for b in question["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"].startswith("sit:a:")
        )
        action = {"type": "button", "action_id": skip["action_id"], "block_id": block["block_id"]}
        body = click(user, slack.api.response_url("fuzz"), action)
        body["container"]["message_ts"] = question["ts"]
        body["message"] = message
        status, text = await post(http, web, payload(body), FORM)
        assert_handled(status, text)

    watch.mark()
    await asyncio.gather(*(click_with(u, m) for u, m in zip(people, mangled, strict=True)))
    await watch.assert_quiet(0.3)


UNSIGNED = [
    ({}, "none"),
    ({"X-Slack-Request-Timestamp": str(int(time.time()))}, "no signature"),
    ({"X-Slack-Signature": "v0=00"}, "no timestamp"),
    (signed(b"other body"), "other body"),
    (signed(b"{}", secret="not-the-secret"), "other secret"),
    (signed(b"{}", stamp=int(time.time()) - 600), "stale"),
    ({"X-Slack-Request-Timestamp": "not a number", "X-Slack-Signature": "v0=00"}, "junk stamp"),
    ({"X-Slack-Request-Timestamp": "١٢٣", "X-Slack-Signature": "v0=00"}, "non-ASCII digits"),
]


@pytest.mark.parametrize(
    "headers",
    [
        *(pytest.param(headers, id=name) for headers, name in UNSIGNED),
    ],
)
async def test_unsigned_requests_are_refused(
    headers: dict[str, str], web: WebProcess, http: aiohttp.ClientSession, watch: LogWatch
) -> None:
    status, text = await post(http, web, b"{}", JSON, sign=False, headers=headers)
    assert status == 401
    assert_handled(status, text)
    await watch.assert_quiet()


# --- Hypothesis -----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Random Unicode, plus what st.text leaves out by default: lone surrogates, NUL, markup.
texts = st.text(max_size=300) | st.sampled_from(["\ud800", "a\x00b", "<!here>", "&amp;", " "])
words = st.sampled_from(["", "help", "fr", "en", "history", "forget", "aide", "historique", "skip"])
ids = st.text(min_size=1, max_size=12)


def encode(ref: ControlRef) -> str:
    try:
        return controls.encode(ref, ref.owner)
    except ValueError:  # an id the bot could never have made
        return "sit:h:U1:0::"


def or_junk(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy | anything


@FUZZ
@given(data=st.data())
async def test_fuzzed_events(
    data: st.DataObject,
    slack: RemoteSlack,
    web: WebProcess,
    people: list[str],
    http: aiohttp.ClientSession,
    watch: LogWatch,
) -> None:
    user = data.draw(st.sampled_from(people))
    # Mostly the shape of a DM or an App Home visit, with any field missing or of any type;
    # sometimes no object at all.
    event = data.draw(
        st.fixed_dictionaries(
            {"type": or_junk(st.sampled_from(["message", "app_home_opened", "app_mention"]))},
            optional={
                "user": or_junk(st.just(user) | ids),
                "channel": or_junk(st.just(f"D{user}") | ids),
                "channel_type": or_junk(st.sampled_from(["im", "channel", "mpim"])),
                "text": or_junk(texts | words),
                "subtype": or_junk(
                    st.sampled_from(["message_changed", "bot_message", "file_share"])
                ),
                "bot_id": anything,
                "tab": or_junk(st.sampled_from(["home", "messages"])),
                "ts": anything,
                "blocks": anything,
            },
        )
        | anything
    )
    extra = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "team_id": or_junk(ids),
                "event_id": anything,
                "authorizations": or_junk(st.lists(st.just({"team_id": TEAM}), max_size=2)),
            },
        )
    )
    watch.mark()
    status, text = await post(http, web, event_body(event, **extra), JSON)
    assert_handled(status, text)
    await watch.assert_quiet()


@FUZZ
@given(data=st.data())
async def test_fuzzed_clicks(
    data: st.DataObject,
    slack: RemoteSlack,
    web: WebProcess,
    people: list[str],
    http: aiohttp.ClientSession,
    watch: LogWatch,
) -> None:
    q = slack.q
    user = data.draw(st.sampled_from(people))
    ref = st.builds(
        ControlRef,
        st.sampled_from(list(Kind)),
        st.just(user),
        st.integers(min_value=-1, max_value=12),
        st.sampled_from([*q.questions, "", "nope"]) | st.text(max_size=10),
        st.sampled_from(["yes", "no", "skip", "timeline", "fee", "neither", "warm", "fr", ""])
        | texts,
    ).map(encode)
    # Mostly a real action (ours, or its ids mangled), with any field of any type.
    action = data.draw(
        st.fixed_dictionaries(
            {"action_id": or_junk(ref | ids)},
            optional={
                "block_id": or_junk(st.sampled_from(["sit:en:0", "sit:fr:1", "sit:xx"])),
                "type": or_junk(st.sampled_from(["button", "datepicker"])),
                "selected_date": or_junk(st.dates().map(str) | texts),
                "value": anything,
                "text": anything,
            },
        )
    )
    body = click(user, slack.api.response_url("fuzz"), action)
    # Any top-level field missing or replaced: objects of strings, or anything at all.
    objects = st.dictionaries(st.sampled_from(["id", "channel_id", "message_ts", "ts"]), ids)
    section = texts.map(lambda t: {"type": "section", "text": {"type": "mrkdwn", "text": t}})
    blocks = or_junk(st.lists(section | anything, max_size=3))
    message = st.fixed_dictionaries({}, optional={"ts": ids, "text": texts, "blocks": blocks})
    changes = {
        "team": or_junk(objects),
        "container": or_junk(objects),
        "channel": or_junk(objects),
        "message": or_junk(message),
        "user": or_junk(st.fixed_dictionaries({"id": or_junk(ids)})),
        "actions": or_junk(st.lists(anything)),
        "type": or_junk(ids),
    }
    for name in data.draw(st.sets(st.sampled_from(sorted(changes)), max_size=3)):
        if data.draw(st.booleans()):
            del body[name]
        else:
            body[name] = data.draw(changes[name])
    watch.mark()
    status, text = await post(http, web, payload(body), FORM)
    assert_handled(status, text)
    await watch.assert_quiet()


@FUZZ
@given(data=st.data())
async def test_fuzzed_commands(
    data: st.DataObject,
    slack: RemoteSlack,
    web: WebProcess,
    people: list[str],
    http: aiohttp.ClientSession,
    watch: LogWatch,
) -> None:
    user = data.draw(st.sampled_from(people))
    fields = command(user, slack.api.response_url("fuzz"), text=data.draw(words | texts))
    # Any field missing or replaced, but a response_url elsewhere than 127.0.0.1: the bot
    # would call it.
    changed = ["user_id", "team_id", "channel_id", "command", "text", "trigger_id"]
    for name in data.draw(st.sets(st.sampled_from(changed), max_size=3)):
        if data.draw(st.booleans()):
            del fields[name]
        else:
            fields[name] = data.draw(texts)
    raw = form({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
    watch.mark()
    status, text = await post(http, web, raw, FORM)
    assert_handled(status, text)
    await watch.assert_quiet()


@FUZZ
@given(
    body=st.binary(min_size=1, max_size=3000),
    content_type=st.sampled_from([JSON, FORM, "text/plain", "application/octet-stream", None]),
)
async def test_fuzzed_bytes(
    body: bytes,
    content_type: str | None,
    web: WebProcess,
    http: aiohttp.ClientSession,
    watch: LogWatch,
) -> None:
    watch.mark()
    status, text = await post(http, web, body, content_type)
    assert_handled(status, text)
    await watch.assert_quiet()


@FUZZ
@given(body=st.binary(min_size=1, max_size=3000), forged=st.booleans())
async def test_fuzzed_unsigned_bytes(
    body: bytes, forged: bool, web: WebProcess, http: aiohttp.ClientSession
) -> None:
    headers = signed(body, secret="not-the-secret") if forged else {}
    status, text = await post(http, web, body, JSON, sign=False, headers=headers)
    assert status == 401
    assert_handled(status, text)
