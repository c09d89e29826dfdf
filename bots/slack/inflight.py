"""The work still running after Slack got its acknowledgement.

Listeners ack and hand the rest of their work to :meth:`InFlight.spawn`, so Bolt answers
the HTTP request at once (it runs with ``process_before_response``: no polling for the
ack); a shutdown (and a test) waits here until that work is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

log = logging.getLogger("should_i_take_it.slack")


class InFlight:
    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while they run

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on its own task, counted from this moment (not from when it starts)."""
        self._running += 1
        self._idle.clear()
        task = asyncio.create_task(self._run(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("a Slack listener failed after its ack")
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    @property
    def running(self) -> int:
        return self._running

    async def __aenter__(self) -> None:
        self._running += 1
        self._idle.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._running -= 1
        if self._running == 0:
            self._idle.set()

    async def wait(self, timeout: float) -> bool:
        """Wait until nothing is running; False if work was still running at ``timeout``."""
        # One turn of the loop first: a listener Bolt has just scheduled gets to start.
        await asyncio.sleep(0)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
