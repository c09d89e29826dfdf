"""Scale-out benchmark: two ``web`` processes sharing PostgreSQL against one, in the same run.

    python -m bench.scale_out [--users 100] [--rounds 3]

Each ``web`` is the real ``should-i-take-it slack --http`` in a process of its own, on a
throw-away PostgreSQL database (``BENCH_PG_ADMIN_URL`` names another server's admin
database). Their Web API calls go to the fake Slack API (``tests/fakes/slack_api.py``),
run in a third process so that it does not share a core's time slices with the load
generator; it tells the load generator what each DM shows over a WebSocket feed.

The load generator (this process) plays ``--users`` people at once, each holding a whole
conversation: a signed slash command, then button clicks (one answer in five typed as a
DM event). Requests are spread round-robin over the processes, request by request, as a
load balancer does: any process serves any turn because conversations live in the store.
A turn ends when the bot's next message reaches the fake API. Figures: turns/s with 1 and
with 2 processes, alternated over ``--rounds`` (the best of each kept), their ratio, and the
CPU each part of the system used, to see what the 2 cores were busy with.

This machine has 2 cores for everything (bots, PostgreSQL, fake API, load generator), so
two bot processes cannot get two cores to themselves. To measure the design rather than
the spare cores, each ``web`` process is put in a cgroup of its own capped at ``--quota``
of a core (a quarter by default: two quarters leave room for the rest), through cgroup v2
``cpu.max`` or v1 ``cpu.cfs_quota_us``, whichever this machine lets us write; without
either the run is uncapped and says so. ``run()`` returns the rows for
``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import secrets
import signal
import socket
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from bench.slack_payloads import TEAM, click_payload  # noqa: E402
from core import controls  # noqa: E402
from core.actions import ControlKind as Kind  # noqa: E402
from core.controls import ControlRef  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"  # a fake: real bot tokens carry numeric ids
USERS = 100
ROUNDS = 5  # one round of each moved the ratio by ±10 % here: the best of five of each
QUOTA = 0.25  # of a core, per web process
CFS_PERIOD_US = 100_000
WARMUP_USERS = 10
RUN_TIMEOUT = 45.0  # seconds for one measured run, whatever happens
TURN_TIMEOUT = 30.0
# Button values after the command (a date for the date picker: some months ahead of the
# real today, which the bot runs on); ("type", text) is sent as a DM event instead. Five
# of the seven outcomes.
LATER = (datetime.now(UTC).date() + timedelta(days=120)).isoformat()
PATHS: list[list[str | tuple[str, str]]] = [
    ["skip", "yes", "yes", "yes"],
    ["skip", "yes", "no", "no", "no", LATER],
    ["skip", "yes", "no", "yes", "timeline", LATER],
    [("type", "Acme"), "yes", "yes", "no", "fee", ("type", "€650 per day")],
    ["skip", "no"],
]

Row = dict[str, Any]


# --- the fake Slack API, in its own process ------------------------------------------------


async def serve_fake_api() -> None:
    """Child process: the fake Web API plus a WebSocket feed of every chat.postMessage,
    until SIGTERM. Prints ``ready <api url> <feed url>``."""
    from tests.fakes.slack_api import FakeSlackApi

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    api = FakeSlackApi(record=False)
    queues: set[asyncio.Queue[str]] = set()

    def seen(method: str, channel: str, message: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            line = json.dumps({"channel": channel, "message": message}, ensure_ascii=False)
            for queue in queues:
                queue.put_nowait(line)
        # What the channel shows is all the load generator needs; keep no history here.
        api.channels.clear()

    api.on_show = seen

    async def feed(request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        queues.add(queue)
        try:
            while not socket_.closed:
                await socket_.send_str(await queue.get())
        finally:
            queues.discard(queue)
        return socket_

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await api.start()
    print(f"ready {api.url} ws://127.0.0.1:{port}/feed", flush=True)
    await stop.wait()
    await api.close()
    await runner.cleanup()


# --- the load generator -------------------------------------------------------------------


class Shown:
    """What each DM shows, from the fake API's feed; wakes whoever waits for a message."""

    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.question: dict[str, dict[str, Any]] = {}
        self._changed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def follow(self, feed: aiohttp.ClientWebSocketResponse) -> None:
        async for message in feed:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            item = json.loads(message.data)
            channel = item["channel"]
            self.count[channel] += 1
            if refs(item["message"]):
                self.question[channel] = item["message"]
            self._changed[channel].set()

    async def wait(self, channel: str, count: int) -> None:
        async with asyncio.timeout(TURN_TIMEOUT):
            while self.count[channel] < count:
                self._changed[channel].clear()
                await self._changed[channel].wait()

    def version(self, channel: str) -> int:
        """The version of the newest question (or result) shown; -1 before the first."""
        message = self.question.get(channel)
        return max((r.version for r, _ in refs(message).values()), default=-1) if message else -1

    async def moved_past(self, channel: str, version: int) -> None:
        """Wait for a question or result newer than ``version``: counting posts is not
        enough, a message can be delivered twice (the outbox is at least once)."""
        async with asyncio.timeout(TURN_TIMEOUT):
            while self.version(channel) <= version:
                self._changed[channel].clear()
                await self._changed[channel].wait()


