"""The Procfile as a platform runs it: ``honcho check`` accepts it, and each line, run by a
shell in its own process group the way Heroku does (bash -c), starts: ``release`` migrates
and exits 0, ``web`` answers /healthz on $PORT, ``worker`` opens a gateway session with
(a fake) Discord; both stop with exit 0 on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from tests.conftest import REPO
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_api import FakeDiscord
from tests.faults.harness import (
    TOKEN,
    ThreadedFake,
    base_environment,
    fake_slack,
    free_port,
    health,
)
from tests.slack.conftest import SECRET

PROCFILE = REPO / "Procfile"
COMMANDS = parse_procfile(PROCFILE.read_text("utf-8")).processes


def run(command: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            ["bash", "-c", command],  # as Heroku runs a process type
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, signalled as a whole
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    return process.wait(15)


def wait_for(check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.05)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_honcho_accepts_the_procfile() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "honcho", "-f", str(PROCFILE), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(COMMANDS) >= {"release", "web", "worker"}


def test_release_migrates(tmp_path: Path, data: Path) -> None:
    env = base_environment(SIT_DATA_DIR=str(data))
    log = tmp_path / "release.log"
    process = run(COMMANDS["release"], env, tmp_path, log)
    assert process.wait(60) == 0, log.read_text()
    assert "up to date" in log.read_text()
    assert list(data.glob("*.sqlite3"))


def test_web_serves_on_port(
    tmp_path: Path, data: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    with fake_slack() as api:
        port = free_port()
        env = base_environment(
            PORT=str(port),
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api.url,
            SIT_DATA_DIR=str(data),
        )
        log = tmp_path / "web.log"
        process = run(COMMANDS["web"], env, tmp_path, log)
        started.append(process)
        wait_for(lambda: health(f"http://127.0.0.1:{port}") == 200, process, log)
        assert stop(process) == 0


def test_worker_connects_to_discord(
    tmp_path: Path, data: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    with ThreadedFake(FakeDiscord()) as discord:
        env = base_environment(
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_URL=discord.started,
            SIT_DATA_DIR=str(data),
        )
        log = tmp_path / "worker.log"
        process = run(COMMANDS["worker"], env, tmp_path, log)
        started.append(process)
        wait_for(lambda: discord.fake.identified > 0, process, log)
        assert stop(process) == 0


def test_the_local_process_file_runs_socket_mode_and_keeps_running(
    tmp_path: Path, data: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """`honcho -f Procfile.dev start` as the README says, with a .env from .env.example."""
    shutil.copy(REPO / "Procfile.dev", tmp_path / "Procfile.dev")
    with fake_slack() as api:
        example = (REPO / ".env.example").read_text("utf-8")
        (tmp_path / ".env").write_text(
            example.replace("SLACK_BOT_TOKEN=\n", f"SLACK_BOT_TOKEN={TOKEN}\n")
            .replace("SLACK_APP_TOKEN=\n", "SLACK_APP_TOKEN=xapp-1-A0001-test\n")
            .replace("SLACK_API_URL=\n", f"SLACK_API_URL={api.url}\n")
            .replace("SIT_DATA_DIR=\n", f"SIT_DATA_DIR={data}\n")
        )
        log = tmp_path / "honcho.log"
        process = run(
            f"{sys.executable} -m honcho -f Procfile.dev start", base_environment(), tmp_path, log
        )
        started.append(process)
        wait_for(lambda: "Socket Mode: connected" in log.read_text(errors="replace"), process, log)
        time.sleep(2)  # still running: no one-off process ends it
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGTERM)  # to honcho, which passes it on
        process.wait(15)
    text = log.read_text()
    assert "should_i_take_it.slack stopped" in text and "slack.1 stopped (rc=0)" in text, text
    assert "Traceback" not in text and TOKEN not in text
