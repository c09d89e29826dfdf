"""The session layer: load a conversation, step it, save it, hand back the actions.

It is the only part of core that does I/O, and only through the :class:`core.ports.Store`
port and an injected clock. What it guarantees:

* **Exactly once**: a save names the version it read; when another writer got there first
  the turn is re-read and re-applied, so two racing clicks on one button advance the
  conversation once (the second finds its question already answered: a stale click).
* **Redelivery is a no-op**: a platform's delivery id is remembered before anything else.
* **Expiry by stored deadline**: a conversation idle past ``ttl`` has ended; a late answer
  gets a friendly notice, never an error.
* **Unreadable state** (corrupt row, unknown schema, a step removed from ``prompts/``)
  restarts that one conversation with an apology.
* **One turn at a time per conversation** in this process (a :class:`Serialiser`, given by
  the composition root): events racing on one conversation queue instead of exhausting
  the compare-and-set's retries; the compare-and-set still arbitrates between processes.
* **A forget is confirmed once**: its button carries :meth:`Session.forget_version`, a
  fingerprint of what it would delete; once anything changed (a first click deleted it,
  a decision was made since), the button is no longer open.
* **Acknowledged means durable, shown means delivered** (when the adapter passes
  ``inbox_id`` and ``draw``): the inbox row the event was written to before its ack is
  marked done in the same transaction as the turn's save, and the messages ``draw`` makes
  of the turn are queued in that transaction too (a turn that saves nothing settles both
  with :meth:`core.ports.Store.finish`). A row already processed (by another process whose
  claim overlapped) changes nothing and gives a duplicate turn.
* **Follow-through** (:mod:`core.followup`): a decision is filed as a journal entry with a
  ``ref`` (which its next-step controls carry), the details its next drafts need, and its
  first reminder, all in the turn's transaction; the result shows the next steps. A
  next-step click (:class:`core.controls.NextStep`) is handled by :meth:`Session.handle`
  like an event; a due reminder becomes a turn with :meth:`Session.reminder_turn`.
* **The journal at the triage question**: when a turn opens the question flagged
  ``journal: true`` about a named client, the user's own journal is read once (this key's
  decisions only) and handed to the engine (:func:`core.engine.with_journal`), which keeps
  what it found in the conversation; no other turn reads it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core import followup
from core.actions import Action, Ask, Control, Notice, Result, Say
from core.controls import NextStep
from core.engine import (
    answered_note,
    is_consistent,
    journal_client,
    locale_lang,
    opens_conversation,
    step,
    with_journal,
)
from core.events import Answer, Event, Start
from core.journal import LOOKUP_LIMIT
from core.ports import (
    ConversationKey,
    ConversationWrite,
    Decision,
    DueReminder,
    OutboxMessage,
    Reminder,
    Step,
    Store,
    StoredConversation,
    StoreError,
)
from core.profile import ProfileError, UserProfile, edit
from core.questionnaire import Questionnaire
from core.state import ConversationState, StateError
from core.turn import Effect, Source, Turn, classify, duplicate, failed

log = logging.getLogger("should_i_take_it.turn")

DEFAULT_TTL = timedelta(hours=24)
# Slack retries within ~5 minutes; Discord never redelivers an interaction. Keep a margin.
DELIVERY_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 8
# Draws a turn into the messages the platform must show (its outbox rows).
Draw = Callable[[Turn], Sequence[OutboxMessage]]
# The deadline is indexed, so it is rewritten only when it must move by at least this much
# (or ttl/100 when that is shorter): an idle conversation then ends between ttl - step and
# ttl after its last turn, and a four-question conversation rewrites the index about once.
EXPIRY_STEP = timedelta(minutes=5)
FORGET_VERSIONS = 10**12  # a control's version has at most 12 digits
# A journal entry's ref: milliseconds since this instant when it was decided (a control's
# version has at most 12 digits: enough until 2051).
REF_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class Serialiser(Protocol):
    """Runs the work on one conversation key at a time (``bots.locks.KeyedLocks``)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


class _Unserialised:
    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        yield


