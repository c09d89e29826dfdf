"""Follow-through: what becomes of a client request after the decision.

Theory of operation
-------------------
* A journal entry (:class:`core.ports.Decision`) is one client request as decided. Its
  ``status`` says where the request stands ("" as decided, then one of :data:`STATUSES`)
  and its ``steps`` what the user did since. This module is pure: the time and the user's
  time zone come in as values, nothing is read or written. The session records what
  :func:`apply` returns with ``Store.follow_up``, and schedules what :func:`on_decided`
  returns with the decision.
* What the user may do next is data: :data:`STAGES` maps an entry's (outcome, status) to
  the steps on offer (:class:`Offer`). A step may write a draft, move the status, cancel
  or move the entry's reminder. A step can be tied to a date of the entry (writing to a
  client opens on the free-from date), or done once (the two halves of a referral). A
  step that is not on offer for the entry as it stands (an old button, a second click)
  gets a friendly notice and records nothing: never an exception. The same step taken
  again (a double click, a redelivered click) shows its draft again and records nothing.
* A status in :data:`TERMINAL` offers nothing more: a settled request stays settled.
* Reminders come at a civil hour in the user's time zone: "did they answer?" some working
  days after the proposal (Saturday and Sunday skipped), "time to write to them" on the
  free-from date, both at :data:`REMIND_AT` local time. A reminder a sender claims at night
  is moved to the next morning rather than sent (:func:`deliverable`). A missing or
  unknown time zone is UTC.
* The words live in ``prompts/<lang>.yaml`` under ``followups:``, checked at load time
  like the rest of the questionnaire; drafts are rendered by :mod:`core.templates`, so a
  missing name or date falls back the same way a reply's does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton

from core import money, names, templates
from core.actions import Action, Control, ControlKind, Notice, Result, Row, Say, Style
from core.dates import format_date
from core.ports import Decision, DueReminder, EntryLook, Reminder, Step
from core.questionnaire import FOLLOWUP_FIELDS, SKIP, Questionnaire
from core.state import ConversationState
from core.text import fold, french_typography, strip_trailing
from core.turn import Effect, Source, Turn

# Reminder kinds (``Reminder.kind``).
ANSWER: Final = "answer"  # did the client answer the proposal?
REACH_BACK: Final = "reach_back"  # the user is free again: time to write to the client

STATUSES: Final = ("", "agreed", "couldnt", "introduced", "reached", "closed")
TERMINAL: Final = frozenset({"agreed", "couldnt", "introduced", "reached"})

DEFAULT_WAIT: Final = 3  # working days before "did they answer?"
MIN_WAIT: Final = 1  # working days before "did they answer?" (the profile's wait)
MAX_WAIT: Final = 20
REMIND_AT: Final = time(9, 30)  # local time a reminder is due
CIVIL_HOURS: Final = (time(8, 0), time(20, 0))  # when a due reminder may be sent (local)
LATE: Final = timedelta(hours=1)  # sent this long after its due time, a reminder says so
REMINDED: Final = "reminded"  # the step a sender records when it sends a reminder
# ... and when it keeps one that came due at night for the morning; that step's time is
# when the reminder was due, so the morning's message can say how late it is.
DEFERRED: Final = "deferred"
# The state's context key holding the ref of the journal entry a conversation was filed as
# (its result, shown again in another tone, offers that entry's next steps).
REF_KEY: Final = "entry_ref"
# The details an entry keeps from the conversation, besides tone, time zone, wait, request
# fingerprint and outcome variant: the answers and context a next step's words use.
KEPT: Final = (
    "client",
    "colleague",
    "deadline",
    "fee_proposal",
    "free_from",
    "signature",
    "locale",
)
LABEL_NAME = 40  # a name in a button is cut at this many characters (Discord: 80 a label)


class Reminders(StrEnum):
    """What a step does to the entry's pending reminder."""

    KEEP = "keep"
    CANCEL = "cancel"
    SNOOZE = "snooze"  # ask "did they answer?" again, the step's value working days from now


