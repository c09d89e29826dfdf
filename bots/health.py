"""Is the database answering? A probe shared by every caller of a health endpoint.

A load balancer (or anyone: the endpoint is anonymous) may call ``/healthz`` thousands of
times a second; a database query per call would exhaust the connection pool and turn the
answer into 503s while the database is fine. :meth:`Probe.cached` runs at most one query
per ``max_age`` (one second) and lets concurrent callers share the query in flight;
:meth:`Probe.fresh` (the readiness check) always asks the database, still sharing one
query among concurrent callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.ports import StoreError

MAX_AGE = 1.0  # seconds a probe's answer is reused
TIMEOUT = 2.0  # a database slower than this to answer a ping counts as down


class Probe:
    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        *,
        max_age: float = MAX_AGE,
        timeout: float = TIMEOUT,
    ) -> None:
        self._ping = ping
        self.max_age = max_age
        self.timeout = timeout
        self.probes = 0  # how many times the database was asked (for tests and figures)
        self._answer: tuple[float, bool] | None = None  # (when, healthy)
        self._running: asyncio.Task[bool] | None = None

    async def cached(self) -> bool:
        """The database's health as of at most ``max_age`` seconds ago."""
        answer = self._answer
        if answer is not None and asyncio.get_running_loop().time() - answer[0] < self.max_age:
            return answer[1]
        return await self.fresh()

    async def fresh(self) -> bool:
        """Ask the database now (or join the question already on its way)."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._probe(), name="health-probe")
        # Shielded: a caller that goes away does not cancel the others' answer.
        return await asyncio.shield(self._running)

    async def _probe(self) -> bool:
        self.probes += 1
        try:
            await asyncio.wait_for(self._ping(), self.timeout)
            healthy = True
        except (StoreError, TimeoutError):
            healthy = False
        self._answer = (asyncio.get_running_loop().time(), healthy)
        return healthy
