"""Backends for the store tests: a SQLite file per test, and one throw-away PostgreSQL
database per test session on 127.0.0.1:5432 (or ``TEST_DATABASE_URL``, in which the tests
create, empty and finally drop the store's tables).

When PostgreSQL cannot be reached its tests are skipped, except under CI (``CI`` set),
where that is a failure: CI is expected to have the server up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from core.memory_store import MemoryStore
from core.ports import Store
from core.store import open_store
from tests.conftest import STORE_TABLES

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _empty_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    # Resolved in plain fixtures only: pg_url runs its own event loop.
    return str(request.getfixturevalue("pg_url"))


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql"))


@pytest.fixture(params=SQL_BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database on each SQL backend: a fresh SQLite file, or the session's PostgreSQL
    database (shared, so the fixtures below clear it)."""
    return _empty_database(request.param, request, tmp_path)


@pytest.fixture
async def blank_url(backend_url: str) -> str:
    """A database URL with none of the store's tables in it."""
    if is_postgres(backend_url):
        connection = await asyncpg.connect(backend_url)
        try:
            await connection.execute(f"DROP TABLE IF EXISTS {', '.join(STORE_TABLES)}")
        finally:
            await connection.close()
    return backend_url


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """Every Store implementation: None for the in-memory one, else a database URL."""
    return None if request.param == "memory" else _empty_database(request.param, request, tmp_path)


@pytest.fixture
async def store(store_backend: str | None) -> AsyncIterator[Store]:
    """An open store with no rows, of every implementation."""
    if store_backend is None:
        yield MemoryStore()
        return
    opened = await open_store(store_backend)
    if is_postgres(store_backend):
        async with opened.engine.begin() as connection:
            await connection.execute(
                text(
                    "TRUNCATE conversations, deliveries, decisions, reminders, profiles, inbox,"
                    " outbox RESTART IDENTITY"
                )
            )
    yield opened
    await opened.close()
