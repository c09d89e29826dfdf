"""The durable conversation store: an embedded SQLite file by default, PostgreSQL when
``DATABASE_URL`` says so.

The session layer knows only :class:`core.ports.Store`; a composition root opens one with
``store = await open_store(os.environ.get("DATABASE_URL"))`` and closes it at exit.
"""

from __future__ import annotations

from pathlib import Path

from core.store.location import database_url, default_data_dir
from core.store.migrate import migrate, upgrade
from core.store.sql import SqlStore, make_engine

__all__ = ["SqlStore", "database_url", "default_data_dir", "migrate", "open_store"]


async def open_store(url: str | None = None, *, data_dir: Path | None = None) -> SqlStore:
    """Open the store at ``url`` (None: ``<data_dir>/should-i-take-it.sqlite3``, by default
    in :func:`default_data_dir`) and migrate its schema to the newest version.

    Raises :class:`core.ports.StoreError` when the URL is unusable or the database cannot
    be reached or migrated.
    """
    engine = make_engine(database_url(url, data_dir=data_dir))
    try:
        await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return SqlStore(engine)