@dataclass(frozen=True, slots=True)
class Offer:
    """A next step: its id (what a control carries), what it does, and when it is open.

    ``values`` are the arguments a control may carry ("" when none: one control each).
    ``recorded`` is the step's name in the entry's ``steps`` when it is not its id.
    ``once``: not offered again once recorded; its ``status`` applies when every ``once``
    step of its stage is recorded. ``opens`` / ``closes``: the detail (an ISO date) from
    which the step is open / no longer open, in the user's time zone; without that detail
    the step is never open. ``after``: a step to record first, unless the entry has the
    detail ``given`` (a heads-up to a colleague nobody was told about yet waits for the
    introduction that names them)."""

    step: str
    draft: str | None = None
    status: str | None = None
    reminders: Reminders = Reminders.KEEP
    values: tuple[str, ...] = ("",)
    recorded: str = ""
    notice: str | None = None
    once: bool = False
    opens: str | None = None
    closes: str | None = None
    after: str | None = None
    given: str | None = None

    @property
    def name(self) -> str:
        return self.recorded or self.step


_COULDNT = Offer("couldnt", draft="thanks", status="couldnt", reminders=Reminders.CANCEL)
_WAIT = Offer(
    "wait", reminders=Reminders.SNOOZE, values=("3", "5"), recorded="snoozed", notice="snoozed"
)
_STOP = Offer(
    "stop", status="closed", reminders=Reminders.CANCEL, recorded="stopped", notice="stopped"
)
_AGREED_TIMELINE = Offer(
    "agreed", draft="confirm_timeline", status="agreed", reminders=Reminders.CANCEL
)
_AGREED_FEE = Offer("agreed", draft="confirm_fee", status="agreed", reminders=Reminders.CANCEL)
_REACH = Offer(
    "reach", draft="reach_back", status="reached", reminders=Reminders.CANCEL, opens="free_from"
)

STAGES: Final[dict[tuple[str, str], tuple[Offer, ...]]] = {
    # A "not yet": the answer comes later. Stopping the reminders still lets the user say
    # how it ended.
    ("negotiate_timeline", ""): (_AGREED_TIMELINE, _COULDNT, _WAIT, _STOP),
    ("negotiate_timeline", "closed"): (_AGREED_TIMELINE, _COULDNT),
    ("negotiate_fee", ""): (_AGREED_FEE, _COULDNT, _WAIT, _STOP),
    ("negotiate_fee", "closed"): (_AGREED_FEE, _COULDNT),
    # A referral is done once the client has met the colleague and the colleague knows.
    ("refer", ""): (
        Offer("intro", draft="intro", status="introduced", once=True),
        # "I've passed your name on" is only true once a reply or the introduction did.
        Offer(
            "headsup",
            draft="headsup",
            status="introduced",
            once=True,
            after="intro",
            given="colleague",
        ),
    ),
    # "Booked until": a promise to be free on that date.
    ("booked", ""): (
        _REACH,
        Offer(
            "stop",
            status="closed",
            reminders=Reminders.CANCEL,
            recorded="stopped",
            notice="reach_cancelled",
            closes="free_from",
        ),
    ),
    ("booked", "closed"): (_REACH,),
}
# The reminder a decided request starts with, by outcome.
FIRST_REMINDER: Final = {
    "negotiate_timeline": ANSWER,
    "negotiate_fee": ANSWER,
    "booked": REACH_BACK,
}
_SCHEDULED = {ANSWER: "answer_scheduled", REACH_BACK: "reach_scheduled"}
# The history's phrase for where a request stands, by (outcome, status).
_PHRASES: Final = {
    **{
        (outcome, status): phrase
        for outcome in ("negotiate_timeline", "negotiate_fee")
        for status, phrase in (
            ("", "waiting"),
            ("closed", "closed"),
            ("agreed", "agreed"),
            ("couldnt", "couldnt"),
        )
    },
    ("refer", ""): "refer_open",
    ("refer", "introduced"): "introduced",
    ("booked", ""): "booked",
    ("booked", "closed"): "closed",
    ("booked", "reached"): "reached",
}
# A referral half done: the phrase by the step already recorded.
_HALF_DONE: Final = {"intro": "intro_written", "headsup": "headsup_written"}


