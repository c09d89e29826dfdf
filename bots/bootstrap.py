"""The composition root: questionnaire + store + clock → a Session. Every entry point
(terminal, Slack, Discord, check) builds its session here and nowhere else, and so does
anything else that needs the database (the Slack OAuth stores: :meth:`App.database`)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bots.config import Settings
from bots.locks import KeyedLocks
from core.ports import Store
from core.questionnaire import Questionnaire, load_questionnaire
from core.session import Session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    questionnaire: Questionnaire
    store: Store
    session: Session
    _engine: AsyncEngine | None = None

    def database(self) -> AsyncEngine:
        """A SQLAlchemy engine on the configured database, for libraries that keep their
        own tables there (slack_sdk's installation and OAuth state stores); made once."""
        if self._engine is None:
            self._engine = database_engine(self.settings)
        return self._engine

    async def close(self) -> None:
        await self.store.close()
        if self._engine is not None:
            await self._engine.dispose()


def database_engine(settings: Settings) -> AsyncEngine:
    """A SQLAlchemy engine on the database the settings name (``check`` probes it; the
    Slack OAuth stores keep their tables in it). Opening it connects to nothing yet."""
    from core.store import database_url
    from core.store.sql import make_engine

    return make_engine(database_url(settings.database_url, data_dir=settings.data_dir))


async def open_store(settings: Settings) -> Store:
    from core.store import open_store as open_sql_store

    return await open_sql_store(settings.database_url, data_dir=settings.data_dir)


async def bootstrap(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], datetime] = utc_now,
    questionnaire: Questionnaire | None = None,
) -> App:
    if questionnaire is None:
        questionnaire = load_questionnaire(settings.prompts_dir)
    store = store if store is not None else await open_store(settings)
    # One turn at a time per conversation in this process (the store arbitrates between
    # processes): racing events queue instead of exhausting the compare-and-set's retries.
    session = Session(
        questionnaire, store, clock=clock, ttl=settings.conversation_ttl, serialiser=KeyedLocks()
    )
    return App(settings, questionnaire, store, session)


def run_service(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-running bot (Slack, Discord) to the end of ``main``: on uvloop where it is
    installed (a compiled event loop: about 0.4 M fewer instructions per Slack request,
    6 %), else on asyncio's own. The terminal keeps asyncio's: it waits on a person."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not installed there
        return asyncio.run(_on_loop(main))
    return uvloop.run(_on_loop(main))


async def _on_loop(main: Coroutine[Any, Any, T]) -> T:
    loop = type(asyncio.get_running_loop())
    logging.getLogger("should_i_take_it").debug("event loop: %s.%s", loop.__module__, loop.__name__)
    return await main


def settle_heap() -> None:
    """Once started (modules imported, prompts loaded): what exists now lives as long as the
    process, so the garbage collector stops walking it. Its full collections otherwise
    traverse every module, Bolt's and babel's tables and the questionnaire, a few times a
    second under load: a sixth of a Slack request's CPU."""
    gc.collect()
    gc.freeze()


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log lines at ``level`` and above to ``stream`` (default: standard error)."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=stream
    )
    # Library loggers can echo request bodies, headers or SQL with people's answers at
    # DEBUG/INFO; keep them at WARNING whatever LOG_LEVEL says.
    for noisy in ("slack_bolt", "slack_sdk", "discord", "aiohttp.access", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
