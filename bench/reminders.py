"""Reminders benchmark: finding the due reminders among 1,000,000 scheduled ones.

    python -m bench.reminders
    python -m bench.reminders --rows 100000

Not part of ``bench/run_all.py``: loading the rows takes over a minute on the shared
2-core machine (~85 s in all; results in ``bench/RESULTS-reminders.md``).

Loads ``ROWS`` journal entries, each with one unsent reminder (half Slack, half Discord,
spread over the next 90 days; ``DUE`` per platform already due), into SQLite and
PostgreSQL with bulk statements made by the database (a recursive CTE; ``generate_series``)
while the indexes are dropped, then rebuilt from their own definitions,
then times the store's own ``reminders_claim`` (limit 100), median of ``RUNS`` runs, each
claiming the next 100 (and marking them sent, untimed, as a sender does): the query a
sender runs every few seconds. Also the idle poll (a platform with nothing due). Prints
each query plan, which must be a range scan of the partial index ``ix_reminders_due``
(unsent rows by platform and due time), not a scan of the table: the claim reads the due
rows it returns (and any leased to another sender before them), never the rest.

PostgreSQL runs in a throw-away database on 127.0.0.1:5432 (``BENCH_PG_ADMIN_URL`` names
another server's admin database) and is skipped with a note when the server cannot be
reached. ``run()`` returns the figures as rows for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from bench.slack_http import pg_database
from core.store import PostgresStore, SqliteStore, SqlStore, open_store
from core.store import postgres as pg_sql
from core.store import sqlite as sqlite_sql

ROWS = 1_000_000
DUE = 2_000  # per platform, due by now
RUNS = 15
LIMIT = 100
SPREAD = timedelta(days=90)
INDEX = "ix_reminders_due"
NOW = datetime.now(UTC).replace(microsecond=0)
LEASE = timedelta(minutes=5)

Row = dict[str, Any]


def platform_of(n: int) -> str:
    return "slack" if n % 2 == 0 else "discord"


def due_at(n: int, rows: int) -> datetime:
    """Row ``n``'s due time: the first ``2 * DUE`` rows are due (a second apart, the
    earliest first), the rest spread over the next ``SPREAD``."""
    if n < 2 * DUE:
        return NOW - timedelta(seconds=2 * DUE - n)
    return NOW + timedelta(seconds=1 + n * SPREAD.total_seconds() // rows)


# --- loading -------------------------------------------------------------------------


def load_sqlite(path: str, rows: int) -> None:
    """The rows made by SQLite itself (a recursive CTE: its generate_series), in one
    transaction; times in the store's text format, so they compare as the store's do."""
    connection = sqlite_sql.connect(path)
    now, decided = (sqlite_sql.to_text(t)[:19] for t in (NOW, NOW - timedelta(days=1)))
    try:
        connection.execute("PRAGMA cache_size = -262144")  # 256 MiB
        connection.execute("BEGIN IMMEDIATE")
        # A bulk load's usual way: indexes dropped, then built again from their own
        # definitions (as the migrations made them) once the rows are in.
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('decisions', 'reminders')"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f"DROP INDEX {name}")
        connection.execute(
            "INSERT INTO decisions (id, key, platform, workspace, user_id, outcome,"
            " decided_at, lang, client, ref, details, status, steps)"
            " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?),"
            " p(i, p) AS (SELECT i, CASE WHEN i % 2 = 0 THEN 'slack' ELSE 'discord' END FROM n)"
            " SELECT i + 1, p || ':T1:U' || i, p, 'T1', 'U' || i, 'negotiate_fee',"
            " ? || '.000000', 'en', 'Client ' || i, i + 1, '{}', '', '[]' FROM p",
            (rows, decided),
        )
        # The same due times as due_at(n).
        connection.execute(
            "INSERT INTO reminders (key, platform, decision_id, kind, due_at, created_at)"
            " SELECT key, platform, id, 'answer', CASE WHEN id - 1 < :due"
            " THEN strftime('%Y-%m-%d %H:%M:%S', :now, '-' || (:due - (id - 1)) || ' seconds')"
            " ELSE strftime('%Y-%m-%d %H:%M:%S', :now,"
            " '+' || (1 + (id - 1) * :spread / :rows) || ' seconds') END || '.000000',"
            " decided_at FROM decisions",
            {"due": 2 * DUE, "now": now, "spread": int(SPREAD.total_seconds()), "rows": rows},
        )
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
    finally:
        connection.close()


async def load_postgres(store: PostgresStore, rows: int) -> None:
    connection = await asyncpg.connect(**pg_sql.connect_arguments(store.url))
    seconds = SPREAD.total_seconds() / rows
    try:
        async with connection.transaction():
            # Indexes dropped for the load and built again from their own definitions.
            indexes = await connection.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename IN ('decisions', 'reminders') AND indexname LIKE 'ix\\_%'"
            )
            for index in indexes:
                await connection.execute(f"DROP INDEX {index['indexname']}")
            await connection.execute(
                "INSERT INTO decisions (id, key, platform, workspace, user_id, outcome,"
                " decided_at, lang, client, ref, details, status, steps)"
                " SELECT n + 1, p || ':T1:U' || n, p, 'T1', 'U' || n, 'negotiate_fee',"
                " $1::timestamptz - interval '1 day', 'en', 'Client ' || n, n + 1, '{}', '', '[]'"
                " FROM generate_series(0, $2::int - 1) AS n,"
                " LATERAL (SELECT CASE WHEN n % 2 = 0 THEN 'slack' ELSE 'discord' END AS p) AS x",
                NOW,
                rows,
            )
            # The same due times as due_at(n).
            await connection.execute(
                "INSERT INTO reminders (key, platform, decision_id, kind, due_at, created_at)"
                " SELECT key, platform, id, 'answer', CASE WHEN id - 1 < $2::int"
                " THEN $1::timestamptz - make_interval(secs => $2::int - (id - 1))"
                " ELSE $1::timestamptz + make_interval(secs => 1 + floor((id - 1) * $3::float8))"
                " END, decided_at FROM decisions",
                NOW,
                2 * DUE,
                seconds,
            )
            await connection.execute(
                "SELECT setval(pg_get_serial_sequence('decisions', 'id'), $1::bigint)", rows
            )
            for index in indexes:
                await connection.execute(index["indexdef"])
        # What autovacuum does after a bulk load, done now rather than some time soon.
        await connection.execute("ANALYZE decisions, reminders")
    finally:
        await connection.close()


# --- plans ---------------------------------------------------------------------------


async def sqlite_plan(store: SqliteStore) -> list[str]:
    params = ("slack", sqlite_sql.to_text(NOW), sqlite_sql.to_text(NOW), None, None, LIMIT)
    rows = await store.call(
        lambda c: c.execute(f"EXPLAIN QUERY PLAN {sqlite_sql.REMINDERS_DUE}", params).fetchall()
    )
    return [str(r[3]) for r in rows]


async def postgres_plan(store: PostgresStore) -> list[str]:
    """The claim statement's plan as it ran (EXPLAIN ANALYZE), in a transaction rolled
    back so it claims nothing."""
    connection = await asyncpg.connect(**pg_sql.connect_arguments(store.url))
    try:
        transaction = connection.transaction()
        await transaction.start()
        try:
            rows = await connection.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {pg_sql.REMINDERS_CLAIM}",
                "slack",
                NOW,
                NOW + LEASE,
                LIMIT,
                None,  # every user's
            )
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return [str(r[0]) for r in rows]


def scans_the_index(plan: list[str]) -> bool:
    text = "\n".join(plan)
    table_scan = "Seq Scan on reminders" in text or "SCAN r" in text.replace("SCAN r USING", "")
    return INDEX in text and not table_scan


# --- timing --------------------------------------------------------------------------


async def timed_ms(
    runs: int,
    call: Callable[[], Awaitable[int]],
    expect: int,
    after: Callable[[], Awaitable[None]] | None = None,
) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        got = await call()
        times.append((time.perf_counter() - started) * 1000)
        assert got == expect, f"claimed {got}, expected {expect}"
        if after is not None:
            await after()
    return times


async def measure(store: SqlStore, backend: str, rows: int, load_s: float) -> list[Row]:
    claimed: list[int] = []

    async def claim_due() -> int:
        due = await store.reminders_claim("slack", NOW, claim_until=NOW + LEASE, limit=LIMIT)
        claimed[:] = [r.id for r in due]
        return len(due)

    async def mark_sent() -> None:
        # Untimed: what the sender does after sending, so the next run finds the next 100.
        await store.reminders_sent(claimed, now=NOW)

    async def claim_idle() -> int:
        # A platform none of these users is on: the idle poll.
        claimed = await store.reminders_claim("teams", NOW, claim_until=NOW + LEASE)
        return len(claimed)

    await claim_idle()  # warm: connection opened, statement prepared
    due = await timed_ms(RUNS, claim_due, LIMIT, mark_sent)
    idle = await timed_ms(RUNS, claim_idle, 0)
    if isinstance(store, SqliteStore):
        plan = await sqlite_plan(store)
    else:
        assert isinstance(store, PostgresStore)
        plan = await postgres_plan(store)
    print(f"\n{backend}: plan of the claim query (limit {LIMIT}, {rows:,} rows scheduled)")
    print("\n".join(f"  {line}" for line in plan))

    def row(metric: str, value: float, unit: str) -> Row:
        return {"bench": "reminders", "metric": f"{backend}.{metric}", "value": value, "unit": unit}

    return [
        row("rows scheduled", rows, "rows"),
        row("bulk load (entries + reminders)", round(load_s, 1), "s"),
        row(f"claim {LIMIT} due (median of {RUNS})", round(statistics.median(due), 2), "ms"),
        row(f"claim {LIMIT} due (slowest of {RUNS})", round(max(due), 2), "ms"),
        row(f"idle poll, nothing due (median of {RUNS})", round(statistics.median(idle), 3), "ms"),
        row(f"claim plan is a range scan of {INDEX}", float(scans_the_index(plan)), "yes=1"),
    ]


async def bench_sqlite(rows: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'reminders.sqlite3'}")
        try:
            assert isinstance(store, SqliteStore) and store.url.database
            started = time.perf_counter()
            await asyncio.to_thread(load_sqlite, store.url.database, rows)
            return await measure(store, "sqlite", rows, time.perf_counter() - started)
        finally:
            await store.close()


async def bench_postgres(rows: int) -> list[Row]:
    async with pg_database(True) as url:  # a throw-away database; None: no server
        if url is None:
            return []
        store = await open_store(url)
        try:
            assert isinstance(store, PostgresStore)
            started = time.perf_counter()
            await load_postgres(store, rows)
            return await measure(store, "postgresql", rows, time.perf_counter() - started)
        finally:
            await store.close()


async def run_async(rows: int = ROWS) -> list[Row]:
    return await bench_sqlite(rows) + await bench_postgres(rows)


def run(rows: int = ROWS) -> list[Row]:
    """Every figure as {"bench", "metric", "value", "unit"}; PostgreSQL's only if reachable."""
    return asyncio.run(run_async(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="reminders scheduled")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.rows)
    width = max(len(r["metric"]) for r in rows)
    print()
    for r in rows:
        print(f"{r['metric']:<{width}}  {r['value']:>10}  {r['unit']}")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
