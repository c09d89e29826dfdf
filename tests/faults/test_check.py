"""``should-i-take-it check`` against the fake Slack Web API and real databases: exit 0
with a line per check when all is well; exit 1 naming the variable (or the file and key)
to fix when something is not, without echoing a secret."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bots.cli import main
from tests.conftest import REPO
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.harness import OUR_VARIABLES, TOKEN, fake_slack, free_port
from tests.slack.conftest import SECRET


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeSlackApi
) -> pytest.MonkeyPatch:
    """A deployment that checks out: Slack configured, SQLite in a temporary directory."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith(OUR_VARIABLES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", api.url)
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check"])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and SECRET not in out + err
    return code, out + err


@pytest.mark.postgres
def test_all_well(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    environment.setenv("DATABASE_URL", pg_url)
    code, out = check(capsys)
    assert code == 0, out
    assert "[  ok] Slack token: auth.test ok" in out
    assert "[  ok] Database: PostgreSQL" in out
    assert "FAIL" not in out


def test_a_refused_token_names_slack_bot_token(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api: FakeSlackApi
) -> None:
    api.fail("auth.test", "invalid_auth")
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "Slack token" in line and "SLACK_BOT_TOKEN" in line and "invalid_auth" in line


def test_an_unreachable_database_names_database_url(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "Database" in line and "DATABASE_URL" in line


def test_a_broken_questionnaire_names_the_file_and_the_key(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", prompts)
    english = prompts / "en.yaml"
    lines = english.read_text("utf-8").splitlines(keepends=True)
    english.write_text("".join(line for line in lines if "too_long:" not in line), "utf-8")
    environment.setenv("PROMPTS_DIR", str(prompts))
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "en.yaml" in line and "too_long" in line


def test_a_token_missing_manifest_scopes_fails_naming_them(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api: FakeSlackApi
) -> None:
    api.scopes = ["chat:write"]
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "Slack token" in line
    assert "commands, im:history, im:write, users:read" in line and "reinstall" in line


def test_a_revoked_app_token_fails_naming_slack_app_token(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api: FakeSlackApi
) -> None:
    environment.setenv("SLACK_APP_TOKEN", "xapp-1-revoked")
    api.fail("apps.connections.open", "invalid_auth")
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "SLACK_APP_TOKEN (invalid_auth)" in line and "xapp-1-revoked" not in out


def test_it_reports_the_mode_and_why_and_changes_nothing(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    api: FakeSlackApi,
    tmp_path: Path,
) -> None:
    code, out = check(capsys)
    assert code == 0, out
    assert "HTTP mode, because SLACK_SIGNING_SECRET is set and SLACK_APP_TOKEN is not" in out
    environment.setenv("SLACK_APP_TOKEN", "xapp-1-good")
    code, out = check(capsys)
    assert code == 0, out
    assert "Socket Mode, because SLACK_APP_TOKEN is set" in out
    assert "[  ok] Slack app token: apps.connections.open ok" in out
    assert not (tmp_path / "data").exists()  # no database file created, nothing migrated
    assert not api.to("chat.postMessage")


def test_an_env_file_copied_from_the_example_selects_socket_mode(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.delenv("SLACK_SIGNING_SECRET")
    environment.delenv("SLACK_BOT_TOKEN")
    example = (REPO / ".env.example").read_text("utf-8")
    (tmp_path / ".env").write_text(
        example.replace("SLACK_BOT_TOKEN=\n", f"SLACK_BOT_TOKEN={TOKEN}\n").replace(
            "SLACK_APP_TOKEN=\n", "SLACK_APP_TOKEN=xapp-1-good\n"
        )
    )
    environment.setattr(os, "environ", dict(os.environ))  # .env writes here, undone after
    code, out = check(capsys)
    assert code == 0, out
    assert "Socket Mode, because SLACK_APP_TOKEN is set" in out


@pytest.mark.postgres
def test_a_missing_database_is_one_plain_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    base = pg_url.rsplit("/", 1)[0]
    environment.setenv("DATABASE_URL", f"{base}/no_such_database_i14")
    code, out = check(capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL]")]
    assert "DATABASE_URL: the database 'no_such_database_i14' does not exist" in line
    assert "sqlalche.me" not in out and "asyncpg" not in out