def refs(message: dict[str, Any]) -> dict[str, tuple[ControlRef, str]]:
    """action_id → (what it means, its block_id)."""
    found = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            ref = controls.decode(element["action_id"])
            if ref is not None:
                found[element["action_id"]] = (ref, block["block_id"])
    return found


def sign(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


@dataclass
class Load:
    """Signs and sends what Slack would, round-robin over the ``web`` processes."""

    http: aiohttp.ClientSession
    urls: list[str]
    shown: Shown
    respond: str
    tag: str
    turns: list[float] = field(default_factory=list)
    _next: Iterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.urls)

    async def send(self, body: str, content_type: str) -> None:
        headers = {"Content-Type": content_type, **sign(body)}
        for attempt in (1, 2):
            try:
                async with self.http.post(next(self._next), data=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"the bot answered {r.status}")
                    return
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                # A pooled connection the server had just closed as idle (its keep-alive
                # is 5 s): sent again, as Slack itself retries.
                if attempt == 2:
                    raise

    async def command(self, user: str) -> None:
        fields = {
            "command": "/should-i-take-it",
            "text": "",
            "user_id": user,
            "team_id": TEAM,
            "channel_id": "C0001",
            "api_app_id": "A0001",
            "response_url": self.respond,
            "trigger_id": f"{user}.trigger",
        }
        await self.send(urlencode(fields), "application/x-www-form-urlencoded")

    async def click(self, user: str, value: str) -> None:
        message = self.shown.question[f"D{user}"]
        choices = refs(message)
        date = next((a for a, (r, _) in choices.items() if r.kind is Kind.DATE), None)
        action_id = date or next(
            (a for a, (r, _) in choices.items() if r.kind is Kind.ANSWER and r.value == value),
            None,
        )
        if action_id is None:
            raise RuntimeError(f"no {value!r} among {[r for r, _ in choices.values()]}")
        action: dict[str, Any] = {"action_id": action_id, "block_id": choices[action_id][1]}
        action |= {"type": "datepicker", "selected_date": value} if date else {"type": "button"}
        payload = click_payload(user, message, action, self.respond)
        body = urlencode({"payload": payload})
        await self.send(body, "application/x-www-form-urlencoded")

    async def typed(self, user: str, text: str, n: int) -> None:
        event = {"type": "message", "channel": f"D{user}", "user": user, "text": text}
        body = {
            "type": "event_callback",
            "team_id": TEAM,
            "event_id": f"Ev{self.tag}{user}.{n}",
            "event": event | {"channel_type": "im"},
        }
        await self.send(json.dumps(body), "application/json")

    async def conversation(self, n: int) -> None:
        user = f"U{self.tag}{n:05d}"
        channel = f"D{user}"
        started = time.perf_counter()
        await self.command(user)
        await self.shown.moved_past(channel, -1)
        self.turns.append(time.perf_counter() - started)
        for step, value in enumerate(PATHS[n % len(PATHS)]):
            shown = self.shown.version(channel)
            started = time.perf_counter()
            if isinstance(value, tuple):
                await self.typed(user, value[1], step)
            else:
                await self.click(user, value)
            await self.shown.moved_past(channel, shown)
            self.turns.append(time.perf_counter() - started)


# --- processes and their CPU --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores, since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


