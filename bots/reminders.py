"""The reminder sender: each long-running process sends its own platform's due reminders.

Theory of operation: every ``every`` seconds (jittered, so several processes do not claim
in step) the sender claims the due reminders of its platform for ``lease``
(:meth:`core.ports.Store.reminders_claim`: two processes never claim the same one), has
each drawn by the session (:meth:`core.session.Session.reminder_turn`), hands it to the
platform's ``send`` and marks it sent. Delivery is **at least once**: a process that dies
after sending and before marking leaves the reminder to be claimed again once its lease
runs out, so it may arrive twice; a reminder is never lost to a crash (a repeated "did
they answer?" is a small annoyance, a forgotten promise is what this feature prevents).

A reminder that comes due at night where the user lives (a process that was down sends
late) is moved to the next civil hour instead (:func:`core.followup.deliverable`), and
one whose entry was forgotten is gone with it (``forget`` deletes reminders).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

from core import followup
from core.ports import DueReminder, Reminder, Step, StoreError
from core.session import Session
from core.turn import Turn

log = logging.getLogger("should_i_take_it.reminders")

# Sends one reminder's turn; False when it could not be delivered (left for a retry).
Send = Callable[[DueReminder, Turn], Awaitable[bool]]
EVERY = 30.0  # seconds between two looks for due reminders
LEASE = timedelta(minutes=2)
BATCH = 100


class ReminderSender:
    def __init__(
        self,
        session: Session,
        platform: str,
        send: Send,
        *,
        every: float = EVERY,
        lease: timedelta = LEASE,
    ) -> None:
        self.session, self.platform, self.send = session, platform, send
        self.every, self.lease = every, lease
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Send what is due now; returns how many reminders went out."""
        store, clock = self.session.store, self.session.clock
        sent = 0
        while True:
            now = clock()
            due = await store.reminders_claim(
                self.platform, now, claim_until=now + self.lease, limit=BATCH
            )
            delivered: list[DueReminder] = []
            for reminder in due:
                if await self._one(reminder):
                    delivered.append(reminder)
            await self.session.reminders_delivered(delivered)
            sent += len(delivered)
            if len(due) < BATCH:
                return sent

    async def _one(self, reminder: DueReminder) -> bool:
        """Send one claimed reminder; True when it is done with (sent, or its entry gone)."""
        now = self.session.clock()
        entry = reminder.entry
        if await self.session.store.entry(reminder.key, entry.ref) is None:
            return True  # forgotten since it was claimed: nothing to send, ever
        later = followup.deliverable(reminder.due_at, now, entry.detail("tz"))
        if later is not None:
            # Night where the user lives: moved to the morning (a deferral, not a send).
            await self.session.store.follow_up(
                reminder.key,
                entry.ref,
                Step(followup.DEFERRED, reminder.due_at),  # when it was due (see DEFERRED)
                reschedule=True,
                reminder=Reminder(reminder.kind, later),
            )
            return False
        try:
            return await self.send(reminder, self.session.reminder_turn(reminder, now))
        except Exception:
            log.exception("sending a reminder failed platform=%s", self.platform)
            return False

    async def _forever(self) -> None:
        while True:
            try:
                count = await self.run_once()
                if count:
                    log.info("reminders sent platform=%s count=%d", self.platform, count)
            except StoreError:
                log.warning("reminders skipped: store unavailable")
            except Exception:
                log.exception("reminders failed")
            await asyncio.sleep(self.every * (0.5 + random.random()))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name=f"{self.platform}-reminders")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
