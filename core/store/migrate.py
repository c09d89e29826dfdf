"""Bring a database's schema up to date with Alembic, configured in code.

Runs at every start (:func:`core.store.open_store`) and from ``should-i-take-it migrate``.
Upgrading a database that is already at head is a cheap no-op, and two processes that
start at once are serialised by a lock (see ``migrations/env.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.location import database_url
from core.store.sql import make_engine, translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "core/store/migrations/versions holds no revision"
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``, in one transaction."""
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    with translate_errors("migrating the database"):
        async with engine.begin() as connection:
            await connection.run_sync(run)


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
