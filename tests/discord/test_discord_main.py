"""``should-i-take-it discord`` as a real process against the fake Discord: start-up
errors, command registration with their French localisations, the gateway session, and a
clean stop on SIGTERM. The token never shows in the output."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from bots.discord.client import create_bot
from bots.discord.commands import PromptTranslator
from core.memory_store import MemoryStore
from core.questionnaire import Questionnaire
from core.session import Session
from tests.fakes.discord_api import APP_ID, GUILD_ID, TOKEN, FakeDiscord

COMMAND = [sys.executable, "-m", "bots.cli", "discord"]
SLASH_NAME = re.compile(r"^[-_\w]{1,32}$")  # Discord's rule for slash command and option names


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))
    }
    return {**kept, "SIT_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1", **settings}


async def run(tmp_path: Path, **settings: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *COMMAND,
        env=environment(tmp_path, **settings),
        cwd=tmp_path,  # no stray .env
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_missing_token_says_where_to_get_one(tmp_path: Path) -> None:
    process = await run(tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "DISCORD_TOKEN" in err.decode() and "Bot → Reset Token" in err.decode()


async def test_a_rejected_token_stops_with_a_clear_message(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    wrong = "not-the-token-discord-knows"
    process = await run(tmp_path, DISCORD_TOKEN=wrong, DISCORD_API_URL=fake.url + "/api/v10")
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "Discord rejected DISCORD_TOKEN" in err.decode()
    assert wrong not in (out + err).decode()


async def test_an_unreachable_discord_is_retried_one_line_each_until_sigterm(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = await run(
        tmp_path, DISCORD_TOKEN=TOKEN, DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10"
    )
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while sum("trying again" in line for line in lines) < 2:
            line = (await process.stderr.readline()).decode()
            assert line, "".join(lines)
            lines.append(line)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(3):
        _, rest = await process.communicate()
    text = "".join(lines) + rest.decode()
    assert process.returncode == 0, text
    assert "cannot reach Discord to log in" in text and "Traceback" not in text
    assert "(attempt 1)" in text and "(attempt 2)" in text and TOKEN not in text
    assert "Unclosed" not in text


async def test_runs_registers_the_commands_and_stops_on_sigterm(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    process = await run(
        tmp_path,
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_URL=fake.url + "/api/v10",
        DISCORD_GUILD_ID=str(GUILD_ID),
        LOG_LEVEL="DEBUG",  # even at DEBUG the token must not be printed
    )
    try:
        async with asyncio.timeout(30):
            while not fake.identified:
                assert process.returncode is None, (await process.communicate())[1].decode()
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert TOKEN not in (out + err).decode()
    assert re.search(r"connected as \S+ \(\d+\)", err.decode()), err.decode()
    assert (
        f"https://discord.com/oauth2/authorize?client_id={APP_ID}&scope=bot+applications.commands"
        in err.decode()
    )

    # Global (user installs see them); the server's own stale copies are cleared.
    assert fake.synced[f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"] == []
    commands = fake.synced[f"/applications/{APP_ID}/commands"]
    by_name = {c["name"]: c for c in commands}
    assert set(by_name) == {
        "should-i-take-it",
        "should-i-take-it-help",
        "should-i-take-it-history",
        "should-i-take-it-forget",
        "should-i-take-it-profile",
        "Should I take it?",
    }
    start = by_name["should-i-take-it"]
    assert start["name_localizations"] == {"fr": "dois-je-accepter"}
    assert [o["name_localizations"] for o in start["options"]] == [{"fr": "langue"}, {"fr": "note"}]
    assert by_name["Should I take it?"]["name_localizations"] == {
        "fr": "Dois-je accepter ce client\u202f?"
    }


async def test_command_names_and_descriptions_suit_discord(questionnaire: Questionnaire) -> None:
    bot = create_bot(Session(questionnaire, MemoryStore(), clock=lambda: None))  # type: ignore[arg-type, return-value]
    await bot.tree.set_translator(PromptTranslator(questionnaire))
    assert bot.tree.translator is not None
    payloads: list[dict[str, Any]] = [
        await c.get_translated_payload(bot.tree, bot.tree.translator)
        for c in bot.tree.get_commands()
    ]
    for payload in payloads:
        assert payload["contexts"] == [0, 1, 2] and payload["integration_types"] == [0, 1]
        names = [payload["name"], *payload["name_localizations"].values()]
        if payload["type"] == 1:  # a slash command
            texts = [payload["description"], *payload["description_localizations"].values()]
            for option in payload["options"]:
                names += [option["name"], *option["name_localizations"].values()]
                texts += [option["description"], *option["description_localizations"].values()]
            assert all(SLASH_NAME.match(n) and n == n.lower() for n in names), names
            assert all(1 <= len(t) <= 100 for t in texts), texts
        else:  # the message menu
            assert all(1 <= len(n) <= 32 for n in names), names
        assert set(payload["name_localizations"]) == {"fr"}


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"DISCORD_SHARD_IDS": "0,1"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}, "DISCORD_SHARD_IDS"),
        ({"DISCORD_GUILD_ID": "not-a-number"}, "DISCORD_GUILD_ID"),
    ],
)
async def test_bad_settings_name_the_variable(
    tmp_path: Path, settings: dict[str, str], variable: str
) -> None:
    process = await run(tmp_path, DISCORD_TOKEN=TOKEN, **settings)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert err.decode().startswith(f"should-i-take-it discord: {variable}: ")
