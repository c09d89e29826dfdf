"""The store on PostgreSQL, driven by asyncpg with a connection pool.

Theory of operation:

- Every store call is one statement, so one round trip: asyncpg prepares each statement
  once per connection and reuses it. A save is a compare-and-set (``UPDATE … WHERE
  version = $n RETURNING``, or ``INSERT … ON CONFLICT DO NOTHING RETURNING`` for a first
  save); when it carries a journal entry, the entry is written by the same statement
  (data-modifying CTEs), and only if the save won.
- Statements run in autocommit: each is atomic by itself, and no BEGIN/COMMIT trips; a
  connection goes back to the pool without asyncpg's reset query (see ``keep_session``).
- The pool opens connections on demand. When one turns out dropped by the server (a
  restart), all pooled connections are let go and a read is tried once more; a write only
  when nothing was sent (it may have landed otherwise: the turn fails and the caller's
  compare-and-set sorts it out on the next one).
- Driver and connection errors leave as :class:`~core.ports.StoreError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import ConversationKey, ConversationWrite, Decision, StoredConversation
from core.store.sql import SqlStore, aware, translate_errors

T = TypeVar("T")
POOL_SIZE = 10  # connections per process at most; a turn holds one for one round trip

LOAD = "SELECT data, version, expires_at FROM conversations WHERE key = $1"
# The conversation write, as a CTE named "saved" that yields a row only if it won.
_INSERT = (
    "INSERT INTO conversations"
    " (key, platform, workspace, user_id, data, version, expires_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (key) DO NOTHING RETURNING key"
)
_UPDATE = (
    "UPDATE conversations SET data = $3, version = $4, expires_at = $5, updated_at = now()"
    " WHERE key = $1 AND version = $2 RETURNING key"
)
# The deadline stays: no indexed column changes, so PostgreSQL can update in place (HOT).
_UPDATE_KEEPING_DEADLINE = (
    "UPDATE conversations SET data = $3, version = $4, updated_at = now()"
    " WHERE key = $1 AND version = $2 RETURNING key"
)
# After the write's own parameters come the journal's: n+1 … n+7.
_RECORD = (
    "added AS (INSERT INTO decisions"
    " (key, platform, workspace, user_id, outcome, decided_at, lang, client)"
    " SELECT $1, ${}::text, ${}::text, ${}::text, ${}::text, ${}::timestamptz,"
    " ${}::text, ${}::text FROM saved)"
)
_FORGET_LATEST = (
    "replaced AS (DELETE FROM decisions WHERE id = (SELECT id FROM decisions WHERE key = $1"
    " ORDER BY decided_at DESC, id DESC LIMIT 1) AND EXISTS (SELECT 1 FROM saved))"
)
FORGET = (
    "WITH conversation AS (DELETE FROM conversations WHERE key = $1),"
    " journal AS (DELETE FROM decisions WHERE key = $1 RETURNING 1)"
    " SELECT count(*) FROM journal"
)
REMEMBER = (
    "INSERT INTO deliveries (id, keep_until) VALUES ($1, $2) ON CONFLICT (id)"
    " DO UPDATE SET keep_until = EXCLUDED.keep_until WHERE deliveries.keep_until <= $3"
    " RETURNING 1"
)
SWEEP = (
    "WITH gone AS (DELETE FROM conversations WHERE expires_at <= $1 RETURNING 1),"
    " old AS (DELETE FROM deliveries WHERE keep_until <= $1 RETURNING 1)"
    " SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM old)"
)
JOURNAL = (
    "SELECT outcome, decided_at, lang, platform, client FROM decisions WHERE key = $1"
    " ORDER BY decided_at DESC, id DESC LIMIT $2"
)


def _save_statement(write: str, params: int, decision: bool, replaces: bool) -> str:
    if not decision:
        return write
    parts = [f"saved AS ({write})"]
    if replaces:
        parts.append(_FORGET_LATEST)
    parts.append(_RECORD.format(*range(params + 1, params + 8)))
    return f"WITH {', '.join(parts)} SELECT count(*) FROM saved"


# (write, with decision, replacing the latest) → statement; built once.
_WRITES = {"insert": (_INSERT, 7), "update": (_UPDATE, 5), "keep": (_UPDATE_KEEPING_DEADLINE, 4)}
SAVES = {
    (kind, decision, replaces): _save_statement(sql, n, decision, replaces)
    for kind, (sql, n) in _WRITES.items()
    for decision in (False, True)
    for replaces in (False, True)
}


# What a connection the server has dropped raises: mid-operation, or (asyncpg, having read
# the server's farewell while idle) on the next use, before sending anything.
_DROPPED = (asyncpg.ConnectionDoesNotExistError, asyncpg.InternalClientError, ConnectionError)


def connect_arguments(url: URL) -> dict[str, Any]:
    """asyncpg's arguments for a ``postgresql+asyncpg`` URL from ``location.database_url``."""
    query = dict(url.query)
    ssl = query.pop("ssl", None)  # location renamed libpq's sslmode for SQLAlchemy
    dsn = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
    return {"dsn": dsn, **({"ssl": ssl} if ssl is not None else {})}


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release, which has nothing to do: the store's statements leave no
    session state behind (no SET, LISTEN, cursor or advisory lock). asyncpg's default reset
    would cost a second round trip per call. (An open transaction is still rolled back.)"""


class PostgresStore(SqlStore):
    """:class:`~core.ports.Store` on PostgreSQL. Open it with
    :func:`core.store.open_store`, which also brings the schema up to date."""

    def __init__(self, url: URL, engine: AsyncEngine | None = None) -> None:
        super().__init__(url, engine)
        self._pool: asyncpg.Pool | None = None

    async def _connection_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            # min_size=0: creating the pool connects nothing; connections open on demand.
            pool = asyncpg.create_pool(
                **connect_arguments(self.url),
                min_size=0,
                max_size=POOL_SIZE,
                reset=keep_session,
            )
            self._pool = await pool
        return self._pool

    async def _read(self, doing: str, query: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        return await self._run(doing, query, may_repeat=True)

    async def _write(self, doing: str, query: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        return await self._run(doing, query, may_repeat=False)

    async def _run(
        self, doing: str, query: Callable[[asyncpg.Pool], Awaitable[T]], *, may_repeat: bool
    ) -> T:
        with translate_errors(doing):
            pool = await self._connection_pool()
            try:
                return await query(pool)
            except _DROPPED as exc:
                # The server restarted or ended our sessions: every pooled connection is
                # dead, not just this one. Let them all go; new ones open on demand.
                await pool.expire_connections()
                # The client-side error is raised before anything is sent: safe to repeat.
                if not (may_repeat or isinstance(exc, asyncpg.InternalClientError)):
                    raise
                return await query(pool)

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        name = key.as_string()
        row = await self._read("load", lambda pool: pool.fetchrow(LOAD, name))
        if row is None:
            return None
        return StoredConversation(data=row[0], version=row[1], expires_at=row[2])

    async def save(self, w: ConversationWrite) -> bool:
        name = w.key.as_string()
        params: tuple[Any, ...]
        if w.expected_version is None:
            kind, params = "insert", (name, *w.key.parts(), w.data, w.version, w.expires_at)
        elif w.expires_at is None:
            kind, params = "keep", (name, w.expected_version, w.data, w.version)
        else:
            kind, params = "update", (name, w.expected_version, w.data, w.version, w.expires_at)
        d = w.decision
        if d is not None:
            params += (*w.key.parts(), d.outcome, d.decided_at, d.lang, d.client)
        sql = SAVES[kind, d is not None, d is not None and w.replaces_decision]
        result = await self._write("save", lambda pool: pool.fetchval(sql, *params))
        return bool(result)

    async def forget(self, key: ConversationKey) -> int:
        name = key.as_string()
        count = await self._write("forget", lambda pool: pool.fetchval(FORGET, name))
        return int(count)

    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        params = (delivery_id, aware("keep_until", keep_until), aware("now", now))
        result = await self._write(
            "remember_delivery", lambda pool: pool.fetchval(REMEMBER, *params)
        )
        return result is not None

    async def sweep(self, now: datetime) -> int:
        at = aware("now", now)
        return int(await self._write("sweep", lambda pool: pool.fetchval(SWEEP, at)))

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        name = key.as_string()
        rows = await self._read("decisions", lambda pool: pool.fetch(JOURNAL, name, limit))
        return [
            Decision(outcome=r[0], decided_at=r[1], lang=r[2], platform=r[3], client=r[4])
            for r in rows
        ]

    async def ping(self) -> None:
        await self._read("ping", lambda pool: pool.fetchval("SELECT 1"))

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
        await super().close()