class Session:
    def __init__(
        self,
        questionnaire: Questionnaire,
        store: Store,
        *,
        clock: Callable[[], datetime],
        ttl: timedelta = DEFAULT_TTL,
        delivery_ttl: timedelta = DELIVERY_TTL,
        serialiser: Serialiser | None = None,
    ) -> None:
        self.questionnaire = questionnaire
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.delivery_ttl = delivery_ttl
        self.serialiser: Serialiser = serialiser if serialiser is not None else _Unserialised()

    async def handle(
        self,
        key: ConversationKey,
        event: Event | NextStep,
        *,
        delivery_id: str | None = None,
        inbox_id: int | None = None,
        draw: Draw | None = None,
        locale: str | None = None,
    ) -> Turn:
        """The turn ``event`` makes. With ``draw``, the turn returned is the very object
        whose drawn messages were queued (``is`` tells; a failed or duplicate turn is not).
        ``locale``: the platform's idea of the user's language, for the apology when the
        store is away (the conversation's own language is in the store)."""
        started = self.clock()
        box = _Box(inbox_id, draw, started)
        try:
            async with self.serialiser.hold(key.as_string()):
                if isinstance(event, NextStep):
                    turn = await self._next_step(key, event, delivery_id, started, box)
                else:
                    turn = await self._handle(key, event, delivery_id, started, box)
        except StoreError:
            log.exception(
                "store unavailable platform=%s event=%s", key.platform, type(event).__name__
            )
            lang = _apology_lang(self.questionnaire, event, locale)
            return failed((Say(self.questionnaire.ui(lang, "error"), Notice.ERROR),), lang)
        elapsed_ms = (self.clock() - started).total_seconds() * 1000
        log.info(
            "turn platform=%s event=%s at=%s effect=%s latency_ms=%.1f",
            key.platform,
            type(event).__name__,
            _where(turn),
            turn.effect,
            elapsed_ms,
        )
        return turn

    async def _handle(
        self,
        key: ConversationKey,
        event: Event,
        delivery_id: str | None,
        now: datetime,
        box: _Box | None = None,
    ) -> Turn:
        box = box or _Box(None, None, now)
        q = self.questionnaire
        if delivery_id is not None and not await self.first_delivery(delivery_id, now):
            return duplicate(q.languages[0])
        if isinstance(event, Start):
            # What the user saved (core.profile) applies at a start: one read, on a start only.
            profile = await self.store.load_profile(key)
            event = replace(event, profile=UserProfile.from_json(profile, q))
        for _ in range(MAX_ATTEMPTS):
            stored = await self.store.load(key)
            state, notices, ev = self._prepare(stored, event, now)
            if isinstance(ev, Answer) and ev.profile is None and opens_conversation(q, state, ev):
                # Typed text that will open a conversation: the saved profile applies, as
                # at a start (one read, only then).
                typed_profile = UserProfile.from_json(await self.store.load_profile(key), q)
                ev = event = replace(ev, profile=typed_profile)
            if ev is None:  # expired, and the event was not a start: say so and close it
                assert state is not None and stored is not None
                turn = classify(event, None, state, tuple(notices), default_lang=state.lang)
                saved = await self.store.save(
                    box.settle(
                        ConversationWrite(
                            key,
                            state.to_json(),
                            version=state.version,
                            expected_version=stored.version,
                            expires_at=self._deadline(stored, now),
                        ),
                        turn,
                    )
                )
                if saved or not box.settles:
                    return turn
                continue  # its inbox row and messages must land: read again
            new_state, actions = step(q, state, ev)
            if new_state is not None and new_state is not state:
                client = journal_client(q, new_state)
                if client is not None:
                    # The triage question is about to be asked about a named client: one read
                    # of this user's own journal, kept in the state so it is not read again.
                    found = await self.store.decisions(key, LOOKUP_LIMIT)
                    new_state, actions = with_journal(q, new_state, actions, found)
            if new_state is None or new_state is state:
                before = state if not notices else None  # a reset row counts as a change
                turn = self._turn(ev, before, state, (*notices, *actions))
                return turn if await box.finish(self.store, turn) else duplicate(q.languages[0])
            finished = new_state.status == "done" and (state is None or state.status != "done")
            decision, reminder, look = None, None, None
            if finished:
                new_state, shown, decision, reminder = self._decide(key, new_state, actions, now)
                actions = list(shown)
            elif new_state.status == "done":
                actions = list(self._with_next_steps(new_state, actions, now))
                # Another tone or language picked on the result: the next drafts too.
                look = None if state is None else followup.look(q, state, new_state)
            turn = self._turn(ev, state, new_state, (*notices, *actions))
            write = box.settle(
                ConversationWrite(
                    key,
                    new_state.to_json(),
                    version=new_state.version,
                    expected_version=None if stored is None else stored.version,
                    expires_at=self._deadline(stored, now),
                    # Saved together: a crash cannot keep the result and lose the journal entry
                    # (nor the entry its reminder).
                    decision=decision,
                    replaces_decision=state is not None and state.decided,
                    reminder=reminder,
                    look=look,
                ),
                turn,
            )
            if await self.store.save(write):
                return turn
            if write.inbox_id is not None and not await self.store.inbox_open(write.inbox_id):
                return duplicate(q.languages[0])  # processed meanwhile, by another process
            # Someone else saved first: read again and re-apply this event to their result.
        raise StoreError(
            f"conversation {key.as_string()} kept changing under {MAX_ATTEMPTS} attempts"
        )

    def _turn(
        self,
        event: Event,
        before: ConversationState | None,
        after: ConversationState | None,
        actions: tuple[Action, ...],
    ) -> Turn:
        q = self.questionnaire
        note = answered_note(q, before, after) if before is not after else None
        return classify(event, before, after, actions, default_lang=q.languages[0], answered=note)

    def _prepare(
        self, stored: StoredConversation | None, event: Event, now: datetime
    ) -> tuple[ConversationState | None, list[Action], Event | None]:
        """Decode the stored state; deal with expiry and unreadable rows."""
        q = self.questionnaire
        if stored is None:
            return None, [], event
        try:
            state: ConversationState | None = ConversationState.from_json(stored.data)
            assert state is not None
            if not is_consistent(q, state):
                raise StateError("does not fit the current questionnaire")
        except StateError:
            log.warning("unreadable conversation state reset (version %d)", stored.version)
            base = _closed(q, None, stored.version)
            restart = event if isinstance(event, Start) else Start(today=now.date(), fresh=True)
            return base, [Say(q.ui(base.lang, "reset_apology"), Notice.NOTICE)], restart
        if state.version != stored.version:
            state = replace(state, version=stored.version)
        if stored.expires_at <= now and state.status == "active":
            closed = _closed(q, state, stored.version)
            if isinstance(event, Start):
                return closed, [], event
            return closed.bump(), [Say(q.ui(closed.lang, "expired"), Notice.ENDED)], None
        return state, [], event

    def _deadline(self, stored: StoredConversation | None, now: datetime) -> datetime | None:
        """The new deadline, or None to keep the stored one (see ``EXPIRY_STEP``)."""
        deadline = now + self.ttl
        if stored is None:
            return deadline
        moves_by = deadline - stored.expires_at
        return None if timedelta(0) <= moves_by < min(EXPIRY_STEP, self.ttl / 100) else deadline

    def _decide(
        self,
        key: ConversationKey,
        state: ConversationState,
        actions: Sequence[Action],
        now: datetime,
    ) -> tuple[ConversationState, tuple[Action, ...], Decision, Reminder | None]:
        """The journal entry a conversation just decided, its first reminder, and the
        result with its next steps; the state remembers the entry's ref, so the result
        redrawn (another tone) offers the same next steps."""
        q = self.questionnaire
        ref = journal_ref(now)
        decided = followup.on_decided(
            q, state, ref=ref, now=now, tz=state.context.get("tz"), wait=None
        )
        state = replace(state, context={**state.context, followup.REF_KEY: str(ref)})
        # The reminder is saved beside the entry, in the same write (see the store).
        decision = replace(decided.entry, platform=key.platform, reminder=None)
        shown = _add_controls(actions, decided.controls)
        if decided.notice is not None:
            # "I'll ask you on Monday whether Acme answered": part of the result's advice,
            # so the result stays one message, drawn last.
            shown = tuple(
                replace(a, advice=f"{a.advice}\n\n{decided.notice.text}")
                if isinstance(a, Result)
                else a
                for a in shown
            )
        return state, shown, decision, decided.entry.reminder

    def _with_next_steps(
        self, state: ConversationState, actions: Sequence[Action], now: datetime
    ) -> tuple[Action, ...]:
        """A decided conversation's result shown again (another tone or language) keeps
        the next steps of its entry (as first offered: a step no longer open says so)."""
        ref = state.context.get(followup.REF_KEY, "")
        if not ref.isdigit() or not any(isinstance(a, Result) for a in actions):
            return tuple(actions)
        entry = followup.entry_of(state, int(ref), now)
        return _add_controls(
            actions, followup.next_controls(self.questionnaire, entry, state.lang, now)
        )

    async def _next_step(
        self,
        key: ConversationKey,
        click: NextStep,
        delivery_id: str | None,
        now: datetime,
        box: _Box,
    ) -> Turn:
        """A next step clicked on a journal entry: its draft (and what it records on the
        entry: the step, the new status, the reminder moved or cancelled). A replay of a
        step already recorded shows its draft again and records nothing."""
        q = self.questionnaire
        if delivery_id is not None and not await self.first_delivery(delivery_id, now):
            return duplicate(q.languages[0])
        entry = await self.store.entry(key, click.ref)
        turn = self._entry_gone(q.languages[0] if entry is None else entry.lang)
        if entry is not None:
            done = followup.apply(q, entry, click.step, click.value, now)
            recorded = True
            if done.step is not None and not done.again:
                updated = await self.store.follow_up(
                    key,
                    entry.ref,
                    done.step,
                    status=done.status,
                    reschedule=done.reschedule,
                    reminder=done.reminder,
                )
                recorded = updated is not None  # None: forgotten meanwhile
            if recorded:
                turn = followup.turn(done, entry.lang)
        return turn if await box.finish(self.store, turn) else duplicate(q.languages[0])

    def _entry_gone(self, lang: str) -> Turn:
        """A next step on an entry that is no longer in the journal: said to the clicker,
        and none of its steps is open any more."""
        say = Say(self.questionnaire.ui(lang, "followup_gone"), Notice.STALE)
        return Turn(Effect.STALE, lang, (say,), Source.KEEP, private=True, open_steps=())

    def reminder_turn(self, due: DueReminder, now: datetime) -> Turn:
        """The message a due reminder sends (a turn with nothing to freeze)."""
        actions = followup.reminder_actions(self.questionnaire, due, now, due.entry.lang)
        return Turn(Effect.INFORMED, due.entry.lang, tuple(actions), Source.KEEP)

    async def reminders_delivered(self, delivered: Sequence[DueReminder]) -> None:
        """Due reminders shown to their users (sent, or printed by the terminal): marked sent,
        and each entry's history of steps says when it was brought up."""
        if not delivered:
            return
        await self.store.reminders_sent([r.id for r in delivered], now=self.clock())
        for r in delivered:
            await self.store.follow_up(r.key, r.entry.ref, Step(followup.REMINDED, self.clock()))

    async def first_delivery(self, delivery_id: str, now: datetime | None = None) -> bool:
        """Remember a platform delivery id (a turn's, or a command's that only shows
        something); False when it was seen before (a redelivery or a replay)."""
        now = now or self.clock()
        return await self.store.remember_delivery(
            delivery_id, now=now, keep_until=now + self.delivery_ttl
        )

    async def history(self, key: ConversationKey, limit: int = 20) -> list[Decision]:
        return await self.store.decisions(key, limit)

    # --- the saved profile (core.profile): every editor's reads and writes ---------------

    async def profile(self, key: ConversationKey) -> UserProfile:
        return UserProfile.from_json(await self.store.load_profile(key), self.questionnaire)

    async def edit_profile(self, key: ConversationKey, text: str) -> UserProfile | ProfileError:
        """Apply the one change ``text`` asks for (:func:`core.profile.edit`) and save it:
        the profile as saved, or why it was refused (nothing saved)."""
        # One change at a time per user, so two quick edits both land.
        async with self.serialiser.hold(key.as_string()):
            changed = edit(self.questionnaire, await self.profile(key), text)
            if isinstance(changed, UserProfile):
                await self.store.save_profile(key, changed.to_json(), now=self.clock())
            return changed

    async def replace_profile(self, key: ConversationKey, profile: UserProfile) -> None:
        """Save ``profile`` whole (a form's), after any edit under way for the user."""
        async with self.serialiser.hold(key.as_string()):
            await self.store.save_profile(key, profile.to_json(), now=self.clock())

    async def forget(self, key: ConversationKey) -> int:
        """Delete the user's journal and open conversation; returns how many decisions went."""
        async with self.serialiser.hold(key.as_string()):
            return await self.store.forget(key)

    async def forget_version(self, key: ConversationKey) -> int:
        """What a forget would delete now, as a control version: the latest decision's time
        and the open conversation's version and deadline (which every save moves on)."""
        latest = await self.store.decisions(key, 1)
        stored = await self.store.load(key)
        parts = (
            latest[0].decided_at.isoformat() if latest else "-",
            f"{stored.version}@{stored.expires_at.isoformat()}" if stored else "-",
        )
        digest = hashlib.sha256("|".join(parts).encode()).digest()
        return int.from_bytes(digest[:8], "big") % FORGET_VERSIONS

    async def forget_confirmed(self, key: ConversationKey, version: int) -> int | None:
        """The forget button clicked: delete, if nothing changed since it was shown
        (``version``); None, deleting nothing, when it is no longer open (a second or
        replayed click, or decisions made since)."""
        async with self.serialiser.hold(key.as_string()):
            if version != await self.forget_version(key):
                return None
            return await self.store.forget(key)

    async def sweep(self) -> int:
        return await self.store.sweep(self.clock())


