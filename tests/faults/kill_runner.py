"""kill -9 again and again under load, counting what the inbox and the outbox promise never
happens: a request Slack got its ack for and then lost, and a turn saved but never shown.

Each cycle: a ``web`` process starts on the database (SQLite file or PostgreSQL); requests
whose ack never came (the connection died with the process) are sent again, as Slack
retries them (same body, same ids); the runner waits until the inbox and the outbox are
empty; then it counts, for every user:

* **acknowledged-then-lost**: an action acked with HTTP 200 that changed nothing in the
  store (the conversation's version did not move);
* **saved-but-never-shown**: the store's conversation is not what the person's DM shows
  (its newest message does not ask the current question, or does not show the result);
* **shown twice**: a message posted twice in a row (the crash fell between Slack's answer
  and marking the message sent: the at-least-once side, counted, not an error).

Then users act on what they see (a button, a date, or a typed answer; a new ``/command``
after a result) for a random while, and the process is killed mid-load.

Run by hand: ``python -m tests.faults.kill_runner --kills 100 --backend sqlite``
(``--backend postgres`` needs 127.0.0.1:5432). ``tests/faults/test_kill_counts.py`` runs a
few kills per backend in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import itertools
import random
import re
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from core.actions import ControlKind as Kind
from core.questionnaire import Questionnaire, load_questionnaire
from core.state import ConversationState
from core.store import SqlStore, open_store
from tests.core.paths import PATHS
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.harness import (
    RemoteSlack,
    WebProcess,
    asked,
    fake_slack,
    key,
    plan,
    unexpected_errors,
    until,
    users,
)
from tests.slack.conftest import refs

LEASE_SECONDS = "2"  # SIT_REDELIVERY_SECONDS for the processes under test
QUIET_TIMEOUT = 30.0
CAUGHT_UP = re.compile(r"caught up: (\d+) request\(s\) replayed, (\d+) message\(s\) sent")


@dataclass
class Counts:
    backend: str
    kills: int = 0
    actions: int = 0  # requests sent
    acked: int = 0
    unacked: int = 0  # cut off by a kill (sent again after the restart)
    acked_then_lost: int = 0
    saved_never_shown: int = 0
    shown_twice: int = 0
    replayed: int = 0  # inbox rows a process took over from a dead one
    resent: int = 0  # outbox messages a process took over
    lost: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.backend}: kills={self.kills} actions={self.actions} acked={self.acked}"
            f" cut_off={self.unacked} acked_then_lost={self.acked_then_lost}"
            f" saved_never_shown={self.saved_never_shown} shown_twice={self.shown_twice}"
            f" replayed={self.replayed} resent={self.resent}"
        )


@dataclass
class Pending:
    """A user's newest action: the request as sent, and the version it should move."""

    body: str
    content_type: str
    version: int
    acked: bool = False


class RecordingSlack(RemoteSlack):
    """Remembers the request each user task sends last, to send it again as Slack would."""

    sent: contextvars.ContextVar[list[tuple[str, str]]] = contextvars.ContextVar("sent")

    async def send(self, body: str, content_type: str, **kw: Any) -> Any:
        record = self.sent.get(None)
        if record is not None:
            record.append((body, content_type))
        return await super().send(body, content_type, **kw)


