"""Store benchmark: each store operation on SQLite and PostgreSQL next to the same
statements sent straight through the driver (raw ``sqlite3`` on the event loop, raw
asyncpg with a pool), and bytes per conversation.

    python bench/store.py

Per operation: µs per call with one task (ours and raw, and their ratio), and calls per
second with 16 concurrent tasks, the way one bot process serves many users. ``turn`` is
what the session does for one answer: remember the delivery id, load, save.

SQLite runs in a temporary directory; PostgreSQL in a throw-away database on
127.0.0.1:5432 (``BENCH_PG_ADMIN_URL`` names another server's admin database), skipped
with a note when the server cannot be reached. ``run()`` returns the figures as rows for
``bench/run_all.py``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from core.ports import ConversationKey, ConversationWrite
from core.state import ConversationState
from core.store import SqlStore, open_store
from core.store import postgres as pg_sql
from core.store import sqlite as sqlite_sql

OPS = 300  # conversations per measurement
ROUNDS = 3
Op = Callable[[ConversationKey], Awaitable[Any]]
SIZE_SAMPLE = 1000  # conversations stored to measure bytes per conversation
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime.now(UTC)
EXPIRES = NOW + timedelta(hours=24)

Row = dict[str, Any]


def typical_state() -> str:
    """A conversation near its end: ten answers, the path that led there, some context."""
    answers = {
        "time": "yes",
        "not_yet": "no",
        "what_would_work": "timeline",
        "free_from": "2030-03-15",
        "refer": "yes",
        "colleague": "Zoë Martin",
        "respond": "yes",
        "budget": "around 4 000 € for the first phase",
        "deadline": "end of next month",
        "notes": "Met at a meetup; wants a proposal by Friday.",
    }
    state = ConversationState(
        lang="en",
        tone="friendly",
        step="respond",
        version=11,
        history=tuple(answers)[:-1],
        answers=answers,
        context={"client": "ACME Ltd", "project": "website redesign"},
    )
    return state.to_json()


async def timed(
    concurrency: int, keys: list[ConversationKey], op: Callable[[ConversationKey], Awaitable[Any]]
) -> float:
    """Operations per second of ``op`` over ``keys``, with ``concurrency`` tasks."""
    todo: Iterator[ConversationKey] = iter(keys)

    async def worker() -> None:
        for key in todo:  # the tasks share one iterator, so each key is done once
            await op(key)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(keys) / (time.perf_counter() - start)


def ours(store: SqlStore, data: str) -> dict[str, Op]:
    later = EXPIRES + timedelta(hours=1)

    async def save_new(key: ConversationKey) -> None:
        assert await store.save(ConversationWrite(key, data, 1, None, EXPIRES))

    async def save_update(key: ConversationKey) -> None:  # the deadline stays (most turns)
        assert await store.save(ConversationWrite(key, data, 2, 1, None))

    async def save_moving_deadline(key: ConversationKey) -> None:
        assert await store.save(ConversationWrite(key, data, 3, 2, later))

    async def load(key: ConversationKey) -> None:
        assert await store.load(key) is not None

    async def remember(key: ConversationKey) -> None:
        assert await store.remember_delivery(f"{key.as_string()}#1", now=NOW, keep_until=later)

    async def turn(key: ConversationKey) -> None:
        assert await store.remember_delivery(f"{key.as_string()}#2", now=NOW, keep_until=later)
        stored = await store.load(key)
        assert stored is not None
        assert await store.save(ConversationWrite(key, data, 4, stored.version, None))

    return {
        "save_new": save_new,
        "save_update": save_update,
        "save_moving_deadline": save_moving_deadline,
        "load": load,
        "remember_delivery": remember,
        "turn": turn,
    }


def raw_sqlite(path: str, data: str) -> dict[str, Op]:
    """The same statements through sqlite3 on the event loop: the least a call can cost."""
    db = sqlite_sql.connect(path)
    later = sqlite_sql.to_text(EXPIRES + timedelta(hours=1))
    expires = sqlite_sql.to_text(EXPIRES)

    def tx(sql: str, params: tuple[Any, ...]) -> int:
        db.execute("BEGIN IMMEDIATE")
        count = db.execute(sql, params).rowcount
        db.execute("COMMIT")
        return count

    async def save_new(key: ConversationKey) -> None:
        params = (key.as_string(), *key.parts(), data, 1, expires)
        assert tx(sqlite_sql.INSERT, params) == 1

    async def save_update(key: ConversationKey) -> None:
        assert tx(sqlite_sql.UPDATE_KEEPING_DEADLINE, (data, 2, key.as_string(), 1)) == 1

    async def save_moving_deadline(key: ConversationKey) -> None:
        assert tx(sqlite_sql.UPDATE, (data, 3, later, key.as_string(), 2)) == 1

    async def load(key: ConversationKey) -> None:
        assert db.execute(sqlite_sql.LOAD, (key.as_string(),)).fetchone() is not None

    async def remember(key: ConversationKey) -> None:
        params = (f"{key.as_string()}#1", later, sqlite_sql.to_text(NOW))
        assert tx(sqlite_sql.REMEMBER, params) == 1

    async def turn(key: ConversationKey) -> None:
        params = (f"{key.as_string()}#2", later, sqlite_sql.to_text(NOW))
        assert tx(sqlite_sql.REMEMBER, params) == 1
        row = db.execute(sqlite_sql.LOAD, (key.as_string(),)).fetchone()
        assert tx(sqlite_sql.UPDATE_KEEPING_DEADLINE, (data, 4, key.as_string(), row[1])) == 1

    return {
        "save_new": save_new,
        "save_update": save_update,
        "save_moving_deadline": save_moving_deadline,
        "load": load,
        "remember_delivery": remember,
        "turn": turn,
    }


def raw_asyncpg(pool: asyncpg.Pool, data: str) -> dict[str, Op]:
    """The same statements through an asyncpg pool."""
    later = EXPIRES + timedelta(hours=1)
    saves = pg_sql.SAVES

    async def save_new(key: ConversationKey) -> None:
        params = (key.as_string(), *key.parts(), data, 1, EXPIRES)
        assert await pool.fetchval(
            saves["insert", False, False, False, False, False, False], *params
        )

    async def save_update(key: ConversationKey) -> None:
        assert await pool.fetchval(
            saves["keep", False, False, False, False, False, False], key.as_string(), 1, data, 2
        )

    async def save_moving_deadline(key: ConversationKey) -> None:
        params = (key.as_string(), 2, data, 3, later)
        assert await pool.fetchval(
            saves["update", False, False, False, False, False, False], *params
        )

    async def load(key: ConversationKey) -> None:
        assert await pool.fetchrow(pg_sql.LOAD, key.as_string()) is not None

    async def remember(key: ConversationKey) -> None:
        assert await pool.fetchval(pg_sql.REMEMBER, f"{key.as_string()}#1", later, NOW)

    async def turn(key: ConversationKey) -> None:
        assert await pool.fetchval(pg_sql.REMEMBER, f"{key.as_string()}#2", later, NOW)
        row = await pool.fetchrow(pg_sql.LOAD, key.as_string())
        params = (key.as_string(), row[1], data, 4)
        assert await pool.fetchval(saves["keep", False, False, False, False, False, False], *params)

    return {
        "save_new": save_new,
        "save_update": save_update,
        "save_moving_deadline": save_moving_deadline,
        "load": load,
        "remember_delivery": remember,
        "turn": turn,
    }


async def compare(backend: str, mine: dict[str, Op], raw: dict[str, Op]) -> list[Row]:
    """Each operation, ours and raw alternated over ``ROUNDS`` rounds (the order swapped
    each round), on fresh keys: wall and CPU µs per call with 1 task (medians over the
    rounds), calls/s with 16 tasks. A commit's fsync dominates the wall time of a write on
    a shared disk; the CPU time is what the code costs."""
    rows: list[Row] = []

    def row(metric: str, value: float, unit: str) -> None:
        digits = 2 if unit == "x" else 1
        rows.append(
            {
                "bench": "store",
                "metric": f"{backend}.{metric}",
                "value": round(value, digits),
                "unit": unit,
            }
        )

    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    sides = [("ours", mine), ("raw", raw)]
    for round_ in range(ROUNDS):
        for side, ops in sides if round_ % 2 == 0 else sides[::-1]:
            # The operations run in order on the same keys: each finds what the last left.
            keys = [ConversationKey("bench", f"{side}{round_}", f"u{n}") for n in range(OPS)]
            for name, op in ops.items():
                started = time.process_time()
                wall[side, name].append(1e6 / await timed(1, keys, op))
                cpu[side, name].append((time.process_time() - started) * 1e6 / OPS)
    for name in mine:
        ours_wall, raw_wall = (statistics.median(wall[side, name]) for side in ("ours", "raw"))
        ours_cpu, raw_cpu = (statistics.median(cpu[side, name]) for side in ("ours", "raw"))
        row(f"{name}.c1 ours", ours_wall, "µs")
        row(f"{name}.c1 raw", raw_wall, "µs")
        row(f"{name}.c1 CPU ours", ours_cpu, "µs")
        row(f"{name}.c1 CPU raw", raw_cpu, "µs")
        row(f"{name}.c1 CPU ours / raw", ours_cpu / raw_cpu, "x")
    keys = [ConversationKey("bench", "c16", f"u{n}") for n in range(OPS)]
    for name, op in mine.items():
        row(f"{name}.c16", await timed(16, keys, op), "calls/s")
    return rows


async def stored_bytes(store: SqlStore) -> int:
    """Bytes the conversations table and its indexes take on disk."""
    async with store.engine.connect() as connection:
        if store.engine.dialect.name == "postgresql":
            query = "SELECT pg_total_relation_size('conversations')"
        else:
            # dbstat counts the pages of each b-tree; the primary key is an automatic index.
            query = (
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN"
                " (SELECT name FROM sqlite_master WHERE tbl_name = 'conversations')"
            )
        return int((await connection.execute(text(query))).scalar_one() or 0)


async def size(store: SqlStore, backend: str, data: str) -> list[Row]:
    before = await stored_bytes(store)
    for n in range(SIZE_SAMPLE):
        key = ConversationKey("bench", "size", f"U{n:08d}")
        await store.save(ConversationWrite(key, data, 1, None, EXPIRES))
    per_conversation = (await stored_bytes(store) - before) / SIZE_SAMPLE
    return [
        {
            "bench": "store",
            "metric": f"{backend}.bytes_per_conversation",
            "value": round(per_conversation),
            "unit": "bytes",
        },
    ]


async def bench(url: str, backend: str) -> list[Row]:
    data = typical_state()
    store = await open_store(url)
    try:
        rows = await size(store, backend, data)
        if backend == "sqlite":
            assert store.url.database
            return rows + await compare(
                backend, ours(store, data), raw_sqlite(store.url.database, data)
            )
        pool = await asyncpg.create_pool(
            **pg_sql.connect_arguments(store.url),
            min_size=1,
            max_size=10,
            reset=pg_sql.keep_session,  # like the store: no reset round trip per release
        )
        try:
            return rows + await compare(backend, ours(store, data), raw_asyncpg(pool, data))
        finally:
            await pool.close()
    finally:
        await store.close()


async def pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def run_async() -> list[Row]:
    data = typical_state()
    rows: list[Row] = [
        {
            "bench": "store",
            "metric": "state_json_bytes",
            "value": len(data.encode()),
            "unit": "bytes",
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        rows += await bench(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", "sqlite")

    name = f"sit_bench_{secrets.token_hex(6)}"
    try:
        await pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        print(
            f"PostgreSQL skipped: cannot create a database via {PG_ADMIN_URL} ({exc!r})",
            file=sys.stderr,
        )
        return rows
    try:
        pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        rows += await bench(pg_url, "postgresql")
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return rows


def run() -> list[Row]:
    """Every figure as {"bench", "metric", "value", "unit"}; PostgreSQL's only if reachable."""
    return asyncio.run(run_async())


def main() -> None:
    started = time.perf_counter()
    rows = run()
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        print(f"{r['metric']:<{width}}  {r['value']:>10}  {r['unit']}")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
