"""Where conversations live: the default SQLite file, and ``DATABASE_URL`` made usable.

With no URL the store is one SQLite file in a per-user data directory. A URL may come
in the forms people actually have (Heroku's ``postgres://``, a plain ``sqlite:///``); it
is turned into the SQLAlchemy URL of the async driver the store uses.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.ports import StoreError

APP_NAME = "should-i-take-it"
SQLITE_FILENAME = f"{APP_NAME}.sqlite3"

# The schemes people write, mapped to the async driver we run them on.
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/should-i-take-it``, else ``~/.local/share/should-i-take-it``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / APP_NAME


def database_url(url: str | None, *, data_dir: Path | None = None) -> URL:
    """The SQLAlchemy URL for ``url``; ``None`` means the SQLite file in ``data_dir``."""
    if url is None:
        path = (data_dir or default_data_dir()) / SQLITE_FILENAME
        return URL.create("sqlite+aiosqlite", database=str(path.absolute()))
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        # The message names no part of the URL: it may hold a password.
        raise StoreError("the database URL cannot be parsed") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreError(
            f"unsupported database URL scheme {parsed.drivername!r}; PostgreSQL and SQLite "
            "are supported"
        )
    parsed = parsed.set(drivername=driver)
    if driver == "postgresql+asyncpg" and "sslmode" in parsed.query:
        # libpq spells it sslmode (Heroku adds ?sslmode=require); asyncpg's keyword is ssl.
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    if driver == "sqlite+aiosqlite" and parsed.database in (None, "", ":memory:"):
        # Each pooled connection would get its own empty database.
        raise StoreError("an in-memory SQLite database cannot hold conversations; give a path")
    return parsed
