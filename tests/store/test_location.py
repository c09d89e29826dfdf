"""Where the data lives, and the database URLs people have turned into ones the store runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ports import StoreError
from core.store import database_url, default_data_dir


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Heroku's DATABASE_URL, and the spelling SQLAlchemy would want.
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg://u:p@db.example:5432/app"),
        ("postgresql://u:p@db.example/app", "postgresql+asyncpg://u:p@db.example/app"),
        ("postgresql+asyncpg://u@db.example/app", "postgresql+asyncpg://u@db.example/app"),
        # libpq's sslmode, as Heroku adds it, is asyncpg's ssl.
        (
            "postgres://u@db.example/app?sslmode=require",
            "postgresql+asyncpg://u@db.example/app?ssl=require",
        ),
        ("sqlite:////var/lib/bot/store.sqlite3", "sqlite+aiosqlite:////var/lib/bot/store.sqlite3"),
        ("sqlite:///relative.sqlite3", "sqlite+aiosqlite:///relative.sqlite3"),
        ("sqlite+aiosqlite:////tmp/x.sqlite3", "sqlite+aiosqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_urls_are_turned_into_async_driver_urls(given: str, expected: str) -> None:
    assert database_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("mysql://u@db.example/app", "unsupported database URL scheme 'mysql'"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "cannot be parsed"),
    ],
)
def test_unusable_database_urls_are_refused_by_name(given: str, complaint: str) -> None:
    with pytest.raises(StoreError, match=complaint):
        database_url(given)


def test_a_refused_url_does_not_repeat_its_password() -> None:
    with pytest.raises(StoreError) as refused:
        database_url("mysql://user:hunter2@db.example/app")
    assert "hunter2" not in str(refused.value)


def test_no_url_means_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = database_url(None, data_dir=tmp_path)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str(tmp_path / "should-i-take-it.sqlite3")


@pytest.mark.parametrize(
    ("xdg_data_home", "expected"),
    [
        ("/srv/data", Path("/srv/data/should-i-take-it")),
        (None, Path.home() / ".local/share/should-i-take-it"),
        ("", Path.home() / ".local/share/should-i-take-it"),
        ("relative/dir", Path.home() / ".local/share/should-i-take-it"),  # invalid per XDG
    ],
)
def test_the_default_data_dir_follows_xdg(
    monkeypatch: pytest.MonkeyPatch, xdg_data_home: str | None, expected: Path
) -> None:
    if xdg_data_home is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg_data_home)
    assert default_data_dir() == expected
    assert database_url(None).database == str(expected / "should-i-take-it.sqlite3")
