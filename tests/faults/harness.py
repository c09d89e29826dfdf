"""The fault suite's tools: real ``web`` processes, a fake Slack Web API that keeps serving
whatever the test's event loop is doing, and the Slack side of a conversation over HTTP.

* :class:`ThreadedFake` runs a fake (``tests/fakes``) on an event loop of its own in a
  daemon thread: a test can block, kill or restart the bot process and the fake still
  answers the bot's Web API calls.
* :class:`WebProcess` is ``python -m bots.cli slack --http --port N``: a real subprocess
  with its own environment and a log file (never a pipe, which a chatty DEBUG run could
  fill and stall).
* :class:`RemoteSlack` reuses :class:`tests.slack.conftest.Slack` (its payload builders
  and request signing) against a process over a real socket instead of an in-process app.
  Unlike the in-process harness it cannot see the bot's work after the ack, so the tests
  wait for what the fake API receives (:func:`turn`, :func:`until`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from bots.slack.translate import conversation_key
from core.actions import ControlKind as Kind
from core.engine import step
from core.events import Answer, Start
from core.ports import ConversationKey
from core.questionnaire import Questionnaire
from core.state import ConversationState
from tests.conftest import REPO
from tests.core.paths import PATHS
from tests.fakes.slack_api import TEAM, FakeSlackApi
from tests.slack.conftest import SECRET, Slack, refs

# A bot token that cannot be mistaken for a real one (real ones carry numeric ids).
TOKEN = "xoxb-test-faults"
# Variables of the developer's shell that must not leak into a process under test.
OUR_VARIABLES = ("SLACK_", "DISCORD_", "DATABASE_URL", "SIT_", "PROMPTS_DIR", "LOG_LEVEL", "PORT")
STARTUP_TIMEOUT = 30.0
TURN_TIMEOUT = 20.0


# --- a fake on a thread of its own -------------------------------------------------------


class _Fake(Protocol):
    async def start(self) -> Any: ...
    async def close(self) -> None: ...


F = TypeVar("F", bound=_Fake)


class ThreadedFake(Generic[F]):
    """Runs ``fake`` (started and closed on its own loop) in a daemon thread.

    Reading the fake's records from the test thread is safe enough: they are lists and
    dicts that the fake only appends to, and copying one is a single step under the GIL.
    """

    def __init__(self, fake: F) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.started: Any = None

    def __enter__(self) -> ThreadedFake[F]:
        self._thread.start()
        self.started = self.call(self.fake.start())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.call(self.fake.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextlib.contextmanager
def fake_slack(**options: Any) -> Iterator[FakeSlackApi]:
    with ThreadedFake(FakeSlackApi(**options)) as threaded:
        yield threaded.fake


# --- the bot as a real process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_environment(**settings: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(OUR_VARIABLES)}
    # Procfile commands call the console script: make this interpreter's bin/ win.
    path = f"{Path(sys.executable).parent}{os.pathsep}{kept.get('PATH', '')}"
    return {**kept, "PATH": path, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **settings}


def health(base_url: str) -> int | None:
    """The status of GET /healthz, None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class WebProcess:
    """One ``web`` process. ``start`` may be called again after a kill: same port, same
    database, a new process (what a platform does when a dyno dies)."""

    api: FakeSlackApi
    database_url: str
    workdir: Path
    log_level: str = "INFO"
    extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return base_environment(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=self.api.url,
            DATABASE_URL=self.database_url,
            LOG_LEVEL=self.log_level,
            **self.extra,
        )

    def start(self) -> WebProcess:
        log = self.workdir / f"web-{self.port}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bots.cli", "slack", "--http", "--port", str(self.port)],
                cwd=self.workdir,  # no stray .env
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the web process exited early:\n{self.log()}")
            if self.health() == 200:
                return
            time.sleep(0.05)
        raise AssertionError(f"/healthz never answered 200:\n{self.log()}")

    def health(self) -> int | None:
        return health(self.url)

    def kill(self) -> None:
        """kill -9: no shutdown code runs at all."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def held_connections(port: int) -> int:
    """Established TCP connections whose server end is ``port`` (the process's own
    descriptors also count its database pool, which comes and goes)."""
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                held += int(local.rsplit(":", 1)[1], 16) == port and state == "01"
    return held


# --- the Slack side, over HTTP -----------------------------------------------------------


class _HttpClient:
    """What :class:`Slack` needs of aiohttp's TestClient, over a real socket."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    def post(self, path: str, **kw: Any) -> Any:
        return self.http.post(self.base + path, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.http.get(self.base + path, **kw)


class _NoWait:
    """The bot's work runs in another process: the tests wait for its effects instead."""

    async def wait(self, timeout: float) -> bool:
        return True


class RemoteSlack(Slack):
    """:class:`Slack` over HTTP. Its event and trigger ids carry a random tag: delivery
    ids live in the shared database for minutes, and a second harness counting from 1
    again would be taken for a redelivery."""

    def __init__(self, api: FakeSlackApi, q: Questionnaire, http: aiohttp.ClientSession) -> None:
        super().__init__(api, SimpleNamespace(q=q, work=_NoWait()), _HttpClient(http, ""))  # type: ignore[arg-type]
        self.tag = secrets.token_hex(4)

    def point_at(self, url: str) -> None:
        self.client.base = url  # type: ignore[attr-defined]

    def _id(self, prefix: str) -> str:
        return super()._id(f"{prefix}{self.tag}.")

    def posts(self, user: str) -> int:
        """How many messages the bot has posted in ``user``'s DM."""
        return len(self.api.channels.get(f"D{user}", {}))


def users(count: int, prefix: str = "U") -> list[str]:
    """User ids no other test uses (the fault tests share one database)."""
    tag = secrets.token_hex(3).upper()
    return [f"{prefix}{tag}{i:03d}" for i in range(count)]


def key(user: str) -> ConversationKey:
    return conversation_key(TEAM, None, user)


async def until(
    check: Callable[[], bool], timeout: float = TURN_TIMEOUT, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def turn(
    slack: RemoteSlack, user: str, request: Awaitable[Any], timeout: float = TURN_TIMEOUT
) -> None:
    """Send ``request`` and wait until the bot posts its answer in the user's DM (it posts
    after saving, so the turn is then in the store)."""
    before = slack.posts(user)
    response = await request
    assert response.status == 200, response.status
    await until(lambda: slack.posts(user) > before, timeout, f"the bot's answer to {user}")


def signed(body: bytes, *, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for raw bytes (tests/slack's harness signs text only;
    invalid UTF-8 must be fuzzed too)."""
    ts = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


# --- conversations -----------------------------------------------------------------------


def today() -> date:
    """The bot processes' today (they run on the real clock, in UTC)."""
    return datetime.now(UTC).date()


def plan(q: Questionnaire, outcome: str) -> dict[str, str]:
    """question id → the answer that leads to ``outcome`` (each question comes once on
    a path, so an answer can be chosen from the question alone, wherever one resumes).
    Dates are a few months ahead of the real today, which the processes use."""
    later = (today() + timedelta(days=120)).isoformat()
    state, _ = step(q, None, Start(today=today()))
    chosen: dict[str, str] = {}
    for value in ["skip", *PATHS[outcome]]:
        assert state is not None
        if q.questions[state.step].input == "date":
            value = later
        chosen[state.step] = value
        state, _ = step(q, state, Answer(value, today=today()))
    assert state is not None and state.outcome == outcome
    return chosen


async def answer(slack: RemoteSlack, user: str, value: str, *, typed: bool = False) -> None:
    """Answer the newest question the way a person would: its button, the date picker, or
    a typed message (free text, or when ``typed``)."""
    if typed:
        await turn(slack, user, slack.dm(value, user=user))
        return
    question = slack.question(user)
    kinds = {(r.kind, r.value) for r in refs(question).values()}
    if (Kind.ANSWER, value) in kinds:
        await turn(slack, user, slack.choose(value, user=user))
    elif any(kind is Kind.DATE for kind, _ in kinds):
        await turn(slack, user, slack.pick_date(value, user=user))
    else:
        await turn(slack, user, slack.dm(value, user=user))


def expected_end(q: Questionnaire, chosen: dict[str, str]) -> ConversationState:
    """Where a plan ends, as the engine records it (answers, outcome, version)."""
    state, _ = step(q, None, Start(today=today()))
    while state is not None and state.status == "active":
        state, _ = step(q, state, Answer(chosen[state.step], today=today()))
    assert state is not None
    return state


def asked(message: dict[str, Any]) -> str | None:
    """The question a message asks (from its buttons), None for anything else."""
    return next(
        (r.question for r in refs(message).values() if r.kind in (Kind.ANSWER, Kind.DATE)), None
    )


def state_of(stored: Any) -> ConversationState:
    assert stored is not None, "the conversation is gone"
    return ConversationState.from_json(stored.data)


def log_records(text: str, *levels: str) -> list[str]:
    """The first line of every log record at one of ``levels`` (the format is
    ``<date> <time> LEVEL logger message``, see bots.bootstrap.configure_logging)."""
    found = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0][:2] == "20" and parts[2] in levels:
            found.append(line)
    return found


# Expected: the apology logged for a turn the store could not take, and Bolt noting at
# start-up that SLACK_BOT_TOKEN (which it reads from the environment by itself) is unused
# next to the adapter's own client.
_EXPECTED = ("store unavailable", "`token` will be unused")


def unexpected_errors(text: str, also: tuple[str, ...] = ()) -> list[str]:
    """Errors and warnings logged by a process, but for the expected ones (and ``also``)."""
    return [
        line
        for line in log_records(text, "WARNING", "ERROR", "CRITICAL")
        if not any(expected in line for expected in (*_EXPECTED, *also))
    ]
