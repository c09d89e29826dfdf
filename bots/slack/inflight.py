"""Counting the work still running after Slack got its acknowledgement.

Bolt answers Slack as soon as a listener acks and runs the rest of the listener in a
task of its own, out of the web server's sight. Listeners enter an :class:`InFlight`, so a
shutdown (and a test) can wait until that work is done.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class InFlight:
    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
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
