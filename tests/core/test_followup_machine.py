"""Property test of the follow-through: requests decided along every path of the flow, in
time zones with and without daylight saving time (and unknown ones), then time passing,
reminders coming due (sent, or kept for the morning when it is night where the user is),
and follow-ups answered, by the buttons on offer or by any step id at all.

Invariants: a reminder is never due before the decision; a settled request stays settled;
a request whose reminders were cancelled has none; every button reads back through the
control codec as the step it shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core import controls
from core.actions import Notice, Result, Say
from core.controls import NextStep
from core.followup import (
    ANSWER,
    REACH_BACK,
    REMINDED,
    STAGES,
    STATUSES,
    TERMINAL,
    apply,
    deliverable,
    next_controls,
    on_decided,
    recorded,
    reminder_actions,
    status_line,
    time_zone,
    updated,
)
from core.ports import ConversationKey, Decision, DueReminder, Reminder, Step
from core.questionnaire import load_questionnaire
from core.state import ConversationState
from tests.conftest import TODAY
from tests.golden.walk import choice_paths, play

Q = load_questionnaire()
KEY = ConversationKey("test", "w", "u")
# Every way a conversation ends, answered and skipped, in both languages.
DECIDED: list[ConversationState] = [
    state
    for path in choice_paths(Q)
    for lang in Q.languages
    for fill in (True, False)
    if (state := play(Q, path, lang, "brief", fill=fill, request="Our new site?").state)
]
# Those with something to follow up, by outcome: drawn more often, each outcome as often.
FOLLOWED: dict[str, list[ConversationState]] = {}
for _state in DECIDED:
    if (_state.outcome, "") in STAGES and _state.answers.get("free_from") != "skip":
        FOLLOWED.setdefault(str(_state.outcome), []).append(_state)
ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour daylight saving shift
    "Pacific/Kiritimati",  # UTC+14: already tomorrow
    "Pacific/Pago_Pago",  # UTC-11: still yesterday
    "Asia/Kathmandu",
    "UTC",
    "Nowhere/Atlantis",
    None,
]
STEPS = sorted({o.step for stage in STAGES.values() for o in stage} | {"nonsense", ""})
VALUES = ["", "3", "5", "4", "-1"]
# Decisions fall within two years of this, across several daylight saving changes.
BASE = datetime(2026, 1, 1, tzinfo=UTC)
SETTLED = TERMINAL | {"closed"}  # what has no reminder any more


class FollowUpMachine(RuleBasedStateMachine):
    entry: Decision
    now: datetime
    settled: str | None

    @initialize(
        state=st.one_of(
            st.sampled_from(sorted(FOLLOWED)).flatmap(lambda o: st.sampled_from(FOLLOWED[o])),
            st.sampled_from(DECIDED),
        ),
        tz=st.sampled_from(ZONES),
        wait=st.one_of(st.none(), st.integers(min_value=-2, max_value=30)),
        minutes=st.integers(min_value=0, max_value=2 * 365 * 24 * 60),
        ref=st.integers(min_value=1, max_value=10**12 - 1),
    )
    def decide(
        self, state: ConversationState, tz: str | None, wait: int | None, minutes: int, ref: int
    ) -> None:
        # The flow checked free-from dates against TODAY; the decision moves them along
        # with it, so a date is always ahead when the request is decided.
        self.now = BASE + timedelta(minutes=minutes)
        shift = (self.now.date() - TODAY).days
        answers = {
            k: (v if k != "free_from" or v == "skip" else _later(v, shift))
            for k, v in state.answers.items()
        }
        state = state.evolve(answers=answers)
        decided = on_decided(Q, state, ref=ref, now=self.now, tz=tz, wait=wait)
        assert state.outcome is not None
        self.entry = replace(decided.entry, platform=KEY.platform)
        self.settled = None
        assert decided.controls == next_controls(Q, self.entry, state.lang, self.now)
        assert (decided.notice is None) == (self.entry.reminder is None)

    @rule(minutes=st.integers(min_value=1, max_value=20 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.entry.reminder is not None)
    @rule(minutes=st.integers(min_value=0, max_value=24 * 60))
    def time_passes_until_the_reminder(self, minutes: int) -> None:
        """Weeks go by: the reminder's time comes, or its night (09:30 plus up to a day)."""
        assert self.entry.reminder is not None
        self.now = max(self.now, self.entry.reminder.due_at + timedelta(minutes=minutes))

    @precondition(
        lambda self: self.entry.reminder is not None and self.entry.reminder.due_at <= self.now
    )
    @rule()
    def reminder_comes_due(self) -> None:
        reminder = self.entry.reminder
        assert reminder is not None
        tz = self.entry.detail("tz")
        zone = time_zone(tz)
        later = deliverable(reminder.due_at, self.now, tz)
        if later is not None:
            # Night where the user is: kept for the morning, never sent now.
            local_now = self.now.astimezone(zone)
            assert not 8 <= local_now.hour < 20
            # 20:00 to 09:30, and an hour more the night the clocks go back.
            assert later > self.now and later - self.now <= timedelta(hours=15)
            local = later.astimezone(zone)
            assert (local.hour, local.minute) == (9, 30)
            self.entry = replace(self.entry, reminder=Reminder(reminder.kind, later))
            event("a reminder kept for the morning")
            return
        assert 8 <= self.now.astimezone(zone).hour < 20
        due = DueReminder(1, KEY, reminder.kind, reminder.due_at, self.entry)
        (message,) = reminder_actions(Q, due, self.now, self.entry.lang)
        assert isinstance(message, Result)
        assert message.controls == next_controls(Q, self.entry, self.entry.lang, self.now)
        assert (message.draft is not None) == (reminder.kind == REACH_BACK)
        # Sent: the sender marks it, and records that it reminded.
        steps = (*self.entry.steps, Step(REMINDED, self.now))
        self.entry = replace(self.entry, reminder=None, steps=steps)
        event(f"a reminder sent: {reminder.kind}")

    @precondition(lambda self: bool(next_controls(Q, self.entry, self.entry.lang, self.now)))
    @rule(data=st.data())
    def follow_up_answered(self, data: st.DataObject) -> None:
        shown = next_controls(Q, self.entry, self.entry.lang, self.now)
        control = data.draw(st.sampled_from(shown))
        self.take(control.question, control.value)

    @rule(step=st.sampled_from(STEPS), value=st.sampled_from(VALUES))
    def any_step_clicked(self, step: str, value: str) -> None:
        self.take(step, value)

    def take(self, step: str, value: str) -> None:
        before = self.entry
        shown = next_controls(Q, before, before.lang, self.now)
        on_offer = any((c.question, c.value) == (step, value) for c in shown)
        result = apply(Q, before, step, value, self.now)
        if not on_offer and result.step is not None:
            # Taken before (a double click): shown again, nothing to record.
            assert result.again and recorded(before, result.step)
            assert updated(before, result) == before
            assert result.controls == shown
            event("a step shown again")
            return
        assert (result.step is not None) == on_offer
        assert result.step is None or not recorded(before, result.step)
        if result.step is None:
            (notice,) = result.actions
            assert isinstance(notice, Say) and notice.kind is Notice.STALE
            assert result.controls == shown
        else:
            assert result.step.at == self.now and result.actions
            event(f"step taken: {self.entry.outcome} {step}")
        self.entry = updated(before, result)
        assert result.controls == next_controls(Q, self.entry, self.entry.lang, self.now)
        if result.reschedule:
            assert self.entry.reminder == result.reminder

    @invariant()
    def a_reminder_is_never_due_before_the_decision(self) -> None:
        reminder = self.entry.reminder
        assert reminder is None or reminder.due_at > self.entry.decided_at
        if reminder is not None:
            expected = REACH_BACK if self.entry.outcome == "booked" else ANSWER
            assert reminder.kind == expected

    @invariant()
    def a_settled_request_stays_settled(self) -> None:
        assert self.entry.status in STATUSES
        if self.settled is not None:
            assert self.entry.status == self.settled
        if self.entry.status in TERMINAL:
            self.settled = self.entry.status
            assert next_controls(Q, self.entry, self.entry.lang, self.now) == ()

    @invariant()
    def a_cancelled_request_has_no_reminder(self) -> None:
        if self.entry.status in SETTLED:
            assert self.entry.reminder is None

    @invariant()
    def buttons_read_back_and_the_history_reads(self) -> None:
        for control in next_controls(Q, self.entry, self.entry.lang, self.now):
            ref = controls.read(controls.encode(control, "U1"), "U1", TODAY)
            assert ref == NextStep(self.entry.ref, control.question, control.value)
            assert control.label and "{" not in control.label
        line = status_line(Q, self.entry.lang, self.entry, self.now)
        assert "{" not in line and "[[" not in line


def _later(iso: str, days: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


FollowUpMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFollowUp = FollowUpMachine.TestCase
