"""What the SQL stores share: the SQLAlchemy engine (for Alembic and for whoever needs a
SQLAlchemy handle on the same database), error translation and the common base class.

The stores themselves do not run on SQLAlchemy: :mod:`core.store.sqlite` drives
``sqlite3`` on a thread of its own, :mod:`core.store.postgres` drives asyncpg, each making
one trip to the database per store call. SQLAlchemy stays for the schema: the migrations
run on an engine from :func:`make_engine`, and :attr:`SqlStore.engine` hands one out
(created on first use, connecting only when used) for other tables on the same database,
such as the Slack OAuth installation stores.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from core.ports import Store, StoreError

# Generous: under load, a migration or a burst of writes from another process can hold
# the lock for a while, and waiting beats failing the turn.
SQLITE_BUSY_TIMEOUT_MS = 15000
WAL_SWITCH_ATTEMPTS = 200  # × 50 ms

# Execution option read by the SQLite "begin" hook: the statement that opens a
# transaction, or None for none at all.
_SQLITE_BEGIN = "should_i_take_it_sqlite_begin"

# What drivers and connections raise. OSError covers refused connections and connect
# timeouts, which asyncpg raises as they come.
_DRIVER_ERRORS = (
    SQLAlchemyError,
    OSError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class translate_errors:  # lower case: it reads as a verb in `with translate_errors(...)`
    """Re-raise driver and connection errors as StoreError, naming what was being done."""

    __slots__ = ("_doing",)

    def __init__(self, doing: str) -> None:
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, _DRIVER_ERRORS):
            raise StoreError(f"store: {self._doing} failed: {exc}") from exc


def make_engine(url: URL) -> AsyncEngine:
    """A SQLAlchemy engine for ``url`` (see :func:`core.store.location.database_url`), set
    up like the store's own connections: SQLite pragmas and BEGIN IMMEDIATE, PostgreSQL
    pre-ping. Used by the migrations and :attr:`SqlStore.engine`.

    Errors never quote statement parameters: they are people's answers, not log material.
    """
    if url.get_backend_name() == "postgresql":
        return create_async_engine(
            url, pool_pre_ping=True, isolation_level="AUTOCOMMIT", hide_parameters=True
        )
    if url.get_backend_name() != "sqlite":
        raise StoreError(f"unsupported database backend {url.get_backend_name()!r}")
    ensure_data_directory(url)
    engine = create_async_engine(url, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def ensure_data_directory(url: URL) -> None:
    # SQLite creates the file but not the directory; the data is private to the user.
    if url.database:
        with translate_errors("creating the data directory"):
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver's own BEGIN is deferred; _sqlite_on_begin issues ours instead.
    dbapi_connection.isolation_level = None
    configure_sqlite(dbapi_connection)


def configure_sqlite(connection: Any) -> None:
    """The settings every SQLite connection of this app runs with (the store's, and the
    engine's): WAL, synchronous=NORMAL, a busy timeout, foreign keys."""
    cursor = connection.cursor()
    # busy_timeout first: switching to WAL may itself have to wait for another process.
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    # In WAL mode NORMAL loses nothing when the process is killed (only on power loss).
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # While another process is still creating the file, SQLite may refuse the switch to WAL
    # at once ("database is locked") without waiting on busy_timeout. It only happens on a
    # brand-new file (once in WAL, the switch is a no-op), so a short blocking retry is fine.
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(connection: Connection) -> None:
    statement = connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN IMMEDIATE")
    if statement:
        connection.exec_driver_sql(statement)


class SqlStore(Store):
    """What both SQL stores offer beyond the port: their URL and a SQLAlchemy engine on the
    same database. Open one with :func:`core.store.open_store`."""

    def __init__(self, url: URL, engine: AsyncEngine | None = None) -> None:
        self.url = url
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        """A SQLAlchemy engine on the store's database, for tables that are not the store's
        (slack_sdk's OAuth stores). The store never uses it; it connects when used and is
        disposed of by :meth:`close`."""
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
