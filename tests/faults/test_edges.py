"""The ``web`` process's edge under abuse (issue 12), on PostgreSQL: a storm of anonymous
``/healthz`` calls answers 200 throughout while the database is up, and half-open uploads
(slowloris) are dropped after the body timeout, giving their file descriptors back; two
processes with a short TTL sweep every expired conversation away.
Each test prints its figures (``pytest -s`` shows them)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import aiohttp
import pytest
import sqlalchemy as sa

from bots.slack.server import BODY_TIMEOUT
from core.ports import Store
from tests.faults.conftest import StartWeb
from tests.faults.harness import (
    RemoteSlack,
    held_connections,
    key,
    turn,
    unexpected_errors,
    users,
)

pytestmark = pytest.mark.postgres

STORM = int(os.environ.get("HEALTHZ_STORM", "500"))  # more by hand: HEALTHZ_STORM=3000


async def test_a_healthz_storm_gets_no_503(start_web: StartWeb) -> None:
    web = start_web()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def call() -> int:
            async with http.get(f"{web.url}/healthz") as response:
                return response.status

        started = time.monotonic()
        statuses = Counter(await asyncio.gather(*(call() for _ in range(STORM))))
        seconds = time.monotonic() - started
    print(f"\nhealthz storm: {STORM} concurrent calls in {seconds:.2f} s: {dict(statuses)}")
    assert statuses == {200: STORM}


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
async def test_half_open_uploads_are_dropped(start_web: StartWeb) -> None:
    web = start_web()
    assert web.process is not None
    pid = web.process.pid
    before = open_fds(pid)
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    streams = [await asyncio.open_connection("127.0.0.1", web.port) for _ in range(20)]
    for _, writer in streams:
        writer.write(head)
    await asyncio.sleep(0.3)
    held, fds = held_connections(web.port), open_fds(pid) - before
    started = time.monotonic()

    async def dropped(reader: asyncio.StreamReader) -> float:
        await asyncio.wait_for(reader.read(), BODY_TIMEOUT + 5)
        return time.monotonic() - started + 0.3

    waits = await asyncio.gather(*(dropped(r) for r, _ in streams))
    for _, writer in streams:
        writer.close()
    await asyncio.sleep(0.2)
    after, fds_after = held_connections(web.port), open_fds(pid) - before
    print(
        f"\nslowloris: {len(streams)} half-open uploads held {held} connections (+{fds} fds);"
        f" dropped after {min(waits):.1f}-{max(waits):.1f} s; then {after} connections"
        f" ({fds_after:+d} fds)"
    )
    assert held == len(streams)
    assert max(waits) < BODY_TIMEOUT + 2
    assert after == 0


async def test_two_processes_leave_no_expired_row_behind(
    start_web: StartWeb, slack: RemoteSlack, store: Store
) -> None:
    # Conversations live ~2 s, sweeps run every second.
    short = {"CONVERSATION_TTL_HOURS": "0.0006", "SWEEP_INTERVAL_SECONDS": "1"}
    webs = [start_web(extra=short), start_web(extra=short)]
    people = users(10, "UR")
    for n, user in enumerate(people):
        slack.point_at(webs[n % 2].url)
        await turn(slack, user, slack.command(user=user))
        # Checked at once: on a busy machine the ten turns can outlast the first one's life.
        assert await store.load(key(user)) is not None
    engine = store.engine  # type: ignore[attr-defined]

    async def expired() -> int:
        async with engine.connect() as conn:
            query = "SELECT count(*) FROM conversations WHERE expires_at <= now()"
            return int((await conn.execute(sa.text(query))).scalar_one())

    started = time.monotonic()
    while await expired() or any([await store.load(key(u)) for u in people]):
        assert time.monotonic() - started < 10, "expired rows left behind"
        await asyncio.sleep(0.2)
    print(f"\nretention: 10 conversations gone {time.monotonic() - started:.1f} s after the last")
    swept = [w.log().count("retention sweep:") for w in webs]
    assert sum(swept) >= 1
    for web in webs:
        assert unexpected_errors(web.log()) == []
