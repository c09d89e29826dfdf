"""Shared fixtures: the real questionnaire from prompts/, a fixed 'today', and a throw-away
PostgreSQL database on 127.0.0.1:5432 for the tests that need a real server."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy import make_url

from core.questionnaire import Questionnaire, load_questionnaire

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 27)


@pytest.fixture(scope="session")
def questionnaire() -> Questionnaire:
    return load_questionnaire()


PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
STORE_TABLES = (
    "inbox",
    "outbox",
    "reminders",
    "profiles",
    "decisions",
    "deliveries",
    "conversations",
    "alembic_version",
)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


async def _run(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a PostgreSQL database the tests may do anything to."""
    # A session fixture runs outside the tests' event loops, so it brings its own.
    if given := os.environ.get("TEST_DATABASE_URL"):
        # asyncpg, which the tests also use directly, knows no "+asyncpg" suffix.
        url = make_url(given).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            asyncio.run(_run(url, "SELECT 1"))
        except (OSError, asyncpg.PostgresError) as exc:
            _unavailable(f"cannot connect to TEST_DATABASE_URL ({exc!r})")
        yield url
        asyncio.run(_run(url, f"DROP TABLE IF EXISTS {', '.join(STORE_TABLES)}"))
        return

    name = f"sit_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_run(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"cannot create a database on 127.0.0.1:5432 ({exc!r})")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_run(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