@dataclass(frozen=True, slots=True)
class FollowUpResult:
    """What a next step does to a journal entry (see :func:`apply`).

    ``step`` is what to record (None: nothing is recorded, the step was not open).
    ``status`` the entry's new status, or None to keep it. With ``reschedule`` the entry's
    pending reminders are replaced by ``reminder`` (None: cancelled). ``actions`` are what
    to show; ``controls`` the next steps still open after this one (also on a draft's
    :class:`~core.actions.Result`). ``again``: a step the entry had already recorded,
    shown again (``step`` is that recorded step): there is nothing to record. ``answered``:
    the note that takes the place of the step's button ("You answered: They agreed")."""

    step: Step | None
    status: str | None = None
    reschedule: bool = False
    reminder: Reminder | None = None
    actions: tuple[Action, ...] = ()
    controls: tuple[Control, ...] = ()
    again: bool = False
    answered: str | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    """What a request decided now starts with (see :func:`on_decided`): its journal entry
    (with its first reminder; the platform is the caller's to say), the next steps to show
    under the result, and the notice saying when the bot will check in (None when it will
    not)."""

    entry: Decision
    controls: tuple[Control, ...]
    notice: Say | None


# --- at decision time ---------------------------------------------------------------


def on_decided(
    q: Questionnaire,
    state: ConversationState,
    *,
    ref: int,
    now: datetime,
    tz: str | None = None,
    wait: int | None = None,
) -> Decided:
    """The follow-through of the conversation ``state`` has just decided (at ``now``, as
    entry ``ref``): the answers on its path a next-step draft needs, the tone, the time
    zone, how many working days to wait and a fingerprint of the client's request (never
    its text). ``tz`` and ``wait`` default to what the start put in the state's context
    (the platform's or the saved profile's), then to UTC and :data:`DEFAULT_WAIT`."""
    if state.status != "done" or state.outcome is None:
        raise ValueError("on_decided needs a conversation that reached an outcome")
    details, zone, days = _details(q, state, tz, wait)
    entry = Decision(
        outcome=state.outcome,
        decided_at=now,
        lang=state.lang,
        platform="",
        client=dict(details).get("client"),
        ref=ref,
        details=details,
    )
    reminder = _first_reminder(entry, now, zone, days)
    entry = replace(entry, reminder=reminder)
    notice = None
    if reminder is not None:
        values = _values(q, entry, state.lang)
        values["due"] = _day(entry, state.lang, reminder.due_at, now)
        text = _render(
            q, state.lang, q.followup_text(state.lang, "notices", _SCHEDULED[reminder.kind]), values
        )
        notice = Say(text, Notice.NOTICE)
    controls = next_controls(q, entry, state.lang, now)
    return Decided(entry, controls, notice)


def _details(
    q: Questionnaire, state: ConversationState, tz: str | None, wait: int | None
) -> tuple[tuple[tuple[str, str], ...], ZoneInfo, int]:
    """An entry's details for the decided ``state`` (see :func:`on_decided`), its time zone
    and its wait in working days."""
    zone = time_zone(tz if tz is not None else state.context.get("tz"))
    if wait is None:
        saved = state.context.get("wait", "")
        wait = int(saved) if saved.isascii() and saved.isdigit() else DEFAULT_WAIT
    days = min(max(wait, MIN_WAIT), MAX_WAIT)
    found = _kept(state)
    request = fingerprint(state.context.get("request", ""))
    if request:
        found["request"] = request
    found.update(tone=state.tone, tz=zone.key, wait=str(days))
    outcome = q.outcomes.get(state.outcome or "")
    variant = outcome.variant(state.path_answers) if outcome is not None else None
    if variant is not None:
        found["variant"] = variant
    return tuple(sorted(found.items())), zone, days


def look(q: Questionnaire, before: ConversationState, after: ConversationState) -> EntryLook | None:
    """The entry's new look when a decided conversation's result is shown again in another
    tone or language (``before`` → ``after``); None when neither changed, or the state
    holds no entry. The details are those the decision filed, but for the tone."""
    ref = after.context.get(REF_KEY, "")
    if not ref.isdigit() or after.status != "done":
        return None
    if (before.tone, before.lang) == (after.tone, after.lang):
        return None
    return EntryLook(int(ref), after.lang, _details(q, after, None, None)[0])


def entry_of(state: ConversationState, ref: int, now: datetime) -> Decision:
    """The journal entry ``state`` was filed as (``ref``), as it stood when decided, enough
    to offer its next steps again under its result (another tone or language): its details
    without the request's fingerprint, and no reminder. The store holds the real one."""
    found = _kept(state)
    found.update(tone=state.tone, tz=time_zone(state.context.get("tz")).key)
    return Decision(
        outcome=state.outcome or "",
        decided_at=now,
        lang=state.lang,
        platform="",
        client=found.get("client"),
        ref=ref,
        details=tuple(sorted(found.items())),
    )


