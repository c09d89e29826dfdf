"""The embedded default: the store on one SQLite file, driven by ``sqlite3`` on one thread.

Theory of operation:

- Every store call is one function run start to finish on one connection: a load is one
  SELECT; a save, with its journal entry, is one transaction (``BEGIN IMMEDIATE`` …
  ``COMMIT``). No lock is ever held across an ``await``.
- It runs first right on the event loop, on a connection that never waits
  (``busy_timeout = 0``): in WAL mode a read never waits, and a write only when another
  process holds the write lock. That costs 10–100 µs, less than handing the call to a
  thread and back, which also waits for the GIL while the loop is busy (the interpreter
  hands it over every 5 ms): measured, 14 ms per load on a busy loop against 0.2 ms idle.
- When the database is busy (another process is writing), the same function is handed
  as one job to the store's worker thread, whose connection waits (``busy_timeout``) for
  the lock; the event loop goes on meanwhile. ``BEGIN IMMEDIATE`` takes the write lock up
  front, so a writer waits rather than failing with "database is locked" on upgrade, and a
  busy attempt on the loop has changed nothing when it is handed over.
- A claim (inbox rows, outbox messages, due reminders) is a SELECT and an UPDATE in one
  such transaction: the write lock is the database's only one, so no other process can
  claim in between. Reminders go with their journal entry (``ON DELETE CASCADE``; every
  connection runs with ``foreign_keys = ON``).
- Checkpoints (copying the WAL into the database file, with an fsync) run on the worker
  thread too, every ``CHECKPOINT_EVERY`` writes, never on the event loop.
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
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

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
from core.store.sql import SqlStore, configure_sqlite, translate_errors

T = TypeVar("T")
Job = tuple[
    Callable[[sqlite3.Connection], Any], asyncio.Future[Any] | None, asyncio.AbstractEventLoop
]
CHECKPOINT_EVERY = 200  # writes on the event loop between two checkpoints on the thread
_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)

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
    "INSERT INTO decisions (key, platform, workspace, user_id, outcome, decided_at, lang,"
    " client, ref, details, status, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Its reminders go with it (ON DELETE CASCADE).
FORGET_LATEST = (
    "DELETE FROM decisions WHERE id ="
    " (SELECT id FROM decisions WHERE key = ? ORDER BY decided_at DESC, id DESC LIMIT 1)"
)
# Entries chosen by {}, each with its earliest unsent reminder (or NULLs), newest first.
_WITH_PENDING = (
    "SELECT d.id, d.outcome, d.decided_at, d.lang, d.platform, d.client, d.ref, d.details,"
    " d.status, d.steps, r.kind, r.due_at FROM ({}) AS d LEFT JOIN reminders AS r ON r.id ="
    " (SELECT id FROM reminders WHERE decision_id = d.id AND sent_at IS NULL"
    " ORDER BY due_at, id LIMIT 1) ORDER BY d.decided_at DESC, d.id DESC"
)
_ENTRY_COLUMNS = "id, outcome, decided_at, lang, platform, client, ref, details, status, steps"
JOURNAL = _WITH_PENDING.format(
    f"SELECT {_ENTRY_COLUMNS} FROM decisions WHERE key = ?"
    " ORDER BY decided_at DESC, id DESC LIMIT ?"
)
# An entry by its ref (ix_decisions_key_ref, whose rows are in id order for one ref): the
# one recorded last, should two ever share one.
ENTRY = _WITH_PENDING.format(
    f"SELECT {_ENTRY_COLUMNS} FROM decisions WHERE key = ? AND ref = ? ORDER BY id DESC LIMIT 1"
)
FOLLOW_UP = "UPDATE decisions SET steps = ?, status = coalesce(?, status) WHERE id = ?"
LOOK = (
    "UPDATE decisions SET lang = ?, details = ? WHERE id ="
    " (SELECT id FROM decisions WHERE key = ? AND ref = ? ORDER BY id DESC LIMIT 1)"
)
SCHEDULE = (
    "INSERT INTO reminders (key, platform, decision_id, kind, due_at, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
UNSCHEDULE = "DELETE FROM reminders WHERE decision_id = ? AND sent_at IS NULL"
# A range scan of ix_reminders_due (the partial index of unsent rows), earliest first.
REMINDERS_DUE = (
    "SELECT r.id, r.kind, r.due_at, d.workspace, d.user_id, d.outcome, d.decided_at, d.lang,"
    " d.platform, d.client, d.ref, d.details, d.status, d.steps"
    " FROM reminders AS r JOIN decisions AS d ON d.id = r.decision_id"
    " WHERE r.platform = ? AND r.sent_at IS NULL AND r.due_at <= ?"
    " AND (r.claimed_until IS NULL OR r.claimed_until <= ?) AND (? IS NULL OR r.key = ?)"
    " ORDER BY r.due_at, r.id LIMIT ?"
)
REMINDER_CLAIMED = "UPDATE reminders SET claimed_until = ? WHERE id = ?"
REMINDER_SENT = "UPDATE reminders SET sent_at = ? WHERE id = ? AND sent_at IS NULL"
LOAD_PROFILE = "SELECT data FROM profiles WHERE key = ?"
SAVE_PROFILE = (
    "INSERT INTO profiles (key, platform, workspace, user_id, data, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key)"
    " DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at"
)
REMEMBER = (
    "INSERT INTO deliveries (id, keep_until) VALUES (?, ?) ON CONFLICT (id)"
    " DO UPDATE SET keep_until = excluded.keep_until WHERE deliveries.keep_until <= ?"
)

INBOX_PUT = (
    "INSERT INTO inbox (delivery_id, key, payload, received_at, claimed_until)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING"
)
INBOX_IS_OPEN = "SELECT 1 FROM inbox WHERE id = ? AND done_at IS NULL"
INBOX_DONE = "UPDATE inbox SET done_at = ? WHERE id = ? AND done_at IS NULL"
INBOX_CLAIMABLE = (
    "SELECT id, key, payload, received_at FROM inbox"
    " WHERE done_at IS NULL AND claimed_until <= ? ORDER BY id LIMIT ?"
)
QUEUE = "INSERT INTO outbox (id, key, payload, created_at, hold_until) VALUES (?, ?, ?, ?, ?)"
OUTBOX_CLAIMABLE = (
    "SELECT id, key, payload FROM outbox"
    " WHERE sent_at IS NULL AND hold_until <= ? ORDER BY seq LIMIT ?"
)

INBOX_SWEEP = "DELETE FROM inbox WHERE done_at <= ? OR (done_at IS NULL AND received_at <= ?)"
OUTBOX_SWEEP = "DELETE FROM outbox WHERE sent_at <= ? OR (sent_at IS NULL AND created_at <= ?)"
REMINDERS_SWEEP = "DELETE FROM reminders WHERE sent_at <= ?"


def to_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_text(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def entry_from(row: Sequence[Any]) -> Decision:
    """The entry from a row of ``_WITH_PENDING`` (see :func:`entries.from_row`)."""
    return entries.from_row(row, from_text)


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

    def post(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """Run ``fn`` on the thread some time soon; nobody waits for it (a checkpoint)."""
        if self._thread.is_alive():
            self._jobs.put((fn, None, asyncio.get_running_loop()))

    async def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)

    def _connect(self) -> sqlite3.Connection:
        return connect(self._path)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future, loop = job
            try:
                if self._connection is None:
                    self._connection = self._connect()
                outcome: tuple[bool, Any] = (True, fn(self._connection))
            except BaseException as exc:
                outcome = (False, exc)
            if future is None:
                continue
            # RuntimeError: the caller's loop is closed, nobody is waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, outcome)
        if self._connection is not None:
            self._connection.close()


def connect(path: str, *, waits: bool = True) -> sqlite3.Connection:
    """A connection with the app's settings. ``waits=False``: one that fails at once with
    SQLITE_BUSY instead of waiting for another process's lock, and leaves checkpoints to
    others (for use on the event loop)."""
    # isolation_level=None: no implicit BEGIN; writes say BEGIN IMMEDIATE themselves.
    # check_same_thread=False: the loop's connection is opened by the worker thread.
    connection = sqlite3.connect(
        path, isolation_level=None, cached_statements=64, check_same_thread=False
    )
    try:
        configure_sqlite(connection)
        if not waits:
            connection.execute("PRAGMA busy_timeout = 0")
            connection.execute("PRAGMA wal_autocheckpoint = 0")
    except BaseException:
        connection.close()
        raise
    return connection


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY


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
    """The body of a save: the compare-and-set, then the inbox, outbox and journal entry if
    it won."""
    name = w.key.as_string()
    if (
        w.inbox_id is not None
        and connection.execute(INBOX_IS_OPEN, (w.inbox_id,)).fetchone() is None
    ):
        return False
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
    if w.now is not None:
        settle_in(connection, w.inbox_id, w.outbox, w.now)
    if w.look is not None:
        looks = (w.look.lang, entries.details_json(w.look.details), name, w.look.ref)
        connection.execute(LOOK, looks)
    if w.decision is not None:
        if w.replaces_decision:
            connection.execute(FORGET_LATEST, (name,))
        d = w.decision
        platform, workspace, user = w.key.parts()
        decided_at = to_text(d.decided_at)
        details, steps = entries.details_json(d.details), entries.steps_json(d.steps)
        entry = (d.outcome, decided_at, d.lang, d.client, d.ref, details, d.status, steps)
        recorded = connection.execute(RECORD, (name, platform, workspace, user, *entry))
        if w.reminder is not None:
            schedule = (name, platform, recorded.lastrowid, w.reminder.kind)
            connection.execute(SCHEDULE, (*schedule, to_text(w.reminder.due_at), decided_at))
    return True


def follow_up_in(
    connection: sqlite3.Connection,
    key: ConversationKey,
    ref: int,
    step: Step,
    status: str | None,
    reschedule: bool,
    reminder: Reminder | None,
) -> Decision | None:
    """The body of a follow-up: the step appended, the status set, the reminders replaced;
    the entry as it now stands, from the one read of it."""
    name = key.as_string()
    row = connection.execute(ENTRY, (name, ref)).fetchone()
    if row is None:
        return None
    entry_id, before = row[0], entry_from(row)
    # Read and rewritten under the write lock: two follow-ups at once both land.
    steps = (*before.steps, replace(step, at=step.at.astimezone(UTC)))  # as stored, in UTC
    connection.execute(FOLLOW_UP, (entries.steps_json(steps), status, entry_id))
    pending = before.reminder
    if reschedule:
        connection.execute(UNSCHEDULE, (entry_id,))
        pending = None
        if reminder is not None:
            pending = replace(reminder, due_at=reminder.due_at.astimezone(UTC))
            due = to_text(reminder.due_at)
            params = (name, key.platform, entry_id, reminder.kind, due, to_text(step.at))
            connection.execute(SCHEDULE, params)
    status = before.status if status is None else status
    return replace(before, steps=steps, status=status, reminder=pending)


def settle_in(
    connection: sqlite3.Connection,
    inbox_id: int | None,
    outbox: Sequence[OutboxMessage],
    now: datetime,
) -> bool:
    """Mark the inbox row done (False if it was already) and queue the messages."""
    at = to_text(now)
    if inbox_id is not None and connection.execute(INBOX_DONE, (at, inbox_id)).rowcount != 1:
        return False
    connection.executemany(
        QUEUE, [(m.id, m.key, m.payload, at, to_text(m.hold_until)) for m in outbox]
    )
    return True


class SqliteStore(SqlStore):
    """:class:`~core.ports.Store` on a SQLite file. Open it with
    :func:`core.store.open_store`, which also brings the schema up to date."""

    def __init__(self, url: URL, engine: AsyncEngine | None = None) -> None:
        super().__init__(url, engine)
        assert url.database, "location.database_url refuses an in-memory SQLite database"
        self._path = url.database
        self._worker = SqliteWorker(url.database)
        self._loop_connection: sqlite3.Connection | None = None
        self._writes = 0

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the worker thread's connection (checks, benchmarks)."""
        return await self._worker.call(fn)

    async def _run(
        self, doing: str, fn: Callable[[sqlite3.Connection], T], *, writes: bool = False
    ) -> T:
        """Run ``fn`` on the event loop's connection, or on the worker thread if the
        database is busy (see the module docstring)."""
        with translate_errors(doing):
            connection = self._loop_connection
            if connection is None:
                # Opened on the thread: opening may wait (a new file, another process).
                path = self._path
                connection = await self._worker.call(lambda _: connect(path, waits=False))
                if self._loop_connection is not None:  # another task opened one meanwhile
                    connection.close()
                    connection = self._loop_connection
                self._loop_connection = connection
            try:
                result = fn(connection)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                return await self._worker.call(fn)
            if writes:
                self._writes += 1
                if self._writes % CHECKPOINT_EVERY == 0:
                    self._worker.post(lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)"))
            return result

    async def load(self, key: ConversationKey) -> StoredConversation | None:
        name = key.as_string()
        row = await self._run("load", lambda c: c.execute(LOAD, (name,)).fetchone())
        if row is None:
            return None
        return StoredConversation(data=row[0], version=row[1], expires_at=from_text(row[2]))

    async def save(self, w: ConversationWrite) -> bool:
        return await self._run("save", lambda c: write(c, lambda c: save_in(c, w)), writes=True)

    async def forget(self, key: ConversationKey) -> int:
        name = key.as_string()

        def forget(connection: sqlite3.Connection) -> int:
            connection.execute("DELETE FROM conversations WHERE key = ?", (name,))
            connection.execute("DELETE FROM profiles WHERE key = ?", (name,))
            # The entries' reminders go with them (ON DELETE CASCADE).
            return connection.execute("DELETE FROM decisions WHERE key = ?", (name,)).rowcount

        return await self._run("forget", lambda c: write(c, forget), writes=True)

    async def remember_delivery(
        self, delivery_id: str, *, now: datetime, keep_until: datetime
    ) -> bool:
        params = (delivery_id, to_text(aware("keep_until", keep_until)), to_text(aware("now", now)))
        count = await self._run(
            "remember_delivery",
            lambda c: write(c, lambda c: c.execute(REMEMBER, params).rowcount),
            writes=True,
        )
        return count == 1

    async def sweep(self, now: datetime) -> int:
        params = (to_text(aware("now", now)),)

        kept = (to_text(now - INBOX_KEEP), to_text(now - UNDELIVERED_KEEP))
        reminded = (to_text(now - SENT_REMINDER_KEEP),)

        def sweep(connection: sqlite3.Connection) -> int:
            gone = connection.execute("DELETE FROM conversations WHERE expires_at <= ?", params)
            old = connection.execute("DELETE FROM deliveries WHERE keep_until <= ?", params)
            inbox = connection.execute(INBOX_SWEEP, kept)
            outbox = connection.execute(OUTBOX_SWEEP, kept)
            sent = connection.execute(REMINDERS_SWEEP, reminded)
            return gone.rowcount + old.rowcount + inbox.rowcount + outbox.rowcount + sent.rowcount

        return await self._run("sweep", lambda c: write(c, sweep), writes=True)

    async def inbox_put(self, item: InboxItem, *, claim_until: datetime) -> int | None:
        params = (
            item.delivery_id,
            item.key,
            item.payload,
            to_text(aware("received_at", item.received_at)),
            to_text(aware("claim_until", claim_until)),
        )

        def put(connection: sqlite3.Connection) -> int | None:
            cursor = connection.execute(INBOX_PUT, params)
            return cursor.lastrowid if cursor.rowcount == 1 else None

        return await self._run("inbox_put", lambda c: write(c, put), writes=True)

    async def inbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[InboxRow]:
        at, until = to_text(aware("now", now)), to_text(aware("claim_until", claim_until))

        def claim(connection: sqlite3.Connection) -> list[InboxRow]:
            rows = connection.execute(INBOX_CLAIMABLE, (at, limit)).fetchall()
            connection.executemany(
                "UPDATE inbox SET claimed_until = ? WHERE id = ?", [(until, r[0]) for r in rows]
            )
            return [InboxRow(i, k, p, from_text(r)) for i, k, p, r in rows]

        return await self._run("inbox_claim", lambda c: write(c, claim), writes=True)

    async def inbox_open(self, inbox_id: int) -> bool:
        row = await self._run(
            "inbox_open", lambda c: c.execute(INBOX_IS_OPEN, (inbox_id,)).fetchone()
        )
        return row is not None

    async def finish(
        self, inbox_id: int | None, outbox: Sequence[OutboxMessage], *, now: datetime
    ) -> bool:
        at = aware("now", now)
        return await self._run(
            "finish",
            lambda c: write(c, lambda c: settle_in(c, inbox_id, outbox, at)),
            writes=True,
        )

    async def outbox_claim(
        self, now: datetime, *, claim_until: datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        at, until = to_text(aware("now", now)), to_text(aware("claim_until", claim_until))
        held = from_text(until)

        def claim(connection: sqlite3.Connection) -> list[OutboxMessage]:
            rows = connection.execute(OUTBOX_CLAIMABLE, (at, limit)).fetchall()
            connection.executemany(
                "UPDATE outbox SET hold_until = ? WHERE id = ?", [(until, r[0]) for r in rows]
            )
            return [OutboxMessage(i, k, p, held) for i, k, p in rows]

        return await self._run("outbox_claim", lambda c: write(c, claim), writes=True)

    async def outbox_sent(self, ids: Sequence[str], *, now: datetime) -> None:
        at = to_text(aware("now", now))
        marks = [(at, i) for i in ids]

        def sent(connection: sqlite3.Connection) -> None:
            connection.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", marks)

        await self._run("outbox_sent", lambda c: write(c, sent), writes=True)

    async def decisions(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        params = (key.as_string(), limit)
        rows = await self._run("decisions", lambda c: c.execute(JOURNAL, params).fetchall())
        return [entry_from(row) for row in rows]

    async def entry(self, key: ConversationKey, ref: int) -> Decision | None:
        params = (key.as_string(), ref)
        row = await self._run("entry", lambda c: c.execute(ENTRY, params).fetchone())
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
        aware("at", step.at)
        if reminder is not None:
            aware("due_at", reminder.due_at)

        def body(c: sqlite3.Connection) -> Decision | None:
            return follow_up_in(c, key, ref, step, status, reschedule, reminder)

        return await self._run("follow_up", lambda c: write(c, body), writes=True)

    async def reminders_claim(
        self,
        platform: str,
        now: datetime,
        *,
        claim_until: datetime,
        limit: int = 100,
        key: ConversationKey | None = None,
    ) -> list[DueReminder]:
        at, until = to_text(aware("now", now)), to_text(aware("claim_until", claim_until))
        name = None if key is None else key.as_string()

        def claim(connection: sqlite3.Connection) -> list[Any]:
            # BEGIN IMMEDIATE (write) holds the one write lock: no other process claims
            # between this SELECT and the UPDATE.
            params = (platform, at, at, name, name, limit)
            rows = connection.execute(REMINDERS_DUE, params).fetchall()
            connection.executemany(REMINDER_CLAIMED, [(until, r[0]) for r in rows])
            return rows

        # Read into entries once the lock is let go.
        rows = await self._run("reminders_claim", lambda c: write(c, claim), writes=True)
        return entries.due_reminders(platform, rows, from_text)

    async def reminders_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        at = to_text(aware("now", now))
        marks = [(at, i) for i in ids]

        def sent(connection: sqlite3.Connection) -> None:
            connection.executemany(REMINDER_SENT, marks)

        await self._run("reminders_sent", lambda c: write(c, sent), writes=True)

    async def load_profile(self, key: ConversationKey) -> str | None:
        name = key.as_string()
        row = await self._run("load_profile", lambda c: c.execute(LOAD_PROFILE, (name,)).fetchone())
        return None if row is None else str(row[0])

    async def save_profile(self, key: ConversationKey, data: str, *, now: datetime) -> None:
        params = (key.as_string(), *key.parts(), data, to_text(aware("now", now)))
        await self._run(
            "save_profile",
            lambda c: write(c, lambda c: c.execute(SAVE_PROFILE, params)),
            writes=True,
        )

    async def ping(self) -> None:
        await self._run("ping", lambda c: c.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        await self._worker.stop()
        await super().close()
