"""Fixtures of the fault suite: a fake Slack Web API on a thread of its own, ``web``
processes on the session's throw-away PostgreSQL database, and the Slack side over HTTP.

Every ``web`` process a test starts is killed at teardown if the test left it running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.ports import Store
from core.questionnaire import Questionnaire
from core.store import open_store
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.harness import RemoteSlack, WebProcess, fake_slack

StartWeb = Callable[..., WebProcess]


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture
def start_web(api: FakeSlackApi, pg_url: str, tmp_path: Path) -> Iterator[StartWeb]:
    """Start a ``web`` process (healthy when returned) on the test database."""
    started: list[WebProcess] = []

    def start(**options: Any) -> WebProcess:
        web = WebProcess(api, pg_url, tmp_path, **options).start()
        started.append(web)
        web.wait_healthy()
        return web

    yield start
    for web in started:
        web.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # No connection limit: the tests play many users at once.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


@pytest.fixture
async def slack(
    api: FakeSlackApi, questionnaire: Questionnaire, http: aiohttp.ClientSession
) -> RemoteSlack:
    return RemoteSlack(api, questionnaire, http)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[Store]:
    """The test database as the bot sees it, to read conversations directly."""
    opened = await open_store(pg_url)
    yield opened
    await opened.close()