class _Box:
    """What a turn settles besides the conversation: its inbox row and its messages."""

    def __init__(self, inbox_id: int | None, draw: Draw | None, now: datetime) -> None:
        self.inbox_id, self.draw, self.now = inbox_id, draw, now

    @property
    def settles(self) -> bool:
        return self.inbox_id is not None or self.draw is not None

    def settle(self, write: ConversationWrite, turn: Turn) -> ConversationWrite:
        if not self.settles:
            return write
        outbox = tuple(self.draw(turn)) if self.draw is not None else ()
        return replace(write, inbox_id=self.inbox_id, outbox=outbox, now=self.now)

    async def finish(self, store: Store, turn: Turn) -> bool:
        """For a turn that saves nothing; False when its inbox row was already done."""
        outbox = tuple(self.draw(turn)) if self.draw is not None else ()
        if self.inbox_id is None and not outbox:
            return True
        return await store.finish(self.inbox_id, outbox, now=self.now)


def _apology_lang(q: Questionnaire, event: Event | NextStep, locale: str | None) -> str:
    """The language to apologise in without the store: the one the event asks for, else
    the event's or the platform's locale, else the first."""
    for spoken in (
        getattr(event, "lang", None),
        locale_lang(getattr(event, "locale", None)),
        locale_lang(locale),
    ):
        if spoken in q.languages:
            return str(spoken)
    return q.languages[0]


def journal_ref(now: datetime) -> int:
    """A new journal entry's ref (see ``REF_EPOCH``)."""
    return int((now - REF_EPOCH).total_seconds() * 1000)


def _add_controls(actions: Sequence[Action], extra: Sequence[Control]) -> tuple[Action, ...]:
    """The result among ``actions`` with ``extra`` controls added."""
    if not extra:
        return tuple(actions)
    return tuple(
        replace(a, controls=(*a.controls, *extra)) if isinstance(a, Result) else a for a in actions
    )


def _closed(q: Questionnaire, state: ConversationState | None, version: int) -> ConversationState:
    if state is None:
        state = ConversationState(lang=q.languages[0], tone=q.tones[0], step=q.start)
    return replace(state, status="cancelled", pending=None, version=version)


def _where(turn: Turn) -> str:
    for action in reversed(turn.actions):
        if isinstance(action, Result):
            return f"outcome:{action.outcome}"
        if isinstance(action, Ask):
            return f"ask:{action.question}"
    return "-"