def _kept(state: ConversationState) -> dict[str, str]:
    """What the entry keeps (:data:`KEPT`): an answer on the path beats what the start said."""
    path = state.path_answers
    found: dict[str, str] = {}
    for name in KEPT:
        value = path.get(name) or state.context.get(name)
        if value and value != SKIP:
            found[name] = value
    return found


def _first_reminder(entry: Decision, now: datetime, zone: ZoneInfo, days: int) -> Reminder | None:
    kind = FIRST_REMINDER.get(entry.outcome)
    if kind == ANSWER:
        return Reminder(ANSWER, answer_due(now, zone.key, days))
    free_from = _detail_date(entry, "free_from")
    if kind != REACH_BACK or free_from is None:
        return None
    due = reach_back_due(free_from, zone.key)
    # A free-from date that is already today where the user is: the next morning.
    return Reminder(REACH_BACK, due if due > now else _next_morning(now, zone))


def fingerprint(text: str) -> str:
    """A short fingerprint of a request's text, the same for two copies that differ only in
    case, accents, spacing or punctuation; "" for a text with no words. The text itself is
    never kept."""
    words = "".join(ch if ch.isalnum() else " " for ch in fold(text)).split()
    if not words:
        return ""
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:16]


# --- next steps -----------------------------------------------------------------------


class Refused(StrEnum):
    """Why a step typed by its word cannot be taken (see :func:`refusal`)."""

    NOT_HERE = "not_here"  # never a step of this entry's outcome ("agreed" on a referral)
    NOT_OPEN = "not_open"  # not offered at this stage (a heads-up before the introduction)
    VALUES = "values"  # it takes one of ``values`` ("wait" alone, "wait 7")
    NO_VALUE = "no_value"  # it takes none ("agreed please")


@dataclass(frozen=True, slots=True)
class StepRefusal:
    why: Refused
    values: tuple[str, ...] = ()


def refusal(entry: Decision, step: str, value: str, now: datetime) -> StepRefusal | None:
    """Why ``step`` with ``value``, typed rather than clicked, cannot be taken on ``entry``
    at ``now``; None when it can, or when it was taken already (:func:`apply` shows its
    draft again)."""
    ever = [o for (of, _), stage in STAGES.items() if of == entry.outcome for o in stage]
    ever = [o for o in ever if o.step == step]
    if not ever:
        return StepRefusal(Refused.NOT_HERE)
    open_now = [o for o in offers(entry, now) if o.step == step]
    if not open_now:
        taken = any(o.name in _recorded(entry) for o in ever)
        return None if taken else StepRefusal(Refused.NOT_OPEN)
    values = tuple(v for o in open_now for v in o.values if v)
    if values and value not in values:
        return StepRefusal(Refused.VALUES, values)
    if not values and value:
        return StepRefusal(Refused.NO_VALUE)
    return None


def step_argument(control: Control) -> str:
    """A next step's control as ``should-i-take-it next N`` takes it, in any language:
    its step id and value ("wait 3")."""
    return f"{control.question} {control.value}".strip()


def offers(entry: Decision, now: datetime) -> tuple[Offer, ...]:
    """The steps open on ``entry`` at ``now``."""
    return tuple(o for o in STAGES.get((entry.outcome, entry.status), ()) if _open(o, entry, now))


def _open(offer: Offer, entry: Decision, now: datetime) -> bool:
    if offer.once and offer.name in _recorded(entry):
        return False
    waiting = offer.after is not None and offer.after not in _recorded(entry)
    if waiting and not (offer.given is not None and entry.detail(offer.given)):
        return False
    for name, opening in ((offer.opens, True), (offer.closes, False)):
        if name is None:
            continue
        day = _detail_date(entry, name)
        if day is None or (_local(now, entry).date() >= day) != opening:
            return False
    return True


