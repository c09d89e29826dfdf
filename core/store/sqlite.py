"""The embedded default: the store on one SQLite file, driven by ``sqlite3`` on one thread.

Theory of operation:

- One connection, owned by one worker thread. Every store call is one job submitted to
  that thread: a load is one SELECT; a save, with its journal entry, is one transaction
  (``BEGIN IMMEDIATE`` … ``COMMIT``) run start to finish inside the job. So each call is
  one hop from the event loop and back, and no lock is held across an ``await``.
- Writes queue on the thread in arrival order: this process never contends with itself.
  Other processes on the same file queue on SQLite's lock (``busy_timeout``); WAL lets
  their readers go on while one writes, and ``BEGIN IMMEDIATE`` takes the write lock up
  front, so a writer waits rather than failing with "database is locked" on upgrade.
- ``synchronous=NORMAL``: in WAL mode a killed process loses nothing; a power cut may lose
  the last transactions, never corrupt the file.
- Times are stored as naive UTC text in SQLAlchemy's format (``2030-01-02 03:04:05.678901``)
  so the rows the migrations and earlier versions wrote read the same, and text order is
  time order.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import ConversationKey, ConversationWrite, Decision, StoredConversation
from core.store.sql import SqlStore, aware, configure_sqlite, translate_errors

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]

LOAD = "SELECT data, version, expires_at FROM conversations WHERE key = ?"
INSERT = (
    "INSERT INTO conversations"
    " (key, platform, workspace, user_id, data, version, expires_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP) ON CONFLICT (key) DO NOTHING"
)
UPDATE = (
    "UPDATE conversations SET data = ?, version = ?, expires_at = ?,"
    " updated_at = CURRENT_TIMESTAMP WHERE key = ? AND version = ?"
)
# The deadline stays: the indexed column is not rewritten.
UPDATE_KEEPING_DEADLINE = (
    "UPDATE conversations SET data = ?, version = ?,"
    " updated_at = CURRENT_TIMESTAMP WHERE key = ? AND version = ?"
)
RECORD = (
    "INSERT INTO decisions (key, platform, workspace, user_id, outcome, decided_at, lang, client)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
FORGET_LATEST = (
    "DELETE FROM decisions WHERE id ="
    " (SELECT id FROM decisions WHERE key = ? ORDER BY decided_at DESC, id DESC LIMIT 1)"
)
JOURNAL = (
    "SELECT outcome, decided_at, lang, platform, client FROM decisions WHERE key = ?"
    " ORDER BY decided_at DESC, id DESC LIMIT ?"
)
REMEMBER = (
    "INSERT INTO deliveries (id, keep_until) VALUES (?, ?) ON CONFLICT (id)"
    " DO UPDATE SET keep_until = excluded.keep_until WHERE deliveries.keep_until <= ?"
)


def to_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_text(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class SqliteWorker:
    """One thread with one SQLite connection; :meth:`call` runs a function on it.

    The connection is opened by the first job (and again after a failed open), so opening
    errors reach the caller like any other.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-store", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise sqlite3.ProgrammingError("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, future, loop))
        return await future

    async def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit BEGIN; writes say BEGIN IMMEDIATE themselves.
        connection = sqlite3.connect(self._path, isolation_level=None, cached_statements=64)
        try:
            configure_sqlite(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future, loop = job
            try:
                if self._connection is None:
                    self._connection = self._connect()
                outcome: tuple[bool, Any] = (True, fn(self._connection))
            except BaseException as exc:
                outcome = (False, exc)
            # RuntimeError: the caller's loop is closed, nobody is waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, outcome)
        if self._connection is not None:
            self._connection.close()


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():  # the caller was cancelled; the job ran anyway
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def write(connection: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``body`` in one write transaction, the write lock taken up front."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = body(connection)
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


def save_in(connection: sqlite3.Connection, w: ConversationWrite) -> bool:
    """The body of a save: the compare-and-set, then the journal entry if it won."""
    name = w.key.as_string()
    if w.expected_version is None:
        assert w.expires_at is not None  # ConversationWrite guarantees it
        platform, workspace, user = w.key.parts()
        params: tuple[Any, ...] = (
            name,
            platform,
            workspace,
            user,
            w.data,
            w.version,
            to_text(w.expires_at),
        )
        cursor = connection.execute(INSERT, params)
    elif w.expires_at is None:
        cursor = connection.execute(
            UPDATE_KEEPING_DEADLINE, (w.data, w.version, name, w.expected_version)
        )
    else:
        cursor = connection.execute(
            UPDATE, (w.data, w.version, to_text(w.expires_at), name, w.expected_version)
        )
    if cursor.rowcount != 1:
        return False
    if w.decision is not None:
        if w.replaces_decision:
            connection.execute(FORGET_LATEST, (name,))
        d = w.decision
        platform, workspace, user = w.key.parts()
        connection.execute(
            RECORD,
            (name, platform, workspace, user, d.outcome, to_text(d.decided_at), d.lang, d.client),
        )
    return True


class SqliteStore(SqlStore):
    """:class:`~core.ports.Store` on a SQLite file. Open it with
    :func:`core.store.open_store`, which also brings the schema up to date."""

    def __init__(self, url: URL, engine: AsyncEngine | None = None) -> None:
        super().__init__(url, engine)
        assert url.database, "location.database_url refuses an in-memory SQLite database"
        self._worker = SqliteWorker(url.database)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the store's own connection, on its thread (checks, benchmarks)."""
        return await self._worker.call(fn)

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        name = key.as_string()
        with translate_errors("load"):
            row = await self._worker.call(lambda c: c.execute(LOAD, (name,)).fetchone())
        if row is None:
            return None
        return StoredConversation(data=row[0], version=row[1], expires_at=from_text(row[2]))

    async def save(self, w: ConversationWrite) -> bool:
        with translate_errors("save"):
            return await self._worker.call(lambda c: write(c, lambda c: save_in(c, w)))

    async def forget(self, key: ConversationKey) -> int:
        name = key.as_string()

        def forget(connection: sqlite3.Connection) -> int:
            connection.execute("DELETE FROM conversations WHERE key = ?", (name,))
            return connection.execute("DELETE FROM decisions WHERE key = ?", (name,)).rowcount

        with translate_errors("forget"):
            return await self._worker.call(lambda c: write(c, forget))

    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        params = (delivery_id, to_text(aware("keep_until", keep_until)), to_text(aware("now", now)))
        with translate_errors("remember_delivery"):
            count = await self._worker.call(
                lambda c: write(c, lambda c: c.execute(REMEMBER, params).rowcount)
            )
        return count == 1

    async def sweep(self, now: datetime) -> int:
        params = (to_text(aware("now", now)),)

        def sweep(connection: sqlite3.Connection) -> int:
            gone = connection.execute("DELETE FROM conversations WHERE expires_at <= ?", params)
            old = connection.execute("DELETE FROM deliveries WHERE keep_until <= ?", params)
            return gone.rowcount + old.rowcount

        with translate_errors("sweep"):
            return await self._worker.call(lambda c: write(c, sweep))

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        params = (key.as_string(), limit)
        with translate_errors("decisions"):
            rows = await self._worker.call(lambda c: c.execute(JOURNAL, params).fetchall())
        return [
            Decision(outcome=o, decided_at=from_text(at), lang=lang, platform=p, client=client)
            for o, at, lang, p, client in rows
        ]

    async def ping(self) -> None:
        with translate_errors("ping"):
            await self._worker.call(lambda c: c.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        await self._worker.stop()
        await super().close()
