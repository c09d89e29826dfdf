"""Alembic environment for the store's schema.

:func:`core.store.migrate.upgrade` hands over a connection in ``config.attributes``; the
``alembic`` command line (``alembic -c core/store/alembic.ini ...``) gets none and opens
``sqlalchemy.url``, ``DATABASE_URL`` or the default SQLite file. Either way the caller's
transaction is open and holds the migration lock (see :func:`core.store.migrate.run_locked`).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from core.store.location import database_url
from core.store.migrate import run_locked
from core.store.schema import metadata
from core.store.sql import make_engine


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    engine = make_engine(database_url(url))
    try:
        await run_locked(engine, run_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the store's migrations run against a database; offline mode is unsupported")

handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_from_url())
