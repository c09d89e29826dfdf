"""Database failures reach the person as one line naming the setting and what failed,
without the driver's jargon (class paths, "Background on this error" links)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bots.cli import main
from tests.faults.harness import OUR_VARIABLES, free_port


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith(OUR_VARIABLES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def failure(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "sqlalche.me" not in err and "sqlalchemy" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", [["migrate"], ["history"]])
def test_a_refused_connection_says_nothing_answers(
    command: list[str], clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    clean.setenv("DATABASE_URL", f"postgresql://postgres:secret-pw@127.0.0.1:{port}/db")
    err = failure(capsys, *command)
    assert f"DATABASE_URL: nothing answers at 127.0.0.1:{port} (connection refused)" in err
    assert "secret-pw" not in err and "migrating the database failed" not in err


def test_an_unknown_host_is_named(
    clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean.setenv("DATABASE_URL", "postgresql://postgres@no-such-host.invalid/db")
    assert "the database host 'no-such-host.invalid' is unknown" in failure(capsys, "migrate")


@pytest.mark.postgres
def test_a_missing_database_and_a_refused_user(
    clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    server = pg_url.rsplit("/", 1)[0]
    clean.setenv("DATABASE_URL", f"{server}/no_such_database_i14")
    err = failure(capsys, "migrate")
    assert "the database 'no_such_database_i14' does not exist" in err and "createdb" in err
    host = server.rsplit("@", 1)[1]
    clean.setenv("DATABASE_URL", f"postgresql://nobody_i14:pw@{host}/postgres")
    err = failure(capsys, "migrate")
    assert "refused the user name or password" in err and ":pw@" not in err


def test_an_unusable_sqlite_directory_names_sit_data_dir(
    clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    clean.setenv("SIT_DATA_DIR", str(blocker / "data"))
    assert "SIT_DATA_DIR" in failure(capsys, "migrate")


def test_an_unsupported_scheme_is_named_once_with_what_to_write(
    clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean.setenv("DATABASE_URL", "mysql://u@db.example/app")
    err = failure(capsys, "migrate")
    assert "DATABASE_URL: unsupported database URL scheme 'mysql'" in err
    assert err.count("postgresql://") == 1 and err.count("sqlite:///") == 1
