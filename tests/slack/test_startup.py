"""Start-up as a newcomer meets it: a ``.env`` copied from ``.env.example`` (empty lines
included) works in Socket Mode; a refused bot or app token stops the process at once,
naming the variable; an unreachable Slack is retried with one line per attempt, and
SIGTERM is honoured while retrying."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bots.config import Settings
from bots.slack.preflight import Refused, Stopped, check_app_token, retrying
from tests.conftest import REPO
from tests.faults.harness import base_environment, fake_slack, free_port
from tests.slack.conftest import TOKEN

APP_TOKEN = "xapp-1-A0001-test"
COMMAND = [sys.executable, "-m", "bots.cli", "slack"]


def start(cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        COMMAND,
        cwd=cwd,
        env=base_environment(SIT_DATA_DIR=str(cwd / "data"), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def env_file_from_example(**values: str) -> str:
    """``.env.example`` with some lines filled in, the others left empty as a newcomer would."""
    text = (REPO / ".env.example").read_text("utf-8")
    for name, value in values.items():
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert count == 1, name
    return text


def test_a_dotenv_copied_from_the_example_runs_socket_mode_with_the_bot_token(
    tmp_path: Path,
) -> None:
    with fake_slack() as api:
        (tmp_path / ".env").write_text(
            env_file_from_example(
                SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=api.url
            )
        )
        api.push(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/should-i-take-it",
                    "text": "",
                    "user_id": "U0001",
                    "team_id": "T0001",
                    "channel_id": "C0001",
                    "response_url": api.response_url("socket"),
                    "trigger_id": "t.1",
                },
            }
        )
        process = start(tmp_path)
        try:
            deadline = time.monotonic() + 30
            while not api.to("chat.postMessage"):
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the command was never answered"
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr
        posted = api.to("chat.postMessage")[0]
        assert posted.token == TOKEN  # the single-workspace token, not an OAuth lookup
        assert "Question" in posted.args["text"] or "Who" in posted.args["text"]
        # Checked before connecting (Bolt makes its own auth.test later, on the first request).
        assert [(c.method, c.token) for c in api.calls[:2]] == [
            ("auth.test", TOKEN),
            ("apps.connections.open", APP_TOKEN),
        ]
        assert "will be ignored" not in stderr and "will be unused" not in stderr
        assert "reinstall" not in stderr.lower()
        assert TOKEN not in stderr and APP_TOKEN not in stderr


@pytest.mark.parametrize(
    ("method", "variable"),
    [("auth.test", "SLACK_BOT_TOKEN"), ("apps.connections.open", "SLACK_APP_TOKEN")],
)
def test_a_refused_token_stops_start_up_naming_it(
    method: str, variable: str, tmp_path: Path
) -> None:
    with fake_slack() as api:
        api.fail(method, "invalid_auth")
        process = start(
            tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=api.url
        )
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stderr
    assert f"Slack refused {variable} (invalid_auth)" in stderr
    assert "api.slack.com/apps" in stderr
    assert "Traceback" not in stderr and "connected" not in stderr
    assert TOKEN not in stderr and APP_TOKEN not in stderr


def test_an_unreachable_slack_is_retried_one_line_each_and_sigterm_ends_it(
    tmp_path: Path,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    process = start(
        tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=nowhere
    )
    assert process.stderr is not None
    lines: list[str] = []
    while len([line for line in lines if "trying again" in line]) < 2:
        line = process.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    rest = process.communicate(timeout=10)[1]
    assert process.returncode == 0
    assert time.monotonic() - started < 3
    text = "".join(lines) + rest
    assert "Traceback" not in text
    attempts = [line for line in text.splitlines() if "trying again" in line]
    assert "cannot reach Slack to check SLACK_BOT_TOKEN" in attempts[0]
    assert "in 1 s (attempt 1)" in attempts[0] and "in 2 s (attempt 2)" in attempts[1]


def test_no_slack_variables_asks_for_the_socket_mode_token(tmp_path: Path) -> None:
    done = subprocess.run(
        COMMAND, cwd=tmp_path, env=base_environment(), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN: missing" in done.stderr and "SLACK_SIGNING_SECRET" in done.stderr


async def test_retrying_backs_off_and_stops_when_asked() -> None:
    stop = asyncio.Event()
    calls = 0

    async def unreachable() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()
        raise ConnectionRefusedError("refused")

    log = logging.getLogger("test.retrying")
    with pytest.raises(Stopped):
        await retrying(unreachable, what="x", stop=stop, log=log, first_delay=0.01)
    assert calls == 3


async def test_an_app_token_refused_by_slack_is_refused_not_retried() -> None:
    from tests.fakes.slack_api import FakeSlackApi

    api = FakeSlackApi()
    await api.start()
    try:
        api.fail("apps.connections.open", "invalid_auth")
        settings = Settings(slack_app_token=APP_TOKEN, slack_api_url=api.url)
        with pytest.raises(Refused, match="SLACK_APP_TOKEN"):
            await retrying(
                lambda: check_app_token(settings),
                what="x",
                stop=asyncio.Event(),
                log=logging.getLogger("test"),
            )
        assert len(api.to("apps.connections.open")) == 1
    finally:
        await api.close()


def test_nothing_in_the_process_environment_reaches_bolt_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bots.config import hide_from_libraries, load_dotenv_if_present

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(env_file_from_example(SLACK_BOT_TOKEN=TOKEN))
    monkeypatch.setattr(os, "environ", dict(base_environment()))  # restored afterwards
    load_dotenv_if_present()
    assert "SLACK_CLIENT_ID" not in os.environ and "SLACK_CLIENT_SECRET" not in os.environ
    assert Settings.from_env().slack_bot_token == TOKEN
    hide_from_libraries(os.environ)
    assert "SLACK_BOT_TOKEN" not in os.environ