@dataclass
class Cpu:
    """CPU seconds used by each part of the system between two readings. Counted per
    process, so one that ends in between (a PostgreSQL backend) takes its time with it
    rather than making the difference negative."""

    parts: dict[str, list[int]]
    before: dict[int, float] = field(default_factory=dict)
    busy_before: float = 0.0

    def _read(self) -> dict[int, float]:
        self.parts["postgres"] = postgres_pids()  # backends come and go
        return {pid: cpu_seconds(pid) for pids in self.parts.values() for pid in pids}

    def start(self) -> None:
        self.before = self._read()
        self.busy_before = machine_busy()[0]

    def used(self) -> dict[str, float]:
        after = self._read()
        used = {
            name: sum(max(0.0, after[pid] - self.before.get(pid, 0.0)) for pid in pids)
            for name, pids in self.parts.items()
        }
        used["whole machine"] = machine_busy()[0] - self.busy_before
        return used


@asynccontextmanager
async def child(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[Any]:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    name = f"sit_bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def healthy(http: aiohttp.ClientSession, url: str, process: Any) -> None:
    async with asyncio.timeout(30):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"a web process exited with {process.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


# --- CPU quotas -----------------------------------------------------------------------------


def cgroup_cpu_root() -> tuple[Path, int] | None:
    """(a cgroup directory whose children can be given CPU quotas, cgroup version), or None
    when this machine lets us write neither."""
    v2 = Path("/sys/fs/cgroup")
    controllers = v2 / "cgroup.controllers"
    if (
        controllers.exists()
        and "cpu" in controllers.read_text().split()
        and os.access(v2 / "cgroup.subtree_control", os.W_OK)
    ):
        return v2, 2
    v1 = Path("/sys/fs/cgroup/cpu")
    if (v1 / "cpu.cfs_quota_us").exists() and os.access(v1, os.W_OK):
        return v1, 1
    return None


@asynccontextmanager
async def cpu_quota(pids: list[int], share: float) -> AsyncIterator[str]:
    """Each of ``pids`` (and its threads) capped at ``share`` of a core, in a cgroup of its
    own, until the block ends (then moved back and the cgroups removed). Yields how."""
    found = cgroup_cpu_root()
    if found is None or share <= 0:
        yield "none (no writable cgroup CPU controller)" if found is None else "none"
        return
    root, version = found
    quota = int(CFS_PERIOD_US * share)
    groups: list[Path] = []
    try:
        if version == 2:
            (root / "cgroup.subtree_control").write_text("+cpu")
        for pid in pids:
            group = root / f"sit_bench_{os.getpid()}_{pid}"
            group.mkdir()
            groups.append(group)
            if version == 2:
                (group / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            (group / "cgroup.procs").write_text(str(pid))
        yield f"cgroup v{version}, {share:g} of a core per web process"
    finally:
        for group in groups:
            try:
                for pid in (group / "cgroup.procs").read_text().split():
                    (root / "cgroup.procs").write_text(pid)
                group.rmdir()
            except OSError as exc:
                print(f"could not remove {group}: {exc}", file=sys.stderr)


# --- the measurement ----------------------------------------------------------------------


@dataclass
class Result:
    processes: int
    turns: list[float]
    seconds: float
    cpu: dict[str, float]

    @property
    def per_second(self) -> float:
        return len(self.turns) / self.seconds


async def measure(load: Load, users: int, first: int) -> tuple[list[float], float]:
    load.turns = []
    started = time.perf_counter()
    async with asyncio.timeout(RUN_TIMEOUT):
        await asyncio.gather(*(load.conversation(first + n) for n in range(users)))
    return load.turns, time.perf_counter() - started


async def run_async(users: int = USERS, rounds: int = ROUNDS, quota: float = QUOTA) -> list[Row]:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(database())
        fake = await stack.enter_async_context(
            child(sys.executable, "-m", "bench.scale_out", "--fake-api")
        )
        assert fake.stdout is not None
        async with asyncio.timeout(30):
            ready, api_url, feed_url = (await fake.stdout.readline()).decode().split()
        assert ready == "ready"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",  # as deployed: one line per turn
        }
        http = await stack.enter_async_context(
            # Idle connections are dropped before the server's 5 s keep-alive closes them.
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=2))
        )
        webs, urls = [], []
        for _ in range(2):
            port = _free_port()
            process = await stack.enter_async_context(
                child(
                    *(sys.executable, "-m", "bots.cli", "slack", "--http", "--port", str(port)),
                    env=env,
                )
            )
            webs.append(process)
            urls.append(f"http://127.0.0.1:{port}")
        for process, base in zip(webs, urls, strict=True):
            await healthy(http, f"{base}/healthz", process)
        capped = await stack.enter_async_context(cpu_quota([w.pid for w in webs], quota))
        print(f"CPU quota: {capped}", file=sys.stderr)

        shown = Shown()
        feed = await stack.enter_async_context(http.ws_connect(feed_url))
        follower = asyncio.create_task(shown.follow(feed))
        stack.callback(follower.cancel)
        respond = api_url.replace("/api/", "/respond/bench")
        tag = secrets.token_hex(2)

        def load(processes: int) -> Load:
            events = [f"{base}/slack/events" for base in urls[:processes]]
            return Load(http, events, shown, respond, tag)

        cpu = Cpu({"web": [w.pid for w in webs], "fake API": [fake.pid], "load": [os.getpid()]})
        first = 0
        await measure(load(2), WARMUP_USERS, first)  # pools, caches, both processes warm
        first += WARMUP_USERS
        results: dict[int, list[Result]] = {1: [], 2: []}
        for _ in range(rounds):
            for processes in (1, 2):
                cpu.start()
                turns, seconds = await measure(load(processes), users, first)
                results[processes].append(Result(processes, turns, seconds, cpu.used()))
                first += users
    return summary(results, users, capped)


