"""Fixtures for the Discord tests: the fake Discord on 127.0.0.1 and real discord.py clients
logged in against it (see ``harness.py`` for the user's side).

Every test also checks, when it ends, that the fake saw nothing Discord would refuse or the
bot's rules forbid (``FakeDiscord.problems``: limits, mentions, late or double answers) and
that nothing was logged at ERROR (handler exceptions are only logged by discord.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

import discord
import pytest

from bots.bootstrap import bootstrap
from bots.config import Settings
from bots.discord.client import DiscordBot, create_bot
from core.memory_store import MemoryStore
from core.ports import Store
from tests.discord.harness import NOON, ErrorLog, Harness, StartBot
from tests.fakes.discord_api import FakeDiscord


@pytest.fixture(autouse=True)
def no_errors() -> Iterator[ErrorLog]:
    """Fails a test in which anything (discord.py's tree, views, client, or the adapter)
    logged an error: that is where handler exceptions end up."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    assert [f"{r.name}: {r.getMessage()}" for r in handler.records] == []


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    monkeypatch.setattr(discord.http.Route, "BASE", await fake.start())
    yield fake
    await fake.close()
    assert fake.problems == []


@pytest.fixture
async def start_bot(fake: FakeDiscord) -> AsyncIterator[StartBot]:
    """Log a new bot in against the fake: on a fresh MemoryStore, or on ``store``; at noon
    on ``TODAY``, or at what ``clock`` says."""
    bots: list[DiscordBot] = []

    async def start(
        store: Store | None = None, *, clock: Callable[[], datetime] = lambda: NOON
    ) -> Harness:
        app = await bootstrap(Settings(), store=store or MemoryStore(), clock=clock)
        bot = create_bot(app.session)
        await bot.login(fake.token)
        bots.append(bot)
        return Harness(fake, bot, app.session)

    yield start
    for bot in bots:
        await bot.close()


@pytest.fixture
async def h(start_bot: StartBot) -> Harness:
    return await start_bot()
