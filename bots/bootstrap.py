"""The composition root: questionnaire + store + clock → a Session. Every entry point
(terminal, Slack, Discord, check) builds its session here and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bots.config import Settings
from core.ports import Store
from core.questionnaire import Questionnaire, load_questionnaire
from core.session import Session


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    questionnaire: Questionnaire
    store: Store
    session: Session

    async def close(self) -> None:
        await self.store.close()


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
    session = Session(questionnaire, store, clock=clock, ttl=settings.conversation_ttl)
    return App(settings, questionnaire, store, session)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Library loggers can echo request bodies, headers or SQL with people's answers at
    # DEBUG/INFO; keep them at WARNING whatever LOG_LEVEL says.
    for noisy in ("slack_bolt", "slack_sdk", "discord", "aiohttp.access", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
