"""Store benchmark: saves/s and loads/s on SQLite and PostgreSQL, and bytes per conversation.

    python bench/store.py

SQLite runs in a temporary directory; PostgreSQL in a throw-away database on
127.0.0.1:5432 (``BENCH_PG_ADMIN_URL`` names another server's admin database), skipped
with a note when the server cannot be reached. Each figure is measured with 1 task and
with 16 concurrent tasks, the way one bot process serves many users. ``run()`` returns
the figures as rows for ``bench/run_all.py``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from core.ports import ConversationKey
from core.state import ConversationState
from core.store import SqlStore, open_store

OPS = 1000  # conversations per measurement
CONCURRENCY = (1, 16)
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


async def throughput(store: SqlStore, backend: str, data: str) -> list[Row]:
    rows: list[Row] = []

    def row(metric: str, concurrency: int, value: float, unit: str) -> None:
        rows.append(
            {
                "bench": "store",
                "metric": f"{backend}.{metric}.c{concurrency}",
                "value": round(value, 1),
                "unit": unit,
            }
        )

    for concurrency in CONCURRENCY:
        keys = [ConversationKey("bench", f"c{concurrency}", f"user-{n}") for n in range(OPS)]

        async def save_new(key: ConversationKey) -> None:
            assert await store.save(key, data, version=1, expected_version=None, expires_at=EXPIRES)

        async def save_next(key: ConversationKey) -> None:
            assert await store.save(key, data, version=2, expected_version=1, expires_at=EXPIRES)

        async def load(key: ConversationKey) -> None:
            assert await store.load(key) is not None

        async def turn(key: ConversationKey) -> None:
            # What the session layer does for one answer.
            assert await store.remember_delivery(
                f"{key.as_string()}#3", now=NOW, keep_until=NOW + timedelta(minutes=10)
            )
            stored = await store.load(key)
            assert stored is not None
            assert await store.save(
                key, data, version=3, expected_version=stored.version, expires_at=EXPIRES
            )

        row("save_new", concurrency, await timed(concurrency, keys, save_new), "saves/s")
        row("save_update", concurrency, await timed(concurrency, keys, save_next), "saves/s")
        row("load", concurrency, await timed(concurrency, keys, load), "loads/s")
        row("turn", concurrency, await timed(concurrency, keys, turn), "turns/s")
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
        await store.save(key, data, version=1, expected_version=None, expires_at=EXPIRES)
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
        return rows + await throughput(store, backend, data)
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
