"""Start-up and shutdown: missing configuration is named before anything runs; the HTTP
process serves, reports its health, and stops cleanly on SIGTERM with its work done; Socket
Mode takes envelopes from a WebSocket and acknowledges each."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp

from bots.bootstrap import bootstrap
from bots.config import Settings
from bots.slack.app import SlackBot, build_app
from bots.slack.main import main
from bots.slack.server import serve_socket
from core.memory_store import MemoryStore
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import NOW, SECRET, TOKEN

REPO = Path(__file__).resolve().parents[2]
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_API_URL",
)


@pytest.mark.parametrize(
    ("argv", "env", "variable", "where"),
    [
        (["--http"], {"SLACK_BOT_TOKEN": TOKEN}, "SLACK_SIGNING_SECRET", "Basic Information"),
        ([], {"SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN", "OAuth & Permissions"),
        (["--socket"], {"SLACK_BOT_TOKEN": TOKEN}, "SLACK_APP_TOKEN", "connections:write"),
        (
            [],
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxp-user-token"},
            "SLACK_BOT_TOKEN",
            "xoxb-",
        ),
        (
            [],
            {"SLACK_APP_TOKEN": "xoxb-wrong", "SLACK_BOT_TOKEN": TOKEN},
            "SLACK_APP_TOKEN",
            "xapp-",
        ),
        (
            [],
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_ID": "1.2"},
            "SLACK_CLIENT_SECRET",
            "Client Secret",
        ),
        (
            ["--socket"],
            {"SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"},
            "SLACK_CLIENT_ID",
            "--http",
        ),
        (
            ["--http", "--port", "0"],
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TOKEN},
            "--port",
            "65535",
        ),
    ],
)
def test_missing_configuration_names_the_variable(
    argv: list[str],
    env: dict[str, str],
    variable: str,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"{variable}:" in error and where in error
    assert "xoxp-user-token" not in error and TOKEN not in error  # never echo a token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.slow
async def test_http_mode_serves_then_stops_on_sigterm(api: FakeSlackApi, tmp_path: Path) -> None:
    port = _free_port()
    api.delays["chat.postMessage"] = 1.0  # so the SIGTERM below lands mid-work
    env = {
        **{k: v for k, v in os.environ.items() if k not in SLACK_VARIABLES},
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api.url,
        "SIT_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(REPO),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "slack",
        "--http",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{base}/healthz") as health:
                        assert health.status == 200 and await health.json() == {"ok": True}
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("the server never answered /healthz")
            body = urlencode(
                {
                    "command": "/should-i-take-it",
                    "user_id": "U0001",
                    "team_id": "T0001",
                    "channel_id": "C0001",
                    "text": "",
                    "response_url": api.response_url("cmd"),
                    "trigger_id": "t.1",
                }
            )
            async with http.post(f"{base}/slack/events", data=body, headers=_signed(body)) as acked:
                assert acked.status == 200
        process.send_signal(signal.SIGTERM)  # right after the ack: the work is still running
        started = time.monotonic()
        assert await asyncio.wait_for(process.wait(), 10) == 0
        assert 0.5 < time.monotonic() - started < 10
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert api.to("chat.postMessage"), "the work in flight at SIGTERM was finished"
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert TOKEN not in stderr and SECRET not in stderr
    assert "stopped" in stderr


async def test_socket_mode_acks_envelopes_and_works(api: FakeSlackApi) -> None:
    settings = Settings(
        slack_bot_token=TOKEN, slack_app_token="xapp-1-A0001-test", slack_api_url=api.url
    )
    app = await bootstrap(settings, store=MemoryStore(), clock=lambda: NOW)
    bot = SlackBot(app, settings)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_socket(bot, "xapp-1-A0001-test", stop=stop))
    command = {
        "command": "/should-i-take-it",
        "text": "",
        "user_id": "U0001",
        "team_id": "T0001",
        "channel_id": "C0001",
        "response_url": api.response_url("socket"),
        "trigger_id": "t.1",
    }
    message = {
        "type": "message",
        "channel": "DU0001",
        "user": "U0001",
        "text": "Acme",
        "channel_type": "im",
    }
    event = {"type": "event_callback", "team_id": "T0001", "event_id": "EvSocket", "event": message}

    async def settled(acks: int, posts: int) -> None:
        for _ in range(100):
            if (
                len(api.acks) == acks
                and len(api.to("chat.postMessage")) == posts
                and not bot.work.running
            ):
                return
            await asyncio.sleep(0.05)
        posted = api.to("chat.postMessage")
        pytest.fail(f"expected {acks} acks and {posts} posts, got {api.acks} and {posted}")

    try:
        api.push(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
        await settled(1, 1)
        for attempt in range(2):  # Slack retries an envelope it thinks was lost: one advance only
            api.push(
                {
                    "envelope_id": f"env-{2 + attempt}",
                    "type": "events_api",
                    "payload": event,
                    "retry_attempt": attempt,
                    "retry_reason": "timeout" if attempt else "",
                }
            )
        await settled(3, 2)
        assert sorted(a["envelope_id"] for a in api.acks) == ["env-1", "env-2", "env-3"]
        assert "Question 1 of 4" in api.to("chat.postMessage")[1].args["text"]
        assert api.to("apps.connections.open")[0].token == "xapp-1-A0001-test"
    finally:
        stop.set()
        await asyncio.wait_for(serving, 10)
        await bot.close()


async def test_build_app_gives_the_bolt_app_with_its_listeners(api: FakeSlackApi) -> None:
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=api.url)
    app = await bootstrap(settings, store=MemoryStore(), clock=lambda: NOW)
    bolt = build_app(app, settings)
    assert isinstance(bolt, AsyncApp)
    assert bolt.client.base_url == api.url
