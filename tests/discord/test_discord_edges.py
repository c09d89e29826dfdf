"""Hardening (issue 12) on Discord: a forget confirmation is good for one forget, and the
running bot sweeps expired rows."""

from __future__ import annotations

import asyncio
import itertools
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core import controls
from core.actions import ControlKind as Kind
from core.controls import ControlRef
from core.ports import ConversationKey, ConversationWrite
from core.store import open_store
from tests.discord.harness import ALICE, NOON, Harness, button
from tests.discord.test_discord_interactions import reach_result
from tests.discord.test_discord_main import run
from tests.fakes.discord_api import TOKEN, FakeDiscord


async def test_an_older_forget_confirmation_deletes_nothing(h: Harness) -> None:
    ticks = itertools.count()  # a clock that moves on, as real ones do
    h.session.clock = lambda: NOON + timedelta(microseconds=next(ticks))
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    # Asked twice (two confirmations on screen); the first is used.
    older = h.reply(await alice.command("discord_forget_name", in_guild=True))
    newer = h.reply(await alice.command("discord_forget_name", in_guild=True))
    first = await alice.click(newer, button(newer, Kind.FORGET), in_guild=True)
    assert h.reply(first)["content"] == h.q.ui("en", "forgotten", count=1)
    await reach_result(alice, "yes", "yes", "yes")  # decided again since
    late = await alice.click(older, button(older, Kind.FORGET), in_guild=True)
    assert h.reply(late)["content"] == h.q.ui("en", "forget_stale")
    assert len(await alice.decisions()) == 1


async def test_a_start_button_starts_a_conversation_as_the_command_does(h: Harness) -> None:
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes", "yes")
    start = controls.encode(ControlRef(Kind.START, str(ALICE)), str(ALICE))
    # No Discord message draws one today (Slack's App Home does): a message that would.
    start_button = {"type": 2, "style": 1, "label": "Start", "custom_id": start}
    drawn = {**alice.last(), "components": [{"type": 1, "components": [start_button]}]}
    await alice.click(drawn, start)
    asked = alice.last()
    assert h.q.question_text("en", "client") in asked["content"] + str(asked.get("embeds"))
    assert h.q.ui("en", "kept") not in str(asked)


async def test_the_discord_process_sweeps_expired_rows(tmp_path: Path, fake: FakeDiscord) -> None:
    key = ConversationKey("discord", "-", "42")
    store = await open_store(None, data_dir=tmp_path / "data")
    past = datetime.now(UTC) - timedelta(minutes=1)
    await store.save(ConversationWrite(key, "{}", 1, None, past))
    process = await run(
        tmp_path,
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_URL=fake.url + "/api/v10",
        SWEEP_INTERVAL_SECONDS="1",
    )
    try:
        async with asyncio.timeout(20):
            while await store.load(key) is not None:
                assert process.returncode is None, (await process.communicate())[1].decode()
                await asyncio.sleep(0.1)
    finally:
        await store.close()
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "retention sweep: 1 expired row(s) deleted" in err.decode()
