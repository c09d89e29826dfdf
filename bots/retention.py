"""Retention that runs: expired rows are deleted on schedule.

Every long-running process (Slack HTTP and Socket Mode, Discord) runs a :class:`Sweeper`,
and ``should-i-take-it sweep`` does one pass for cron. A pass deletes what has outlived
its deadline: conversations idle past the TTL, old delivery ids, settled inbox and outbox
rows and reminders sent more than 30 days ago (the store's ``sweep``), and Slack OAuth
states never used (slack_sdk's ``slack_oauth_states`` table, when it exists). Each is a
plain ``DELETE … WHERE deadline <= now``: idempotent, so several processes sweeping at
once only repeat each other's (cheap) work; the jitter keeps them from doing it at the
same moment. The README's "Where your data lives" section lists every table and how long
its rows live (a test checks that every table of the store's schema is there).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bots.bootstrap import App
from core.ports import StoreError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("should_i_take_it.retention")

INTERVAL = timedelta(minutes=10)
JITTER = 0.2  # each wait is the interval ± 20 %, so processes drift apart
OAUTH_STATES = "slack_oauth_states"  # slack_sdk's default table name


@dataclass(frozen=True, slots=True)
class Swept:
    rows: int  # the store's: conversations, delivery ids, inbox, outbox, sent reminders
    oauth_states: int

    @property
    def total(self) -> int:
        return self.rows + self.oauth_states


async def sweep(app: App, *, oauth_states: bool = True) -> Swept:
    """One pass. ``oauth_states``: also purge the OAuth state table (on the composition
    root's database engine), if it exists."""
    now = app.session.clock()
    rows = await app.session.sweep()
    states = await sweep_oauth_states(app.database(), now) if oauth_states else 0
    return Swept(rows, states)


async def sweep_oauth_states(engine: AsyncEngine, now: datetime) -> int:
    """Delete the OAuth states that expired (an install link opened and never finished);
    0 when the table does not exist (no multi-workspace installs configured)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    # slack_sdk stores naive UTC datetimes.
    cutoff = now.astimezone(UTC).replace(tzinfo=None)
    try:
        async with engine.begin() as conn:
            exists = await conn.run_sync(lambda c: sa.inspect(c).has_table(OAUTH_STATES))
            if not exists:
                return 0
            table = sa.table(OAUTH_STATES, sa.column("expire_at"))
            result = await conn.execute(sa.delete(table).where(table.c.expire_at <= cutoff))
            return max(result.rowcount, 0)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot sweep {OAUTH_STATES}: {type(exc).__name__}") from exc


class Sweeper:
    """Sweeps every ``interval`` (jittered) until stopped; a failed pass is logged and
    retried at the next one (the database may be down for a while)."""

    def __init__(
        self,
        app: App,
        *,
        interval: timedelta = INTERVAL,
        oauth_states: bool = True,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.app = app
        self.interval = interval.total_seconds()
        self.oauth_states = oauth_states
        self.rng = rng
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def next_wait(self) -> float:
        return self.interval * (1 - JITTER + 2 * JITTER * self.rng())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def __aenter__(self) -> Sweeper:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        # The first pass at a random moment of the first interval: a process restarted
        # more often than the interval still sweeps, and processes started together
        # do not sweep together.
        wait = self.interval * self.rng()
        while True:
            await asyncio.sleep(wait)
            wait = self.next_wait()
            try:
                swept = await sweep(self.app, oauth_states=self.oauth_states)
            except StoreError as exc:
                log.warning("retention sweep failed, trying again later: %s", exc)
                continue
            self.passes += 1
            if swept.total:
                log.info(
                    "retention sweep: %d expired row(s) deleted, %d OAuth state(s)",
                    swept.rows,
                    swept.oauth_states,
                )