def next_controls(
    q: Questionnaire, entry: Decision, lang: str, now: datetime
) -> tuple[Control, ...]:
    """The buttons of the steps open on ``entry`` at ``now``, labelled in ``lang``."""
    lang = _lang(q, lang)
    values = _label_values(q, entry, lang)
    return tuple(
        Control(
            ControlKind.NEXT,
            _label(q, lang, values, offer.step, value),
            question=offer.step,
            version=entry.ref,
            value=value,
            style=Style.PRIMARY if offer.draft else Style.SECONDARY,
            row=Row.NEXT_STEPS,
            # Typed on the terminal: "wait 3" ("attendre 3" in French).
            word=f"{q.followup_text(lang, 'words', offer.step)} {value}".strip(),
        )
        for offer in offers(entry, now)
        for value in offer.values
    )


def _label_values(q: Questionnaire, entry: Decision, lang: str) -> dict[str, str]:
    """What a step's label may name, cut short (a label is a button's)."""
    return {k: _cut(v) for k, v in _values(q, entry, lang).items()}


def _label(q: Questionnaire, lang: str, values: dict[str, str], step: str, value: str) -> str:
    return _render(q, lang, q.followup_text(lang, "steps", step), {**values, "days": value})


def _answered(q: Questionnaire, entry: Decision, lang: str, step: str, value: str) -> str:
    """The note left where a step's button was: "You answered: They couldn't"."""
    label = _label(q, lang, _label_values(q, entry, lang), step, value)
    return q.ui(lang, "answered", answer=label)


def step_for_word(q: Questionnaire, word: str) -> str | None:
    """The step a typed word names: its id, or its word in any language ("attendre",
    "arrêt": case and accents do not matter); None for a word no step has."""
    typed = fold(word)
    for step in q.texts[q.languages[0]].followups["words"]:
        if typed == fold(step) or any(
            typed == fold(q.followup_text(lang, "words", step)) for lang in q.languages
        ):
            return str(step)
    return None


def apply(
    q: Questionnaire, entry: Decision, step: str, value: str, now: datetime
) -> FollowUpResult:
    """Step ``step`` (with its control's ``value``) taken on ``entry`` at ``now``. A step not
    open on the entry as it stands records nothing and says so, unless it is one the entry
    already recorded (a double click, a redelivery): then what it showed is shown again,
    with ``step`` the one recorded (:func:`recorded` tells), and nothing changes."""
    lang = _lang(q, entry.lang)
    offer = next((o for o in offers(entry, now) if o.step == step and value in o.values), None)
    if offer is None:
        return _again(q, entry, step, value, now)
    reminder: Reminder | None = None
    if offer.reminders is Reminders.SNOOZE:
        reminder = Reminder(ANSWER, answer_due(now, entry.detail("tz"), int(value)))
    result = FollowUpResult(
        Step(offer.name, now),
        _new_status(entry, offer),
        reschedule=offer.reminders is not Reminders.KEEP,
        reminder=reminder,
    )
    after = updated(entry, result)
    controls = next_controls(q, after, lang, now)
    actions: list[Action] = []
    if offer.draft is not None:
        actions.append(_draft_result(q, after, offer.draft, lang, now, controls))
    if offer.notice is not None:
        values = _values(q, after, lang)
        if reminder is not None:
            values["due"] = _day(after, lang, reminder.due_at, now)
        text = q.followup_text(lang, "notices", offer.notice)
        actions.append(Say(_render(q, lang, text, values), Notice.NOTICE))
    answered = _answered(q, entry, lang, step, value)
    return replace(result, actions=tuple(actions), controls=controls, answered=answered)


def _again(
    q: Questionnaire, entry: Decision, step: str, value: str, now: datetime
) -> FollowUpResult:
    """A step that is not open: shown again when the entry recorded it, refused otherwise."""
    lang = _lang(q, entry.lang)
    controls = next_controls(q, entry, lang, now)
    stages = [stage for (outcome, _), stage in STAGES.items() if outcome == entry.outcome]
    offer = next(
        (o for stage in stages for o in stage if o.step == step and value in o.values), None
    )
    taken = [s for s in entry.steps if offer is not None and s.name == offer.name]
    if offer is None or not taken or (offer.reminders is Reminders.SNOOZE):
        # A snooze is never replayed: "ask me again" once more moves the reminder again.
        text = _render(q, lang, q.followup_text(lang, "notices", "not_open"), {})
        return FollowUpResult(None, actions=(Say(text, Notice.STALE),), controls=controls)
    actions: list[Action] = []
    if offer.draft is not None:
        actions.append(_draft_result(q, entry, offer.draft, lang, now, controls))
    if offer.notice is not None:
        text = q.followup_text(lang, "notices", offer.notice)
        actions.append(Say(_render(q, lang, text, _values(q, entry, lang)), Notice.NOTICE))
    answered = _answered(q, entry, lang, step, value)
    return FollowUpResult(
        taken[-1], actions=tuple(actions), controls=controls, again=True, answered=answered
    )


