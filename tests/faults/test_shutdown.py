"""SIGTERM (what a platform sends before it restarts a dyno) while requests are in flight:
the ``web`` process stops taking connections, finishes the requests it has (one still
uploading its body), finishes the work it acked, and exits 0 within 10 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest

from bots.slack.blocks import COMMAND
from tests.fakes.slack_api import TEAM, FakeSlackApi
from tests.faults.conftest import StartWeb
from tests.faults.harness import RemoteSlack, signed, unexpected_errors, users

SLOW_WORK = 1.0  # seconds the fake Web API takes to answer chat.postMessage


@pytest.mark.postgres
async def test_sigterm_finishes_the_acked_work_and_exits_0(
    api: FakeSlackApi, start_web: StartWeb, slack: RemoteSlack, http: aiohttp.ClientSession
) -> None:
    api.delays["chat.postMessage"] = SLOW_WORK  # the work after each ack outlives the SIGTERM
    web = start_web()
    slack.point_at(web.url)
    people = users(8, "UT")
    acks = await asyncio.gather(*(slack.command(user=u) for u in people))
    assert [a.status for a in acks] == [200] * len(people)

    web.terminate()
    stopping = time.monotonic()
    await asyncio.sleep(0.3)
    assert web.process is not None and web.process.poll() is None, "still finishing its work"
    with pytest.raises(aiohttp.ClientConnectionError):  # no new work taken
        async with http.get(f"{web.url}/healthz") as late:
            await late.read()

    code = await asyncio.to_thread(web.process.wait, 10)
    assert code == 0
    assert time.monotonic() - stopping < 10
    for user in people:  # the work acked before the stop was done
        assert slack.posts(user) == 1, user
    log = web.log()
    assert "stopped" in log and "still running" not in log
    assert unexpected_errors(log) == []


@pytest.mark.postgres
async def test_sigterm_answers_a_request_still_uploading(
    api: FakeSlackApi, start_web: StartWeb, http: aiohttp.ClientSession
) -> None:
    web = start_web()
    (user,) = users(1, "UU")
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C0001",
            "user_id": user,
            "command": COMMAND,
            "text": "",
            "response_url": api.response_url("slow"),
            "trigger_id": "t.slow",
        }
    ).encode()
    sent_half = asyncio.Event()

    async def slowly() -> AsyncIterator[bytes]:
        yield body[:20]
        sent_half.set()
        await asyncio.sleep(0.5)
        yield body[20:]

    headers = {**signed(body), "Content-Type": "application/x-www-form-urlencoded"}
    upload = asyncio.create_task(
        http.post(f"{web.url}/slack/events", data=slowly(), headers=headers)
    )
    await sent_half.wait()
    await asyncio.sleep(0.1)
    web.terminate()
    try:
        response = await upload
        assert response.status == 200
        response.release()
    finally:
        assert web.process is not None
        assert await asyncio.to_thread(web.process.wait, 10) == 0
