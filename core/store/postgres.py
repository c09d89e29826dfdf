"""The store on PostgreSQL, driven by asyncpg with a connection pool.

Theory of operation:

- Every store call is one statement, so one round trip: asyncpg prepares each statement
  once per connection and reuses it. A save is a compare-and-set (``UPDATE … WHERE
  version = $n RETURNING``, or ``INSERT … ON CONFLICT DO NOTHING RETURNING`` for a first
  save); when it carries a journal entry, the entry (and its first reminder) is written by
  the same statement (data-modifying CTEs), and only if the save won.
- A claim (inbox rows, outbox messages, due reminders) is one ``UPDATE … WHERE id IN
  (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``: concurrent claimers skip each other's rows
  and never get the same one. Reminders go with their journal entry (``ON DELETE
  CASCADE``), so a forget or a revised decision needs no statement of its own for them.
- Statements run in autocommit: each is atomic by itself, and no BEGIN/COMMIT trips; a
  connection goes back to the pool without asyncpg's reset query (see ``keep_session``).
  Each commit waits for its WAL flush (an inbox row is durable before Slack's ack), but
  for marking outbox messages sent (``OUTBOX_SENT``).
- The pool opens connections on demand. When one turns out dropped by the server (a
  restart), all pooled connections are let go and a read is tried once more; a write only
  when nothing was sent (it may have landed otherwise: the turn fails and the caller's
  compare-and-set sorts it out on the next one).
- Driver and connection errors leave as :class:`~core.ports.StoreError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import (
    INBOX_KEEP,
    SENT_REMINDER_KEEP,
    UNDELIVERED_KEEP,
    ConversationKey,
    ConversationWrite,
    Decision,
    DueReminder,
    InboxItem,
    InboxRow,
    OutboxMessage,
    Reminder,
    Step,
    StoredConversation,
    aware,
)
from core.store import entries
from core.store.sql import SqlStore, translate_errors

T = TypeVar("T")
POOL_SIZE = 10  # connections per process at most; a turn holds one for one round trip
# Inbox writes have connections of their own: they stand between a request and its ack,
# and must not queue behind turns' reads and writes.
INBOX_POOL_SIZE = 8

LOAD = "SELECT data, version, expires_at FROM conversations WHERE key = $1"
# The conversation write, as a CTE named "saved" that yields a row only if it won. {guard}:
# "TRUE", or that the inbox row the turn processes is still open.
_INSERT = (
    "INSERT INTO conversations"
    " (key, platform, workspace, user_id, data, version, expires_at, updated_at)"
    " SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::int, $7::timestamptz, now()"
    " WHERE {guard} ON CONFLICT (key) DO NOTHING RETURNING key"
)
_UPDATE = (
    "UPDATE conversations SET data = $3, version = $4, expires_at = $5, updated_at = now()"
    " WHERE key = $1 AND version = $2 AND {guard} RETURNING key"
)
# The deadline stays: no indexed column changes, so PostgreSQL can update in place (HOT).
_UPDATE_KEEPING_DEADLINE = (
    "UPDATE conversations SET data = $3, version = $4, updated_at = now()"
    " WHERE key = $1 AND version = $2 AND {guard} RETURNING key"
)
_OPEN = "EXISTS (SELECT 1 FROM inbox WHERE id = ${}::int AND done_at IS NULL)"
# After the write's own parameters come the journal's: n+1 … n+11.
_RECORD = (
    "added AS (INSERT INTO decisions (key, platform, workspace, user_id, outcome, decided_at,"
    " lang, client, ref, details, status, steps)"
    " SELECT $1, ${}::text, ${}::text, ${}::text, ${}::text, ${}::timestamptz,"
    " ${}::text, ${}::text, ${}::bigint, ${}::text, ${}::text, ${}::text FROM saved"
    " RETURNING id, platform, decided_at)"
)
# The entry's first reminder (its kind and due time come last of all the parameters).
_SCHEDULE = (
    "scheduled AS (INSERT INTO reminders (key, platform, decision_id, kind, due_at, created_at)"
    " SELECT $1, platform, id, ${}::text, ${}::timestamptz, decided_at FROM added)"
)
# The replaced entry's reminders go with it (ON DELETE CASCADE).
_FORGET_LATEST = (
    "replaced AS (DELETE FROM decisions WHERE id = (SELECT id FROM decisions WHERE key = $1"
    " ORDER BY decided_at DESC, id DESC LIMIT 1) AND EXISTS (SELECT 1 FROM saved))"
)
# Then: now, the inbox id, and the outbox's ids, keys, payloads and holds (arrays).
_DONE = (
    "done AS (UPDATE inbox SET done_at = ${0}::timestamptz WHERE id = ${1}::int"
    " AND done_at IS NULL AND {2} RETURNING 1)"
)
_QUEUE = (
    "queued AS (INSERT INTO outbox (id, key, payload, created_at, hold_until)"
    " SELECT i, k, p, ${0}::timestamptz, h FROM unnest(${1}::text[], ${2}::text[],"
    " ${3}::text[], ${4}::timestamptz[]) WITH ORDINALITY AS t(i, k, p, h, n)"
    " WHERE {5} ORDER BY n)"
)
# A result shown again in another tone or language: its entry (the one recorded last with
# that ref) takes the new language and details. Then: the language, the details, the ref.
_LOOK = (
    "looked AS (UPDATE decisions SET lang = ${0}::text, details = ${1}::text WHERE id ="
    " (SELECT id FROM decisions WHERE key = $1 AND ref = ${2}::bigint ORDER BY id DESC LIMIT 1)"
    " AND {3})"
)
FINISH = (
    "WITH "
    + _DONE.format(1, 2, "TRUE")
    + ", "
    + _QUEUE.format(1, 3, 4, 5, 6, "($2::int IS NULL OR EXISTS (SELECT 1 FROM done))")
    + " SELECT $2::int IS NULL OR EXISTS (SELECT 1 FROM done)"
)
INBOX_PUT = (
    "INSERT INTO inbox (delivery_id, key, payload, received_at, claimed_until)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING RETURNING id"
)
INBOX_CLAIM = (
    "UPDATE inbox SET claimed_until = $2 WHERE id IN (SELECT id FROM inbox"
    " WHERE done_at IS NULL AND claimed_until <= $1 ORDER BY id LIMIT $3"
    " FOR UPDATE SKIP LOCKED) RETURNING id, key, payload, received_at"
)
INBOX_OPEN = "SELECT 1 FROM inbox WHERE id = $1 AND done_at IS NULL"
OUTBOX_CLAIM = (
    "UPDATE outbox SET hold_until = $2 WHERE seq IN (SELECT seq FROM outbox"
    " WHERE sent_at IS NULL AND hold_until <= $1 ORDER BY seq LIMIT $3"
    " FOR UPDATE SKIP LOCKED) RETURNING seq, id, key, payload"
)
# Committed without waiting for the WAL flush: a mark lost to a database crash only sends
# a message again (at least once anyway), and a turn is not kept waiting for a second fsync.
OUTBOX_SENT = (
    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))"
    " UPDATE outbox SET sent_at = $1 FROM relaxed WHERE id = ANY($2::text[])"
)
# The entries' reminders go with them (ON DELETE CASCADE).
FORGET = (
    "WITH conversation AS (DELETE FROM conversations WHERE key = $1),"
    " profile AS (DELETE FROM profiles WHERE key = $1),"
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
    " old AS (DELETE FROM deliveries WHERE keep_until <= $1 RETURNING 1),"
    " inbox AS (DELETE FROM inbox WHERE done_at <= $2"
    " OR (done_at IS NULL AND received_at <= $3) RETURNING 1),"
    " outbox AS (DELETE FROM outbox WHERE sent_at <= $2"
    " OR (sent_at IS NULL AND created_at <= $3) RETURNING 1),"
    " reminded AS (DELETE FROM reminders WHERE sent_at <= $4 RETURNING 1)"
    " SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM old)"
    " + (SELECT count(*) FROM inbox) + (SELECT count(*) FROM outbox)"
    " + (SELECT count(*) FROM reminded)"
)
# Entries chosen by {}, each with its earliest unsent reminder (or NULLs), newest first.
_ENTRY_COLUMNS = "id, outcome, decided_at, lang, platform, client, ref, details, status, steps"
_WITH_PENDING = (
    "SELECT d.*, r.kind, r.due_at FROM ({}) AS d LEFT JOIN LATERAL (SELECT kind, due_at"
    " FROM reminders WHERE decision_id = d.id AND sent_at IS NULL ORDER BY due_at, id LIMIT 1)"
    " AS r ON TRUE ORDER BY d.decided_at DESC, d.id DESC"
)
JOURNAL = _WITH_PENDING.format(
    f"SELECT {_ENTRY_COLUMNS} FROM decisions WHERE key = $1"
    " ORDER BY decided_at DESC, id DESC LIMIT $2"
)
# An entry by its ref (ix_decisions_key_ref): the one recorded last, should two ever
# share one.
_BY_REF = "SELECT {} FROM decisions WHERE key = $1 AND ref = $2 ORDER BY id DESC LIMIT 1"
ENTRY = _WITH_PENDING.format(_BY_REF.format(_ENTRY_COLUMNS))
# The entry locked, the step appended (to the row as it stands when the lock is had, so two
# follow-ups at once both land), the status set; with $5, its unsent reminders replaced by
# the one in $7, $8 (none when $7 is NULL). The pending reminder read at the end is the
# one before the statement: with $5 the caller knows it.
FOLLOW_UP = (
    "WITH entry AS (" + _BY_REF.format("id") + " FOR UPDATE),"
    " changed AS (UPDATE decisions AS d SET steps ="
    " (d.steps::jsonb || jsonb_build_array(jsonb_build_array($3::text, $4::text)))::text,"
    " status = coalesce($6::text, d.status) FROM entry WHERE d.id = entry.id"
    " RETURNING d.id, d.outcome, d.decided_at, d.lang, d.platform, d.client, d.ref,"
    " d.details, d.status, d.steps),"
    " cancelled AS (DELETE FROM reminders WHERE $5::bool AND sent_at IS NULL"
    " AND decision_id IN (SELECT id FROM entry)),"
    " scheduled AS (INSERT INTO reminders (key, platform, decision_id, kind, due_at, created_at)"
    " SELECT $1, $9::text, id, $7::text, $8::timestamptz, $10::timestamptz FROM entry"
    " WHERE $5::bool AND $7::text IS NOT NULL)"
    " SELECT c.*, r.kind, r.due_at FROM changed AS c LEFT JOIN LATERAL (SELECT kind, due_at"
    " FROM reminders WHERE decision_id = c.id AND sent_at IS NULL ORDER BY due_at, id LIMIT 1)"
    " AS r ON TRUE"
)
# Claimed in one statement: the due rows are locked as they are found (a range scan of
# ix_reminders_due, the partial index of unsent rows), rows another claimer holds locked
# are skipped, and a row whose claim a concurrent claimer committed meanwhile is
# re-checked against the WHERE and left out. Two claimers never get the same reminder.
REMINDERS_CLAIM = (
    "WITH due AS (SELECT id FROM reminders WHERE platform = $1 AND sent_at IS NULL"
    " AND due_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)"
    " AND ($5::text IS NULL OR key = $5)"
    " ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED),"
    " claimed AS (UPDATE reminders AS r SET claimed_until = $3 FROM due WHERE r.id = due.id"
    " RETURNING r.id, r.kind, r.due_at, r.decision_id)"
    " SELECT c.id, c.kind, c.due_at, d.workspace, d.user_id, d.outcome, d.decided_at, d.lang,"
    " d.platform, d.client, d.ref, d.details, d.status, d.steps"
    " FROM claimed AS c JOIN decisions AS d ON d.id = c.decision_id ORDER BY c.due_at, c.id"
)
REMINDERS_SENT = "UPDATE reminders SET sent_at = $1 WHERE id = ANY($2::int[]) AND sent_at IS NULL"
LOAD_PROFILE = "SELECT data FROM profiles WHERE key = $1"
SAVE_PROFILE = (
    "INSERT INTO profiles (key, platform, workspace, user_id, data, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key)"
    " DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at"
)


def _save_statement(
    write: str,
    params: int,
    decision: bool,
    replaces: bool,
    inbox: bool,
    outbox: bool,
    reminder: bool = False,
    look: bool = False,
) -> str:
    n = params + (11 if decision else 0)  # the parameters so far
    now, inbox_id, arrays = n + 1, n + 2, n + 3
    last = n + (2 if inbox or outbox else 0) + (4 if outbox else 0)
    write = write.format(guard=_OPEN.format(inbox_id) if inbox else "TRUE")
    if not (decision or inbox or outbox or look):
        return write
    parts = [f"saved AS ({write})"]
    if replaces:
        parts.append(_FORGET_LATEST)
    if decision:
        parts.append(_RECORD.format(*range(params + 1, params + 12)))
    if reminder:
        parts.append(_SCHEDULE.format(last + 1, last + 2))
    won = "EXISTS (SELECT 1 FROM saved)"
    if inbox:
        parts.append(_DONE.format(now, inbox_id, won))
    if outbox:
        parts.append(_QUEUE.format(now, *range(arrays, arrays + 4), won))
    if look:  # never with a decision, so never with its reminder's parameters
        parts.append(_LOOK.format(last + 1, last + 2, last + 3, won))
    return f"WITH {', '.join(parts)} SELECT count(*) FROM saved"


# (write, with decision, replacing the latest, settling an inbox row, queueing messages,
# scheduling the decision's reminder) → statement; built once.
_WRITES = {"insert": (_INSERT, 7), "update": (_UPDATE, 5), "keep": (_UPDATE_KEEPING_DEADLINE, 4)}
SAVES = {
    (kind, decision, replaces, inbox, outbox, reminder, look): _save_statement(
        sql, n, decision, replaces, inbox, outbox, reminder, look
    )
    for kind, (sql, n) in _WRITES.items()
    for decision in (False, True)
    for replaces in (False, True)
    for inbox in (False, True)
    for outbox in (False, True)
    for reminder in (False, True)
    for look in (False, True)
    if (decision or not (replaces or reminder)) and not (decision and look)
}


def entry_from(row: Sequence[Any]) -> Decision:
    """The entry from a row of ``_WITH_PENDING`` (see :func:`entries.from_row`)."""
    return entries.from_row(row, _as_read)


def _as_read(value: datetime) -> datetime:
    return value  # asyncpg reads timestamptz as aware datetimes already


def _arrays(outbox: Sequence[OutboxMessage]) -> tuple[list[Any], ...]:
    return (
        [m.id for m in outbox],
        [m.key for m in outbox],
        [m.payload for m in outbox],
        [m.hold_until for m in outbox],
    )


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
        self._pools: dict[bool, asyncpg.Pool] = {}  # inbox? → pool

    async def _connection_pool(self, inbox: bool = False) -> asyncpg.Pool:
        if inbox not in self._pools:
            # min_size=0: creating the pool connects nothing; connections open on demand.
            pool = asyncpg.create_pool(
                **connect_arguments(self.url),
                min_size=0,
                max_size=INBOX_POOL_SIZE if inbox else POOL_SIZE,
                reset=keep_session,
            )
            self._pools[inbox] = await pool
        return self._pools[inbox]

    async def _read(self, doing: str, query: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        return await self._run(doing, query, may_repeat=True)

    async def _write(
        self, doing: str, query: Callable[[asyncpg.Pool], Awaitable[T]], *, inbox: bool = False
    ) -> T:
        return await self._run(doing, query, may_repeat=False, inbox=inbox)

    async def _run(
        self,
        doing: str,
        query: Callable[[asyncpg.Pool], Awaitable[T]],
        *,
        may_repeat: bool,
        inbox: bool = False,
    ) -> T:
        with translate_errors(doing):
            pool = await self._connection_pool(inbox)
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
            params += (d.ref, entries.details_json(d.details), d.status)
            params += (entries.steps_json(d.steps),)
        inbox, outbox = w.inbox_id is not None, bool(w.outbox)
        if inbox or outbox:
            params += (w.now, w.inbox_id)
        if outbox:
            params += _arrays(w.outbox)
        if w.reminder is not None:
            params += (w.reminder.kind, w.reminder.due_at)
        if w.look is not None:
            params += (w.look.lang, entries.details_json(w.look.details), w.look.ref)
        replaces = d is not None and w.replaces_decision
        flags = (replaces, inbox, outbox, w.reminder is not None, w.look is not None)
        sql = SAVES[(kind, d is not None, *flags)]
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
        params = (at, at - INBOX_KEEP, at - UNDELIVERED_KEEP, at - SENT_REMINDER_KEEP)
        return int(await self._write("sweep", lambda pool: pool.fetchval(SWEEP, *params)))

    async def inbox_put(self, item: InboxItem, *, claim_until: datetime) -> int | None:
        params = (
            item.delivery_id,
            item.key,
            item.payload,
            aware("received_at", item.received_at),
            aware("claim_until", claim_until),
        )
        result = await self._write(
            "inbox_put", lambda pool: pool.fetchval(INBOX_PUT, *params), inbox=True
        )
        return None if result is None else int(result)

    async def inbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[InboxRow]:
        params = (aware("now", now), aware("claim_until", claim_until), limit)
        rows = await self._write("inbox_claim", lambda pool: pool.fetch(INBOX_CLAIM, *params))
        return sorted((InboxRow(r[0], r[1], r[2], r[3]) for r in rows), key=lambda r: r.id)

    async def inbox_open(self, inbox_id: int) -> bool:
        row = await self._read("inbox_open", lambda pool: pool.fetchval(INBOX_OPEN, inbox_id))
        return row is not None

    async def finish(
        self, inbox_id: int | None, outbox: Sequence[OutboxMessage], *, now: datetime
    ) -> bool:
        params = (aware("now", now), inbox_id, *_arrays(outbox))
        return bool(await self._write("finish", lambda pool: pool.fetchval(FINISH, *params)))

    async def outbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        until = aware("claim_until", claim_until)
        params = (aware("now", now), until, limit)
        rows = await self._write("outbox_claim", lambda pool: pool.fetch(OUTBOX_CLAIM, *params))
        return [OutboxMessage(r[1], r[2], r[3], until) for r in sorted(rows, key=lambda r: r[0])]

    async def outbox_sent(self, ids: Sequence[str], *, now: datetime) -> None:
        at, sent = aware("now", now), list(ids)
        await self._write("outbox_sent", lambda pool: pool.execute(OUTBOX_SENT, at, sent))

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        name = key.as_string()
        rows = await self._read("decisions", lambda pool: pool.fetch(JOURNAL, name, limit))
        return [entry_from(r) for r in rows]

    async def entry(self, key: ConversationKey, ref: int) -> Decision | None:
        name = key.as_string()
        row = await self._read("entry", lambda pool: pool.fetchrow(ENTRY, name, ref))
        return None if row is None else entry_from(row)

    async def follow_up(
        self,
        key: ConversationKey,
        ref: int,
        step: Step,
        *,
        status: str | None = None,
        reschedule: bool = False,
        reminder: Reminder | None = None,
    ) -> Decision | None:
        name, at = key.as_string(), aware("at", step.at)
        kind, due = (None, None) if reminder is None else (reminder.kind, reminder.due_at)
        if due is not None:
            aware("due_at", due)
        params = (name, ref, *entries.step_json(step), reschedule, status, kind, due)
        params += (key.platform, at)
        row = await self._write("follow_up", lambda pool: pool.fetchrow(FOLLOW_UP, *params))
        if row is None:
            return None
        decision = entry_from(row)
        # The statement read the reminders as they were before it replaced them.
        return replace(decision, reminder=reminder) if reschedule else decision

    async def reminders_claim(
        self,
        platform: str,
        now: datetime,
        *,
        claim_until: datetime,
        limit: int = 100,
        key: ConversationKey | None = None,
    ) -> list[DueReminder]:
        name = None if key is None else key.as_string()
        params = (platform, aware("now", now), aware("claim_until", claim_until), limit, name)
        rows = await self._write(
            "reminders_claim", lambda pool: pool.fetch(REMINDERS_CLAIM, *params)
        )
        return entries.due_reminders(platform, rows, _as_read)

    async def reminders_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        # Committed with its WAL flush (unlike OUTBOX_SENT): reminders are few, and a mark
        # lost to a database crash would send a "did they answer?" twice.
        at, sent = aware("now", now), list(ids)
        await self._write("reminders_sent", lambda pool: pool.execute(REMINDERS_SENT, at, sent))

    async def load_profile(self, key: ConversationKey) -> str | None:
        name = key.as_string()
        data = await self._read("load_profile", lambda pool: pool.fetchval(LOAD_PROFILE, name))
        return None if data is None else str(data)

    async def save_profile(self, key: ConversationKey, data: str, *, now: datetime) -> None:
        params = (key.as_string(), *key.parts(), data, aware("now", now))
        await self._write("save_profile", lambda pool: pool.execute(SAVE_PROFILE, *params))

    async def ping(self) -> None:
        await self._read("ping", lambda pool: pool.fetchval("SELECT 1"))

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
        await super().close()
