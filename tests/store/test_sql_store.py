"""What the SQL store adds to the contract: input checks, UTC normalisation, the SQLite
file and its settings, and behaviour when the database is away."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from core.ports import ConversationKey, ConversationWrite, Decision, Step, StoreError
from core.store import SqliteStore, SqlStore, connect_store, database_url, open_store
from core.store.location import SQLITE_FILENAME
from core.store.sql import SQLITE_BUSY_TIMEOUT_MS

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
ALICE = ConversationKey("slack", "T001", "U_ALICE")


@pytest.fixture
async def sql_store(blank_url: str) -> AsyncIterator[SqlStore]:
    store = await open_store(blank_url)
    yield store
    await store.close()


def new(expires_at: datetime, decision: Decision | None = None) -> ConversationWrite:
    return ConversationWrite(ALICE, "{}", 1, None, expires_at, decision)


async def test_a_time_in_another_zone_is_stored_as_the_same_instant_in_utc(
    sql_store: SqlStore,
) -> None:
    in_paris = datetime(2030, 6, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    await sql_store.save(new(in_paris, Decision("accept", in_paris, "fr", "slack")))

    stored = await sql_store.load(ALICE)
    assert stored is not None
    assert stored.expires_at == in_paris
    assert stored.expires_at.tzinfo is UTC
    assert (stored.expires_at.hour, stored.expires_at.microsecond) == (12, 123456)
    [decided] = await sql_store.decisions(ALICE)
    assert decided.decided_at == in_paris and decided.decided_at.tzinfo is UTC


async def test_expiry_compares_instants_not_text(sql_store: SqlStore) -> None:
    # 12:00+02:00 is before 11:00Z although "12" sorts after "11".
    in_paris = datetime(2030, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    await sql_store.save(new(in_paris))
    assert await sql_store.sweep(datetime(2030, 6, 1, 11, 0, tzinfo=UTC)) == 1


async def test_naive_datetimes_are_refused(sql_store: SqlStore) -> None:
    naive = datetime(2030, 1, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        await sql_store.remember_delivery("d", now=naive, keep_until=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await sql_store.sweep(naive)
    assert await sql_store.load(ALICE) is None


async def test_a_decision_is_filed_under_its_own_platform(sql_store: SqlStore) -> None:
    with pytest.raises(ValueError, match="discord"):
        await sql_store.save(new(NOW, Decision("accept", NOW, "en", "discord")))
    assert await sql_store.load(ALICE) is None


async def test_a_negative_journal_limit_is_refused(sql_store: SqlStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await sql_store.decisions(ALICE, limit=-1)


# --- the SQLite file -----------------------------------------------------------------


async def test_without_a_url_the_store_is_a_private_sqlite_file_in_the_data_dir(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "nested" / "data"
    store = await open_store(None, data_dir=data_dir)
    try:
        await store.save(new(NOW))
        assert (data_dir / SQLITE_FILENAME).is_file()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert isinstance(store, SqliteStore)
        names = ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        # The store's own connection, on its own thread.
        pragmas = await store.call(
            lambda c: [c.execute(f"PRAGMA {name}").fetchone()[0] for name in names]
        )
        assert pragmas == ["wal", SQLITE_BUSY_TIMEOUT_MS, 1, 1]  # synchronous 1 is NORMAL
        # The SQLAlchemy engine it hands out (Slack's OAuth tables) runs with the same.
        async with store.engine.connect() as connection:
            same = [(await connection.execute(text(f"PRAGMA {n}"))).scalar_one() for n in names]
        assert same == pragmas
    finally:
        await store.close()

    reopened = await open_store(None, data_dir=data_dir)
    try:
        assert await reopened.load(ALICE) is not None
    finally:
        await reopened.close()


# --- an absent database --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/nothing_listens_here",
        "postgresql://postgres@127.0.0.1:5432/sit_no_such_database",
        "sqlite:////proc/no/such/dir/store.sqlite3",
    ],
)
async def test_opening_an_unreachable_database_raises_store_error(url: str) -> None:
    with pytest.raises(StoreError):
        await open_store(url)


async def test_every_call_on_an_unreachable_database_raises_store_error() -> None:
    store = connect_store(database_url("postgresql://postgres@127.0.0.1:1/nothing"))
    try:
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "ping": lambda: store.ping(),
            "load": lambda: store.load(ALICE),
            "save": lambda: store.save(new(NOW)),
            "forget": lambda: store.forget(ALICE),
            "remember_delivery": lambda: store.remember_delivery("d", now=NOW, keep_until=NOW),
            "sweep": lambda: store.sweep(NOW),
            "decisions": lambda: store.decisions(ALICE),
            "entry": lambda: store.entry(ALICE, 1),
            "follow_up": lambda: store.follow_up(ALICE, 1, Step("agreed", NOW)),
            "reminders_claim": lambda: store.reminders_claim("slack", NOW, claim_until=NOW),
            "reminders_sent": lambda: store.reminders_sent([1], now=NOW),
            "load_profile": lambda: store.load_profile(ALICE),
            "save_profile": lambda: store.save_profile(ALICE, "{}", now=NOW),
        }
        for name, call in calls.items():
            with pytest.raises(StoreError, match=name):
                await call()
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_connections_dropped_by_the_server_are_replaced(pg_url: str) -> None:
    store = await open_store(pg_url)
    try:
        await store.forget(ALICE)
        await store.save(ConversationWrite(ALICE, "before", 1, None, NOW))
        # As a server restart would: end every session on the database, including the
        # connection idling in the store's pool.
        admin = await asyncpg.connect(pg_url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert killed >= 1

        stored = await store.load(ALICE)
        assert stored is not None and stored.data == "before"
    finally:
        await store.close()


# --- SQLite: the event loop never waits for another process's lock -------------------


async def test_a_write_waiting_for_another_writer_does_not_block_the_event_loop(
    tmp_path: Path,
) -> None:
    store = await open_store(None, data_dir=tmp_path)
    other = sqlite3.connect(tmp_path / SQLITE_FILENAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        saving = asyncio.create_task(store.save(new(NOW)))
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the save waits on the thread
            await asyncio.sleep(0.01)
            ticks += 1
        assert not saving.done()
        assert await store.load(ALICE) is None  # reads go on meanwhile
        other.execute("COMMIT")
        assert await asyncio.wait_for(saving, 10)
        assert ticks == 20
        stored = await store.load(ALICE)
        assert stored is not None and stored.version == 1
    finally:
        other.close()
        await store.close()
