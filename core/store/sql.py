"""The store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Theory of operation:

- Every call is one short transaction on a pooled connection; nothing is cached in the
  process, so any number of processes can share the database.
- ``save`` is a compare-and-set on ``version``: an INSERT that does nothing if the row
  exists, or an UPDATE guarded by the version the caller read. The row count says who won.
- ``remember_delivery`` is an INSERT that does nothing for a known id, unless that id's
  ``keep_until`` has passed (then it counts as new).
- SQLite: WAL journal (readers never block the writer), a busy timeout, and writes that
  start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of
  failing with "database is locked" when a read transaction tries to upgrade.
- PostgreSQL: every call is a single statement run in autocommit (one round trip, plus
  one for the pool's pre-ping, which makes a restarted server cost no restart here).
- Driver and connection errors leave as :class:`~core.ports.StoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import bindparam, delete, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from core.ports import ConversationKey, Decision, Store, StoredConversation, StoreError
from core.store.schema import conversations, deliveries
from core.store.schema import decisions as journal

# Generous: under load, a migration or a burst of writes from another process can hold
# the lock for a while, and waiting beats failing the turn.
SQLITE_BUSY_TIMEOUT_MS = 15000
WAL_SWITCH_ATTEMPTS = 200  # × 50 ms

# Execution option read by the SQLite "begin" hook: the statement that opens a
# transaction, or None for none at all (single reads autocommit and take no lock).
_SQLITE_BEGIN = "should_i_take_it_sqlite_begin"


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
        # OSError covers refused connections and connect timeouts, which asyncpg raises
        # before SQLAlchemy can wrap them.
        if isinstance(exc, SQLAlchemyError | OSError):
            raise StoreError(f"store: {self._doing} failed: {exc}") from exc


def make_engine(url: URL) -> AsyncEngine:
    """An engine for ``url`` (see :func:`core.store.location.database_url`), set up for
    the store: SQLite pragmas and BEGIN IMMEDIATE, PostgreSQL pre-ping.

    Errors never quote statement parameters: they are people's answers, not log material.
    """
    if url.get_backend_name() == "postgresql":
        # Autocommit: each call is one statement, atomic by itself, and both the statement
        # and the pre-ping then take one round trip (no BEGIN/ROLLBACK around them).
        return create_async_engine(
            url, pool_pre_ping=True, isolation_level="AUTOCOMMIT", hide_parameters=True
        )
    if url.get_backend_name() != "sqlite":
        raise StoreError(f"unsupported database backend {url.get_backend_name()!r}")
    if url.database:
        # SQLite creates the file but not the directory; the data is private to the user.
        with translate_errors("creating the data directory"):
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_async_engine(url, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver's own BEGIN is deferred; _sqlite_on_begin issues ours instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
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


def _aware(name: str, value: datetime) -> datetime:
    # A naive datetime would be read as local time; refuse it rather than guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")
    return value


class SqlStore(Store):
    """:class:`~core.ports.Store` on an engine from :func:`make_engine`.

    Use :func:`core.store.open_store`, which also brings the schema up to date.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. Queueing this process's writers on a lock hands
        # it over at once; left to SQLite's busy handler they would sleep and poll, which
        # halves throughput and adds latency spikes. Other processes still queue in SQLite.
        self._write_lock: AbstractAsyncContextManager[object] = contextlib.nullcontext()
        backend = engine.dialect.name
        insert: Callable[..., Any]
        if backend == "postgresql":
            self._reader = engine  # autocommit, see make_engine
            insert = postgresql.insert
        elif backend == "sqlite":
            self._write_lock = asyncio.Lock()
            self._reader = engine.execution_options(**{_SQLITE_BEGIN: None})
            insert = sqlite.insert
        else:
            raise StoreError(f"unsupported database backend {backend!r}")

        c = conversations.c
        self._load = select(c.data, c.version, c.expires_at).where(c.key == bindparam("p_key"))
        self._insert = insert(conversations).on_conflict_do_nothing(index_elements=[c.key])
        self._update = (
            update(conversations)
            .where(c.key == bindparam("p_key"), c.version == bindparam("p_expected"))
            .values(
                data=bindparam("p_data"),
                version=bindparam("p_version"),
                expires_at=bindparam("p_expires_at"),
                updated_at=func.now(),
            )
        )
        self._forget = delete(conversations).where(c.key == bindparam("p_key"))
        self._sweep_conversations = delete(conversations).where(c.expires_at <= bindparam("p_now"))

        d = deliveries.c
        remember = insert(deliveries).values(id=bindparam("p_id"), keep_until=bindparam("p_keep"))
        self._remember = remember.on_conflict_do_update(
            index_elements=[d.id],
            set_={"keep_until": remember.excluded.keep_until},
            where=d.keep_until <= bindparam("p_now"),
        )
        self._sweep_deliveries = delete(deliveries).where(d.keep_until <= bindparam("p_now"))

        j = journal.c
        self._record = journal.insert()
        self._journal = (
            select(j.outcome, j.decided_at, j.lang, j.platform, j.client)
            .where(j.key == bindparam("p_key"))
            .order_by(j.decided_at.desc(), j.id.desc())
            .limit(bindparam("p_limit"))
        )
        self._forget_journal = delete(journal).where(j.key == bindparam("p_key"))
        latest = (
            select(j.id)
            .where(j.key == bindparam("p_key"))
            .order_by(j.decided_at.desc(), j.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        self._forget_latest = delete(journal).where(j.id == latest)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @contextlib.asynccontextmanager
    async def _write(self, *, atomic: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for writing. ``atomic``: several statements that must land together;
        PostgreSQL connections are in autocommit, so this one gets a real transaction."""
        async with self._write_lock, self._engine.connect() as connection:
            if atomic and self._engine.dialect.name == "postgresql":
                # Reverted when the connection goes back to the pool.
                connection = await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                yield connection

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        with translate_errors("load"):
            async with self._reader.connect() as conn:
                row = (await conn.execute(self._load, {"p_key": key.as_string()})).first()
        if row is None:
            return None
        return StoredConversation(data=row.data, version=row.version, expires_at=row.expires_at)

    async def save(
        self,
        key: ConversationKey,
        data: str,
        *,
        version: int,
        expected_version: int | None,
        expires_at: datetime,
        decision: Decision | None = None,
        replaces_decision: bool = False,
    ) -> bool:
        _aware("expires_at", expires_at)
        journal_row = None if decision is None else self._journal_row(key, decision)
        with translate_errors("save"):
            async with self._write(atomic=decision is not None) as conn:
                if expected_version is None:
                    platform, workspace, user = key.parts()
                    result = await conn.execute(
                        self._insert,
                        {
                            "key": key.as_string(),
                            "platform": platform,
                            "workspace": workspace,
                            "user_id": user,
                            "data": data,
                            "version": version,
                            "expires_at": expires_at,
                        },
                    )
                else:
                    result = await conn.execute(
                        self._update,
                        {
                            "p_key": key.as_string(),
                            "p_expected": expected_version,
                            "p_data": data,
                            "p_version": version,
                            "p_expires_at": expires_at,
                        },
                    )
                saved: bool = result.rowcount == 1
                if saved and journal_row is not None:
                    if replaces_decision:
                        await conn.execute(self._forget_latest, {"p_key": key.as_string()})
                    await conn.execute(self._record, journal_row)
        return saved

    async def forget(self, key: ConversationKey) -> None:
        with translate_errors("forget"):
            async with self._write() as conn:
                await conn.execute(self._forget, {"p_key": key.as_string()})

    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        params = {
            "p_id": delivery_id,
            "p_keep": _aware("keep_until", keep_until),
            "p_now": _aware("now", now),
        }
        with translate_errors("remember_delivery"):
            async with self._write() as conn:
                result = await conn.execute(self._remember, params)
        return result.rowcount == 1

    async def sweep(self, now: datetime) -> int:
        params = {"p_now": _aware("now", now)}
        with translate_errors("sweep"):
            async with self._write() as conn:
                gone = (await conn.execute(self._sweep_conversations, params)).rowcount
                gone += (await conn.execute(self._sweep_deliveries, params)).rowcount
        return gone

    async def record_decision(self, key: ConversationKey, decision: Decision) -> None:
        row = self._journal_row(key, decision)
        with translate_errors("record_decision"):
            async with self._write() as conn:
                await conn.execute(self._record, row)

    @staticmethod
    def _journal_row(key: ConversationKey, decision: Decision) -> dict[str, Any]:
        platform, workspace, user = key.parts()
        if decision.platform != platform:
            raise ValueError(
                f"decision made on {decision.platform!r} filed under a {platform!r} key"
            )
        return {
            "key": key.as_string(),
            "platform": platform,
            "workspace": workspace,
            "user_id": user,
            "outcome": decision.outcome,
            "decided_at": _aware("decided_at", decision.decided_at),
            "lang": decision.lang,
            "client": decision.client,
        }

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with translate_errors("decisions"):
            async with self._reader.connect() as conn:
                rows = await conn.execute(
                    self._journal, {"p_key": key.as_string(), "p_limit": limit}
                )
                return [
                    Decision(
                        outcome=row.outcome,
                        decided_at=row.decided_at,
                        lang=row.lang,
                        platform=row.platform,
                        client=row.client,
                    )
                    for row in rows
                ]

    async def forget_decisions(self, key: ConversationKey) -> int:
        with translate_errors("forget_decisions"):
            async with self._write() as conn:
                result = await conn.execute(self._forget_journal, {"p_key": key.as_string()})
        return result.rowcount

    async def ping(self) -> None:
        with translate_errors("ping"):
            async with self._reader.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._engine.dispose()
