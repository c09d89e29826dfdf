"""Start-up against a service that may be down: try again with growing waits, one log line
per failed attempt (no traceback), and give up at once when told to stop (SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

FIRST_DELAY, MAX_DELAY = 1.0, 30.0


class Stopped(Exception):
    """``stop`` was set while waiting to try again."""


class OneLine(logging.Filter):
    """Drops the traceback of a library's log record: the error is in its message already,
    and a reconnection loop would otherwise print one every few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.msg} ({type(exc).__name__}: {exc})"
        record.exc_info = None
        record.exc_text = None
        return True


def one_line(*loggers: str) -> None:
    for name in loggers:
        logging.getLogger(name).addFilter(OneLine())


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    service: str,
    transient: tuple[type[BaseException], ...],
    what: str,
    stop: asyncio.Event,
    log: logging.Logger,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    describe: Callable[[BaseException], str] = _describe,
) -> T:
    """``attempt()`` until it succeeds, waiting longer after each ``transient`` failure
    (``service`` unreachable); anything else passes through at once. ``stop`` being set
    ends the wait with :class:`Stopped`."""
    delay = first_delay
    tries = 0
    while True:
        if stop.is_set():
            raise Stopped
        tries += 1
        try:
            return await attempt()
        except transient as exc:
            log.warning(
                "cannot reach %s to %s (%s): trying again in %.0f s (attempt %d)",
                service,
                what,
                describe(exc),
                delay,
                tries,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            raise Stopped
        delay = min(delay * 2, max_delay)