class Runner:
    def __init__(
        self, api: FakeSlackApi, q: Questionnaire, database_url: str, workdir: Path, n: int
    ) -> None:
        self.api, self.q = api, q
        self.web = WebProcess(
            api, database_url, workdir, extra={"SIT_REDELIVERY_SECONDS": LEASE_SECONDS}
        )
        self.database_url = database_url
        self.people = users(n, "UX")
        outcomes = [list(PATHS)[i % len(PATHS)] for i in range(n)]
        self.plans = {u: plan(q, outcomes[i]) for i, u in enumerate(self.people)}
        self.pending: dict[str, Pending] = {}
        self.killing = False

    async def run(self, kills: int, backend: str) -> Counts:
        counts = Counts(backend)
        store = await open_store(self.database_url)
        assert isinstance(store, SqlStore)
        self.store = store
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            self.slack = RecordingSlack(self.api, self.q, http)
            try:
                for cycle in range(kills + 1):
                    await self._start()
                    await self._catch_up(counts)
                    if cycle == kills:
                        break
                    await self._load(counts)  # ends with the kill
                    counts.kills += 1
            finally:
                self.web.stop()
                await store.close()
        for match in CAUGHT_UP.finditer(self.web.log()):
            counts.replayed += int(match[1])
            counts.resent += int(match[2])
        errors = unexpected_errors(self.web.log(), also=("sending failed",))
        assert errors == [], errors[:5]
        return counts

    async def _start(self) -> None:
        self.web.start()
        await asyncio.to_thread(self.web.wait_healthy)
        self.slack.point_at(self.web.url)
        self.killing = False

    async def _catch_up(self, counts: Counts) -> None:
        """Resend what was cut off, wait until nothing is left to do, and count."""
        cut_off = [p for p in self.pending.values() if not p.acked]
        for p in cut_off:
            response = await self.slack.send(p.body, p.content_type)
            assert response.status == 200, response.status
            p.acked = True
        await self._quiet()
        for user, p in self.pending.items():
            stored = await self.store.load(key(user))
            if stored is None or stored.version <= p.version:
                counts.acked_then_lost += 1
                counts.lost.append(user)
        self.pending.clear()
        for user in self.people:
            if not await self._in_view(user):
                counts.saved_never_shown += 1
                counts.unseen.append(user)
                await self._act(user, counts, force_start=True)  # a fresh start, to go on
        counts.shown_twice = sum(self._twice(u) for u in self.people)

    async def _quiet(self) -> None:
        """Until no inbox row is open and no outbox message unsent."""
        deadline = time.monotonic() + QUIET_TIMEOUT
        while True:
            async with self.store.engine.connect() as connection:
                open_rows = (
                    await connection.execute(
                        text(
                            "SELECT (SELECT count(*) FROM inbox WHERE done_at IS NULL)"
                            " + (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
                        )
                    )
                ).scalar_one()
            if open_rows == 0:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_rows} inbox/outbox row(s) never settled")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # the last sends' answers reach the fake

    async def _in_view(self, user: str) -> bool:
        shown = self.slack.shown(user)
        stored = await self.store.load(key(user))
        if stored is None:
            return not shown
        state = ConversationState.from_json(stored.data)
        if not shown:
            return False
        last = shown[-1]
        if state.status == "active":
            return asked(last) == state.step
        return asked(last) is None  # a result (or an ending notice), no open question

    def _twice(self, user: str) -> int:
        shown = self.slack.shown(user)
        return sum(1 for a, b in itertools.pairwise(shown) if a["text"] == b["text"])

    async def _load(self, counts: Counts) -> None:
        tasks = [asyncio.create_task(self._user(u, counts)) for u in self.people]
        await asyncio.sleep(random.uniform(0.3, 1.5))
        self.killing = True  # nobody starts a new action; those in flight die with it
        await asyncio.to_thread(self.web.kill)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _user(self, user: str, counts: Counts) -> None:
        await asyncio.sleep(random.random() * 0.1)
        while not self.killing:
            if not await self._act(user, counts):
                return

    async def _act(self, user: str, counts: Counts, *, force_start: bool = False) -> bool:
        """One action on what the user sees; False when it was cut off (or timed out)."""
        shown = self.slack.shown(user)
        last = shown[-1] if shown else None
        question = None if force_start or last is None else asked(last)
        stored = await self.store.load(key(user))
        version = 0 if stored is None else stored.version
        record: list[tuple[str, str]] = []
        token = RecordingSlack.sent.set(record)
        before = len(shown)
        try:
            request = self._request(user, question, last)
            counts.actions += 1
            try:
                response = await request
            except (aiohttp.ClientError, OSError):
                self.pending[user] = Pending(*record[-1], version)
                counts.unacked += 1
                return False
            self.pending[user] = Pending(*record[-1], version, acked=response.status == 200)
            if response.status != 200:
                return False
            counts.acked += 1
        finally:
            RecordingSlack.sent.reset(token)
        try:
            await until(lambda: len(self.slack.shown(user)) > before or self.killing, 20)
        except AssertionError:
            return False
        if self.killing:
            return False
        del self.pending[user]
        return True

    def _request(self, user: str, question: str | None, last: dict[str, Any] | None) -> Any:
        if question is None or last is None:
            return self.slack.command(user=user)
        value = self.plans[user][question]
        controls = refs(last)
        for action, ref in controls.items():
            if ref.kind is Kind.ANSWER and ref.value == value:
                return self.slack.click(last, action, user=user)
            if ref.kind is Kind.DATE:
                return self.slack.click(last, action, user=user, selected_date=value)
        return self.slack.dm(value, user=user)


async def run_backend(
    backend: str, database_url: str, kills: int, workdir: Path, n_users: int = 20
) -> Counts:
    q = load_questionnaire()
    with fake_slack() as api:
        return await Runner(api, q, database_url, workdir, n_users).run(kills, backend)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    failed = False
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if backend == "sqlite":
                url = f"sqlite:///{workdir / 'kill.sqlite3'}"
                counts = asyncio.run(run_backend(backend, url, args.kills, workdir, args.users))
            else:
                counts = asyncio.run(_on_postgres(args.kills, workdir, args.users))
        print(counts.line(), flush=True)
        failed |= counts.acked_then_lost > 0 or counts.saved_never_shown > 0
    return 1 if failed else 0


async def _on_postgres(kills: int, workdir: Path, n_users: int) -> Counts:
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN

    name = f"sit_kill_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        return await run_backend("postgres", url, kills, workdir, n_users)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    sys.exit(main())
