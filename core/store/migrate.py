"""Bring a database's schema up to date with Alembic, configured in code.

Runs at every start (:func:`core.store.open_store`) and from ``should-i-take-it migrate``.
Upgrading a database that is already at head is a cheap no-op. Whoever migrates first
takes a lock that lasts until its transaction commits, so processes (or tasks) that start
at once migrate one after the other and the later ones find nothing to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.location import database_url
from core.store.sql import make_engine, translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")

# Any fixed 64-bit number; it only has to be the same in every process of this app.
PG_MIGRATION_LOCK = 0x5349_5449_4D49_4752  # "SITIMIGR"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "core/store/migrations/versions holds no revision"
    return head


def lock(connection: Connection) -> None:
    """Wait for the migration lock, held until the connection's transaction ends.

    On SQLite the transaction began with BEGIN IMMEDIATE, which already is that lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})


async def run_locked(engine: AsyncEngine, migration: Callable[[Connection], None]) -> None:
    """Run ``migration`` in one transaction that holds the migration lock."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # The store's engine autocommits; a migration must be all or nothing.
            await connection.execution_options(isolation_level="READ COMMITTED")
        async with connection.begin():
            # Waited for before Alembic starts: its `context` is one global per process, so
            # two tasks of one process must not be inside it at the same time either.
            await connection.run_sync(lock)
            await connection.run_sync(migration)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``, in one transaction."""
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    with translate_errors("migrating the database"):
        await run_locked(engine, run)


def migrate(url: str | None, *, data_dir: Path | None = None) -> None:
    """Synchronous entry point for the command line: migrate ``url`` (None: the SQLite
    file in ``data_dir``) to the newest schema. Raises StoreError."""

    async def main() -> None:
        engine = make_engine(database_url(url, data_dir=data_dir))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(main())