def summary(results: dict[int, list[Result]], users: int, capped: str) -> list[Row]:
    best = {p: max(rs, key=lambda r: r.per_second) for p, rs in results.items()}
    rows: list[Row] = []

    def row(metric: str, value: float, unit: str) -> None:
        rows.append(
            {"bench": "scale_out", "metric": metric, "value": round(value, 2), "unit": unit}
        )

    rows.append(
        {
            "bench": "scale_out",
            "metric": f"CPU quota: {capped}",
            "value": quota_value(capped),
            "unit": "",
        }
    )
    for p, result in best.items():
        label = f"{p} process{'es' if p > 1 else ''}"
        row(f"turns/s, {label} ({users} users)", result.per_second, "turns/s")
        row(f"turn p50, {label}", _pct(result.turns, 50) * 1000, "ms")
        row(f"turn p99, {label}", _pct(result.turns, 99) * 1000, "ms")
        row(f"web CPU per turn, {label}", result.cpu["web"] / len(result.turns) * 1000, "ms")
    row("ratio 2 processes / 1", best[2].per_second / best[1].per_second, "x")
    one = best[1]
    row("CPU, 1-process run: web", one.cpu["web"] / one.seconds * 100, "% of a core")
    row(
        "CPU, 1-process run: whole machine",
        one.cpu["whole machine"] / one.seconds * 100,
        "% of a core",
    )
    # Where the 2 cores went during the 2-process run (200% = both cores busy).
    two = best[2]
    ours = sum(v for k, v in two.cpu.items() if k != "whole machine")
    for part, seconds in sorted(two.cpu.items()):
        row(f"CPU, 2-process run: {part}", seconds / two.seconds * 100, "% of a core")
    # The kernel's share (loopback networking) and whatever else shares the machine.
    other = max(0.0, two.cpu["whole machine"] - ours)
    row("CPU, 2-process run: other", other / two.seconds * 100, "% of a core")
    return rows


def quota_value(capped: str) -> float:
    return float(capped.split(", ")[1].split()[0]) if capped.startswith("cgroup") else 0.0


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def run(users: int = USERS, rounds: int = ROUNDS, quota: float = QUOTA) -> list[Row]:
    return asyncio.run(run_async(users, rounds, quota))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=USERS, help="simultaneous conversations")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="1-then-2 measurements")
    parser.add_argument(
        "--quota", type=float, default=QUOTA, help="CPU per web process, in cores (0: none)"
    )
    parser.add_argument("--fake-api", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_api:
        asyncio.run(serve_fake_api())
        return
    from bench.core import print_table

    print_table(run(args.users, args.rounds, args.quota))


if __name__ == "__main__":
    main()
