"""The durable conversation store: an embedded SQLite file by default, PostgreSQL when
``DATABASE_URL`` says so.

The session layer knows only :class:`core.ports.Store`; a composition root opens one with
``store = await open_store(os.environ.get("DATABASE_URL"))`` and closes it at exit.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import StoreError
from core.store.location import database_url, default_data_dir
from core.store.postgres import PostgresStore
from core.store.sql import SqlStore, ensure_data_directory, make_engine
from core.store.sqlite import SqliteStore

SCHEMA_HEAD = "0004"
"""The newest migration (a test checks it is Alembic's head). A database already there is
opened without importing Alembic at all, which costs more than the rest of a start-up."""

__all__ = [
    "PostgresStore",
    "SqlStore",
    "SqliteStore",
    "connect_store",
    "database_url",
    "default_data_dir",
    "open_store",
]


def connect_store(url: URL, engine: AsyncEngine | None = None) -> SqlStore:
    """The store for ``url`` (from :func:`database_url`), schema untouched, connecting
    nothing yet: connection errors come from the first call. ``engine``: a SQLAlchemy
    engine on the same database to hand out as :attr:`SqlStore.engine`."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresStore(url, engine)
    if backend == "sqlite":
        ensure_data_directory(url)
        return SqliteStore(url, engine)
    raise StoreError(f"unsupported database backend {backend!r}")


async def open_store(url: str | None = None, *, data_dir: Path | None = None) -> SqlStore:
    """Open the store at ``url`` (None: ``<data_dir>/should-i-take-it.sqlite3``, by default
    in :func:`default_data_dir`) and migrate its schema to the newest version.

    Raises :class:`core.ports.StoreError` when the URL is unusable or the database cannot
    be reached or migrated.
    """
    location = database_url(url, data_dir=data_dir)
    engine = make_engine(location)
    try:
        if not await _at_head(engine):
            from core.store.migrate import upgrade

            await upgrade(engine)
    finally:
        # The engine keeps no connection open; it stays usable as the store's `engine`.
        await engine.dispose()
    store = connect_store(location, engine)
    try:
        await store.ping()
    except BaseException:
        await store.close()
        raise
    return store


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the schema is already the newest (False also when it cannot be told: the
    migration then runs, and reports what is wrong)."""
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in found] == [SCHEMA_HEAD]
    except (SQLAlchemyError, OSError):
        return False