def recorded(entry: Decision, step: Step) -> bool:
    """Whether ``step`` is one ``entry`` holds already: the very step :func:`apply` gives
    back for a step taken again (``FollowUpResult.again`` says the same). By identity, not
    equality: two snoozes at the same instant are two steps."""
    return any(s is step for s in entry.steps)


def turn(result: FollowUpResult, lang: str) -> Turn:
    """The turn a next step makes: what it shows, to everyone in the conversation when it
    was taken (or shown again), to the clicker alone when it was not open. The clicked
    message keeps its buttons: the others may still be wanted (a referral's other half)."""
    if result.step is None:
        return Turn(
            Effect.STALE,
            lang,
            result.actions,
            Source.KEEP,
            private=True,
            open_steps=result.controls,
        )
    return Turn(
        Effect.ADVANCED,
        lang,
        result.actions,
        Source.KEEP,
        answered=result.answered,
        open_steps=result.controls,
    )


def _new_status(entry: Decision, offer: Offer) -> str | None:
    if offer.status is None or offer.status == entry.status:
        return None
    if offer.once:
        done = {*_recorded(entry), offer.name}
        stage = STAGES.get((entry.outcome, entry.status), ())
        if any(o.once and o.name not in done for o in stage):
            return None  # the other half is still to do
    return offer.status


def updated(entry: Decision, result: FollowUpResult) -> Decision:
    """``entry`` as it stands once ``result`` is recorded (what ``Store.follow_up`` does)."""
    if result.step is None or result.again:
        return entry
    return replace(
        entry,
        steps=(*entry.steps, result.step),
        status=entry.status if result.status is None else result.status,
        reminder=result.reminder if result.reschedule else entry.reminder,
    )


# --- reminders ----------------------------------------------------------------------


def answer_due(decided_at: datetime, tz: str | None, working_days: int) -> datetime:
    """When to ask "did they answer?": ``working_days`` (at least one) working days after
    ``decided_at`` where the user is, Saturday and Sunday skipped, at :data:`REMIND_AT`
    local time; in UTC."""
    zone = time_zone(tz)
    day = decided_at.astimezone(zone).date()
    left = max(working_days, 1)
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return _at(day, zone)


def reach_back_due(free_from: date, tz: str | None) -> datetime:
    """When to say "you're free again: write to them": ``free_from`` at :data:`REMIND_AT`
    local time; in UTC."""
    return _at(free_from, time_zone(tz))


def deliverable(due_at: datetime, now: datetime, tz: str | None) -> datetime | None:
    """None when a reminder due at ``due_at`` may be sent at ``now``; otherwise when it may:
    its due time when that is still ahead, or, at night where the user is (outside
    :data:`CIVIL_HOURS`, any day of the week), the next :data:`REMIND_AT`."""
    if due_at > now:
        return due_at
    zone = time_zone(tz)
    local = now.astimezone(zone)
    start, end = CIVIL_HOURS
    if start <= local.time() < end:
        return None
    return _at(local.date() if local.time() < start else local.date() + timedelta(days=1), zone)


def reminder_actions(
    q: Questionnaire, due: DueReminder, now: datetime, lang: str
) -> tuple[Action, ...]:
    """The reminder's message: "did NAME answer?" with the answers as next steps, or, when
    the user is free again, the draft to write to the client. A reminder sent late (the
    process was down) says when it was due."""
    lang = _lang(q, lang)
    entry = due.entry
    values = _values(q, entry, lang)
    values["date"] = _day(entry, lang, entry.decided_at, now, "MMMd")
    free_from = _detail_date(entry, "free_from")
    if free_from is not None:
        values["free_from"] = _short(entry, lang, free_from, now, "MMMMd")
    why = ""
    was_due = _first_due(entry, due.due_at)
    if now - was_due >= LATE:
        late = q.followup_text(lang, "reminders", "late")
        why = _render(q, lang, late, {"due": _day(entry, lang, was_due, now)})
    controls = next_controls(q, entry, lang, now)
    if due.kind == REACH_BACK:
        title = _render(q, lang, q.followup_text(lang, "reminders", "reach"), values)
        result = _draft_result(q, entry, "reach_back", lang, now, controls)
        return (replace(result, title=title, why=why),)
    return (
        Result(
            outcome=entry.outcome,
            title=_render(q, lang, q.followup_text(lang, "reminders", "answer"), values),
            draft=None,
            advice=_render(q, lang, q.followup_text(lang, "reminders", "answer_advice"), values),
            why=why,
            lang=lang,
            tone=_tone(q, entry),
            version=entry.ref,
            heading=_render(q, lang, q.followup_text(lang, "reminders", "answer_heading"), values),
            controls=controls,
        ),
    )


def _first_due(entry: Decision, due_at: datetime) -> datetime:
    """When a reminder due at ``due_at`` was first due: before the night it was kept for
    the morning (the :data:`DEFERRED` steps since the entry's last other step), if it was."""
    first = due_at
    for step in reversed(entry.steps):
        if step.name != DEFERRED:
            break
        first = min(first, step.at)
    return first


# --- the history --------------------------------------------------------------------


def status_line(
    q: Questionnaire,
    lang: str,
    entry: Decision,
    now: datetime,
    *,
    show: Callable[[str], str] = str,
) -> str:
    """Where the request stands ("waiting for their answer · reminder on Mon, Dec 7"), or
    "" when there is nothing to follow up. ``show`` makes a name safe for the platform."""
    phrase = _PHRASES.get((entry.outcome, entry.status))
    if phrase is None or (entry.status == "" and not offers(entry, now) and not entry.reminder):
        return ""  # nothing was ever to follow up (booked without a date)
    lang = _lang(q, lang)
    done = _recorded(entry)
    if entry.outcome == "refer" and entry.status == "":
        phrase = next((_HALF_DONE[s] for s in _HALF_DONE if s in done), phrase)
    if any(o.opens and o.draft for o in offers(entry, now)):
        phrase = "reach_open"  # the date has come: what is left is to write
    values = {k: show(v) for k, v in _values(q, entry, lang).items()}
    free_from = _detail_date(entry, "free_from")
    if free_from is not None:
        values["free_from"] = show(_short(entry, lang, free_from, now, "MMMMd"))
    if entry.reminder is not None:
        values["due"] = show(_day(entry, lang, entry.reminder.due_at, now))
    return _render(q, lang, q.followup_text(lang, "status", phrase), values)


def with_status(q: Questionnaire, lang: str, line: str, status: str) -> str:
    """A history line with where its request stands after it."""
    if not status:
        return line
    return q.followup_text(_lang(q, lang), "status", "line").format(line=line, status=status)


# --- drafts and values ----------------------------------------------------------------


def _draft_result(
    q: Questionnaire,
    entry: Decision,
    draft: str,
    lang: str,
    now: datetime,
    controls: tuple[Control, ...],
) -> Result:
    """A follow-up draft, written in the entry's language and tone; its title, heading and
    advice in ``lang``."""
    written = _lang(q, entry.lang)
    tone = _tone(q, entry)
    variant = entry.detail("variant")
    values = _values(q, entry, lang)
    text = q.followup_draft(written, draft, "templates", variant, tone)
    heading = q.followup_text(lang, "results", "heading").format(
        tone=q.tone_label(lang, tone), language=q.texts[written].name
    )
    return Result(
        outcome=entry.outcome,
        title=_render(q, lang, q.followup_draft(lang, draft, "title", variant), values),
        draft=_render(q, written, text, _values(q, entry, written)),
        advice=_render(q, lang, q.followup_draft(lang, draft, "advice", variant), values),
        why="",
        lang=lang,
        tone=tone,
        version=entry.ref,
        heading=heading,
        controls=controls,
    )


def _values(q: Questionnaire, entry: Decision, lang: str) -> dict[str, str]:
    """What follow-up texts may say about ``entry`` (see ``FOLLOWUP_FIELDS``), written for
    ``lang``: dates in the user's locale, amounts the way the language writes them, the
    client as a greeting names them (``client``) and as a sentence does (``name``)."""
    locale = _locale(entry, lang)
    values: dict[str, str] = {}
    for name, value in entry.details:
        question = q.questions.get(name)
        if name not in FOLLOWUP_FIELDS or not value or value == SKIP:
            continue
        if question is not None and question.input == "date":
            day = _iso(value)
            if day is not None:
                values[name] = format_date(day, locale)
        elif question is not None and question.money:
            values[name] = money.describe(strip_trailing(value), lang)
        else:
            values[name] = strip_trailing(value)  # the template brings its punctuation
    client = values.pop("client", None) or entry.client
    if client:
        greeting = names.greeting_name(client)
        if greeting:
            values["client"] = greeting
        values["name"] = greeting or strip_trailing(client)
    colleague = values.get("colleague")
    person = _person(colleague) if colleague else None
    if person:
        values["colleague_name"] = person
    values["date"] = format_date(_local(entry.decided_at, entry).date(), locale)
    return values


# Where the contact details after a colleague's name start: "(", "<", ",", " - ", an email.
_CONTACT = re.compile(r"[(<,;]|\s[-–—]\s|\S+@\S+")


def _person(colleague: str) -> str | None:
    """The colleague's name without the contact details typed with it ("Sam Lee
    (sam@example.com)" → "Sam Lee")."""
    head = strip_trailing(_CONTACT.split(colleague, maxsplit=1)[0].strip())
    if not head:
        return None
    return names.greeting_name(head) or head


# An abbreviated date ends a sentence with its own full stop ("le 2 déc.").
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def _render(q: Questionnaire, lang: str, text: str, values: dict[str, str]) -> str:
    rendered = _DOUBLE_STOP.sub(".", templates.render(text, values))
    return french_typography(rendered) if lang == "fr" else rendered


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_NAME else text[: LABEL_NAME - 1].rstrip() + "…"


# --- dates and time zones -----------------------------------------------------------


def time_zone(tz: str | None) -> ZoneInfo:
    """The user's time zone (an IANA name); UTC when it is missing or unknown."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, REMIND_AT, tzinfo=zone).astimezone(UTC)


def _next_morning(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    due = _at(local.date(), zone)
    return due if due > now else _at(local.date() + timedelta(days=1), zone)


def _local(when: datetime, entry: Decision) -> datetime:
    return when.astimezone(time_zone(entry.detail("tz")))


def _day(entry: Decision, lang: str, when: datetime, now: datetime, skeleton: str = "MMMEd") -> str:
    """The local day of ``when``, short: "Mon, Dec 7" ("lun. 7 déc.")."""
    return _short(entry, lang, _local(when, entry).date(), now, skeleton)


def _short(entry: Decision, lang: str, day: date, now: datetime, skeleton: str) -> str:
    """``day`` in the user's locale, after a Babel skeleton, with the year when it is not
    this year where the user is."""
    locale = _locale(entry, lang)
    this_year = _local(now, entry).year
    text = _skeleton(("y" if day.year != this_year else "") + skeleton, day, locale)
    if locale.startswith("fr") and day.day == 1:
        text = re.sub(r"(?<!\d)1(?!\d)", "1er", text, count=1)  # French: the 1st is "1er"
    return text


# Babel builds a date from the locale's skeletons (~50 µs); a history or App Home shows the
# same few days on every line.
@lru_cache(maxsize=4096)
def _skeleton(skeleton: str, day: date, locale: str) -> str:
    return format_skeleton(skeleton, day, locale=locale)


def _locale(entry: Decision, lang: str) -> str:
    """The user's region when it speaks ``lang`` ("en_GB"), else the language."""
    region = entry.detail("locale") or ""
    return region if region.split("_")[0] == lang else lang


def _iso(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _detail_date(entry: Decision, name: str) -> date | None:
    value = entry.detail(name)
    return _iso(value) if value else None


# --- small readers ------------------------------------------------------------------


def _recorded(entry: Decision) -> set[str]:
    return {s.name for s in entry.steps}


def _lang(q: Questionnaire, lang: str) -> str:
    return lang if lang in q.languages else q.languages[0]


def _tone(q: Questionnaire, entry: Decision) -> str:
    tone = entry.detail("tone")
    return tone if tone in q.tones else q.default_tone
