"""Follow-through (core.followup): the next steps each decided request offers, what taking
one does, the reminders' civil hours in the user's time zone, and what the history says."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import controls, followup
from core.actions import Action, ControlKind, Notice, Result, Row, Say
from core.controls import NextStep
from core.followup import (
    ANSWER,
    DEFAULT_WAIT,
    REACH_BACK,
    STAGES,
    STATUSES,
    TERMINAL,
    answer_due,
    apply,
    deliverable,
    fingerprint,
    next_controls,
    on_decided,
    reach_back_due,
    reminder_actions,
    status_line,
    updated,
)
from core.journal import decision_line
from core.ports import ConversationKey, Decision, DueReminder, Reminder, Step
from core.questionnaire import FOLLOWUP_DRAFTS, STEP_IDS, Questionnaire
from core.state import ConversationState
from core.turn import Effect, Source
from tests.conftest import TODAY
from tests.golden.walk import SAMPLES, play

# TODAY (a Friday) at 15:00 in Paris.
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 14, 0, tzinfo=UTC)
PARIS = "Europe/Paris"
REF = 218_736_000_000
KEY = ConversationKey("test", "w", "u")

YES = ("respond", "yes")
FEE = (YES, ("time", "yes"), ("terms", "no"), ("what_would_work", "fee"))
FEE_NO_TIME = (YES, ("time", "no"), ("not_yet", "yes"), ("what_would_work", "fee"))
MORE_TIME = (YES, ("time", "yes"), ("terms", "no"), ("what_would_work", "timeline"))
LATER_START = (YES, ("time", "no"), ("not_yet", "yes"), ("what_would_work", "timeline"))
REFER = (YES, ("time", "no"), ("not_yet", "no"), ("refer", "yes"))
BOOKED = (YES, ("time", "no"), ("not_yet", "no"), ("refer", "no"))
ACCEPT = (YES, ("time", "yes"), ("terms", "yes"))
DECLINE = (YES, ("time", "yes"), ("terms", "no"), ("what_would_work", "neither"), ("refer", "no"))
NO_REPLY = (("respond", "no"),)
FREE_FROM = date.fromisoformat(SAMPLES["en"]["free_from"])


def decided_state(
    q: Questionnaire, path: tuple[tuple[str, str], ...], lang: str = "en", *, fill: bool = True
) -> ConversationState:
    state = play(q, path, lang, "warm", fill=fill, request="Can you redo our website?").state
    assert state is not None
    return state


def entry_for(
    q: Questionnaire,
    path: tuple[tuple[str, str], ...],
    lang: str = "en",
    *,
    fill: bool = True,
    now: datetime = NOW,
    tz: str | None = PARIS,
    wait: int | None = None,
    tone: str = "warm",
) -> Decision:
    """The journal entry the session files for a conversation decided along ``path``."""
    state = decided_state(q, path, lang, fill=fill).evolve(tone=tone)
    decided = on_decided(q, state, ref=REF, now=now, tz=tz, wait=wait)
    return replace(decided.entry, platform="test")


def offered(q: Questionnaire, entry: Decision, now: datetime = NOW) -> list[str]:
    return [
        f"{c.question}:{c.value}" if c.value else c.question
        for c in next_controls(q, entry, "en", now)
    ]


def spaced(text: str) -> str:
    """``text`` with its no-break spaces as plain ones (French typography is checked in
    test_typography.py)."""
    return " ".join(text.split())


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(PARIS))


def texts(action: Action) -> tuple[str, ...]:
    if isinstance(action, Say):
        return (action.text,)
    assert isinstance(action, Result)
    return (action.title, action.draft or "", action.advice, action.heading, action.why)


# --- the steps table ----------------------------------------------------------------

ON_FREE_DAY = paris(FREE_FROM.year, FREE_FROM.month, FREE_FROM.day, 0, 30)
NEGOTIATION = ["agreed", "couldnt", "wait:3", "wait:5", "stop"]


@pytest.mark.parametrize(
    ("path", "status", "when", "steps"),
    [
        (FEE, "", NOW, NEGOTIATION),
        (FEE_NO_TIME, "", NOW, NEGOTIATION),
        (MORE_TIME, "", NOW, NEGOTIATION),
        (LATER_START, "", NOW, NEGOTIATION),
        (FEE, "closed", NOW, ["agreed", "couldnt"]),
        (REFER, "", NOW, ["intro", "headsup"]),
        (BOOKED, "", NOW, ["stop"]),
        (BOOKED, "", ON_FREE_DAY, ["reach"]),
        (BOOKED, "closed", NOW, []),
        (BOOKED, "closed", ON_FREE_DAY, ["reach"]),
        (ACCEPT, "", NOW, []),
        (DECLINE, "", NOW, []),
        (NO_REPLY, "", NOW, []),
        *[(path, status, NOW, []) for path in (FEE, REFER, BOOKED) for status in sorted(TERMINAL)],
    ],
)
def test_the_steps_offered_follow_outcome_status_and_date(
    questionnaire: Questionnaire,
    path: tuple[tuple[str, str], ...],
    status: str,
    when: datetime,
    steps: list[str],
) -> None:
    entry = replace(entry_for(questionnaire, path), status=status)
    assert offered(questionnaire, entry, when) == steps


def test_writing_back_opens_on_the_free_from_day_where_the_user_is(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, BOOKED)
    eve = paris(FREE_FROM.year, FREE_FROM.month, FREE_FROM.day - 1, 23, 59)
    assert offered(questionnaire, entry, eve) == ["stop"]
    assert offered(questionnaire, entry, eve + timedelta(minutes=1)) == ["reach"]
    # In UTC it is still the 14th: the user's day decides.
    assert (eve + timedelta(minutes=1)).astimezone(UTC).day == FREE_FROM.day - 1


def test_the_table_speaks_of_known_outcomes_statuses_and_drafts(
    questionnaire: Questionnaire,
) -> None:
    for (outcome, status), stage in STAGES.items():
        assert outcome in questionnaire.outcomes
        assert status in STATUSES and status not in TERMINAL  # a settled request offers nothing
        for offer in stage:
            assert offer.status is None or offer.status in STATUSES
            assert offer.draft is None or offer.draft in FOLLOWUP_DRAFTS
            for value in offer.values:
                # The control codec carries the step id and its value as they are.
                ref = controls.ControlRef(ControlKind.NEXT, "U1", REF, offer.step, value)
                assert controls.decode(controls.encode(ref, "U1")) == ref
    assert {d for stage in STAGES.values() for o in stage if (d := o.draft)} == set(FOLLOWUP_DRAFTS)


@pytest.mark.parametrize("path", [FEE, REFER, BOOKED])
def test_a_next_step_button_reads_back_as_that_step_on_that_entry(
    questionnaire: Questionnaire, path: tuple[tuple[str, str], ...]
) -> None:
    entry = entry_for(questionnaire, path)
    shown = next_controls(questionnaire, entry, "fr", ON_FREE_DAY)
    assert shown
    for control in shown:
        assert control.kind is ControlKind.NEXT and control.row is Row.NEXT_STEPS
        assert control.version == entry.ref and control.label
        read = controls.read(controls.encode(control, "U42"), "U42", TODAY)
        assert read == NextStep(entry.ref, control.question, control.value)


# --- at decision time ---------------------------------------------------------------


def test_the_entry_keeps_what_a_draft_needs_and_only_a_fingerprint_of_the_request(
    questionnaire: Questionnaire,
) -> None:
    state = decided_state(questionnaire, FEE_NO_TIME)
    decided = on_decided(questionnaire, state, ref=REF, now=NOW, tz=PARIS)
    details = dict(decided.entry.details)
    assert list(decided.entry.details) == sorted(decided.entry.details)
    assert details["client"] == SAMPLES["en"]["client"]
    assert details["free_from"] == SAMPLES["en"]["free_from"]
    assert details["fee_proposal"] == state.answers["fee_proposal"]
    assert details["signature"] == state.context["signature"]
    assert (details["tone"], details["tz"], details["wait"]) == ("warm", PARIS, str(DEFAULT_WAIT))
    assert details["variant"] == "no_time"
    request = state.context["request"]
    assert details["request"] == fingerprint(request)
    assert all(request not in value for value in details.values())
    assert decided.entry.status == ""


def test_answers_left_behind_on_another_path_stay_out(questionnaire: Questionnaire) -> None:
    state = decided_state(questionnaire, FEE)
    state = state.evolve(answers={**state.answers, "colleague": "Someone Else"})
    details = dict(on_decided(questionnaire, state, ref=REF, now=NOW, tz=PARIS).entry.details)
    assert "colleague" not in details


def test_a_negotiation_asks_for_the_answer_after_the_wait(questionnaire: Questionnaire) -> None:
    decided = on_decided(
        questionnaire, decided_state(questionnaire, FEE), ref=REF, now=NOW, tz=PARIS, wait=5
    )
    assert decided.entry.reminder == Reminder(ANSWER, answer_due(NOW, PARIS, 5))
    assert decided.notice is not None
    assert decided.notice.text == "I'll ask you on Fri, Dec 4 whether Anna answered."
    assert [c.question for c in decided.controls] == ["agreed", "couldnt", "wait", "wait", "stop"]


@pytest.mark.parametrize(("wait", "days"), [(None, DEFAULT_WAIT), (0, 1), (-4, 1), (99, 20)])
def test_the_wait_is_kept_within_bounds(
    questionnaire: Questionnaire, wait: int | None, days: int
) -> None:
    state = decided_state(questionnaire, FEE)
    decided = on_decided(questionnaire, state, ref=REF, now=NOW, tz=PARIS, wait=wait)
    assert dict(decided.entry.details)["wait"] == str(days)
    assert decided.entry.reminder is not None
    assert decided.entry.reminder.due_at == answer_due(NOW, PARIS, days)


def test_booked_reminds_on_the_free_from_date(questionnaire: Questionnaire) -> None:
    decided = on_decided(
        questionnaire, decided_state(questionnaire, BOOKED, "fr"), ref=REF, now=NOW, tz=PARIS
    )
    assert decided.entry.reminder == Reminder(REACH_BACK, reach_back_due(FREE_FROM, PARIS))
    assert decided.notice is not None
    assert spaced(decided.notice.text) == (
        "Le lun. 15 mars 2027, je vous rappellerai de reprendre contact avec Madame Dupont."
    )


def test_a_free_from_date_already_reached_where_the_user_is_reminds_next_morning(
    questionnaire: Questionnaire,
) -> None:
    # 11:30 on the 28th in Kiritimati (UTC+14) while it is still the 27th in UTC.
    now = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)
    state = decided_state(questionnaire, BOOKED)
    state = state.evolve(answers={**state.answers, "free_from": "2026-11-28"})
    decided = on_decided(questionnaire, state, ref=REF, now=now, tz="Pacific/Kiritimati")
    assert decided.entry.reminder is not None and decided.entry.reminder.due_at > now
    local = decided.entry.reminder.due_at.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert (local.date(), local.hour, local.minute) == (date(2026, 11, 29), 9, 30)


@pytest.mark.parametrize("path", [ACCEPT, DECLINE, NO_REPLY])
def test_outcomes_without_follow_through_schedule_nothing(
    questionnaire: Questionnaire, path: tuple[tuple[str, str], ...]
) -> None:
    decided = on_decided(
        questionnaire, decided_state(questionnaire, path), ref=REF, now=NOW, tz=PARIS
    )
    assert (decided.entry.reminder, decided.notice, decided.controls) == (None, None, ())


def test_booked_without_a_date_has_nothing_to_follow(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, BOOKED, fill=False)
    assert entry.reminder is None
    assert offered(questionnaire, entry, ON_FREE_DAY + timedelta(days=400)) == []
    assert status_line(questionnaire, "en", entry, NOW) == ""


def test_on_decided_needs_a_decided_conversation(questionnaire: Questionnaire) -> None:
    open_state = ConversationState(lang="en", tone="warm", step="respond")
    with pytest.raises(ValueError):
        on_decided(questionnaire, open_state, ref=REF, now=NOW)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Can you redo our web-site?", "can you REDO our  web site"),
        ("Créer un logo, vite !", "creer un logo vite"),
        ("Hello,\nworld", "hello world"),
    ],
)
def test_the_fingerprint_ignores_case_accents_spacing_and_punctuation(a: str, b: str) -> None:
    assert fingerprint(a) == fingerprint(b)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(a))


def test_different_requests_have_different_fingerprints() -> None:
    assert fingerprint("Redo our website") != fingerprint("Redo our logo")
    assert fingerprint("  ?! ") == ""


# --- taking a step ------------------------------------------------------------------


def test_they_agreed_confirms_the_terms_and_cancels_the_reminders(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, FEE_NO_TIME)
    later = NOW + timedelta(days=3)
    result = apply(questionnaire, entry, "agreed", "", later)
    assert result.step == Step("agreed", later)
    assert (result.status, result.reschedule, result.reminder) == ("agreed", True, None)
    (draft,) = result.actions
    assert isinstance(draft, Result) and draft.draft is not None
    # The agreed terms are restated: the fee as the reply wrote it, and the start date.
    assert "€4,800, without the blog" in draft.draft and "March 15, 2027" in draft.draft
    assert draft.draft.startswith("Hi Anna,") and draft.draft.endswith("Camille Martin")
    assert (draft.lang, draft.tone, draft.version, draft.controls) == ("en", "warm", REF, ())
    assert result.controls == ()


@pytest.mark.parametrize(
    ("path", "restated"), [(MORE_TIME, "April 30, 2027"), (LATER_START, "March 15, 2027")]
)
def test_an_agreed_timeline_restates_the_new_date(
    questionnaire: Questionnaire, path: tuple[tuple[str, str], ...], restated: str
) -> None:
    (draft,) = apply(questionnaire, entry_for(questionnaire, path), "agreed", "", NOW).actions
    assert isinstance(draft, Result) and restated in (draft.draft or "")


@pytest.mark.parametrize("tone", ["warm", "formal", "brief"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_they_couldnt_thanks_them_and_hopes_for_another_time(
    questionnaire: Questionnaire, lang: str, tone: str
) -> None:
    entry = entry_for(questionnaire, FEE, lang, tone=tone)
    result = apply(questionnaire, entry, "couldnt", "", NOW)
    assert (result.status, result.reschedule, result.reminder) == ("couldnt", True, None)
    (draft,) = result.actions
    assert isinstance(draft, Result) and draft.tone == tone and draft.lang == lang
    future = {"en": "work together|collaborate", "fr": "travailler ensemble|collaborer"}[lang]
    assert re.search(future, draft.draft or "")
    name = {"en": "Anna", "fr": "Madame Dupont"}[lang]
    assert name in (draft.draft or "") and (draft.draft or "").endswith("Camille Martin")


def test_no_answer_yet_moves_the_reminder_by_working_days(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE)
    friday = paris(2026, 12, 4, 10, 0)
    result = apply(questionnaire, entry, "wait", "5", friday)
    assert result.step == Step("snoozed", friday) and result.status is None
    assert result.reschedule
    assert result.reminder == Reminder(ANSWER, paris(2026, 12, 11, 9, 30).astimezone(UTC))
    (notice,) = result.actions
    assert (
        isinstance(notice, Say) and notice.text == "Noted. I'll check in with you on Fri, Dec 11."
    )
    assert [c.question for c in result.controls] == ["agreed", "couldnt", "wait", "wait", "stop"]
    assert updated(entry, result).reminder == result.reminder


def test_stop_cancels_the_reminders_but_the_answer_can_still_be_given(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, FEE)
    result = apply(questionnaire, entry, "stop", "", NOW)
    assert (result.status, result.reschedule, result.reminder) == ("closed", True, None)
    assert result.step == Step("stopped", NOW)
    after = updated(entry, result)
    assert offered(questionnaire, after) == ["agreed", "couldnt"]
    assert apply(questionnaire, after, "agreed", "", NOW).status == "agreed"


def test_a_referral_is_done_once_the_client_and_the_colleague_have_their_message(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, REFER)
    first = apply(questionnaire, entry, "headsup", "", NOW)
    assert first.status is None and not first.reschedule
    (headsup,) = first.actions
    assert isinstance(headsup, Result)
    assert (headsup.draft or "").startswith("Hi Sam Lee,")
    assert "Anna" in (headsup.draft or "")
    half = updated(entry, first)
    assert [c.question for c in first.controls] == ["intro"]
    again = apply(questionnaire, half, "headsup", "", NOW + timedelta(seconds=3))
    assert again.step == first.step and followup.recorded(half, again.step)  # shown again
    assert again.actions == first.actions and updated(half, again) == half
    second = apply(questionnaire, half, "intro", "", NOW)
    assert second.status == "introduced" and second.controls == ()
    (intro,) = second.actions
    assert isinstance(intro, Result)
    assert "Sam Lee (sam@example.com)" in (intro.draft or "")
    assert (intro.draft or "").startswith("Hi Anna,")


def test_writing_back_is_there_once_the_date_has_come(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, BOOKED)
    assert apply(questionnaire, entry, "reach", "", NOW).step is None
    result = apply(questionnaire, entry, "reach", "", ON_FREE_DAY)
    assert (result.status, result.reschedule, result.reminder) == ("reached", True, None)
    (draft,) = result.actions
    assert isinstance(draft, Result) and "March 15, 2027" in (draft.draft or "")


@pytest.mark.parametrize(
    ("path", "status", "step", "value"),
    [
        (FEE, "", "nonsense", ""),
        (FEE, "", "wait", "4"),  # only the offered delays
        (FEE, "", "wait", ""),
        (FEE, "", "agreed", "1"),
        (FEE, "", "intro", ""),  # another outcome's step
        (FEE, "agreed", "couldnt", ""),  # settled
        (FEE, "couldnt", "agreed", ""),
        (FEE, "closed", "stop", ""),
        (DECLINE, "", "agreed", ""),
        (REFER, "introduced", "intro", ""),
        (BOOKED, "reached", "reach", ""),
    ],
)
def test_a_step_that_is_not_open_records_nothing_and_says_so(
    questionnaire: Questionnaire,
    path: tuple[tuple[str, str], ...],
    status: str,
    step: str,
    value: str,
) -> None:
    entry = replace(entry_for(questionnaire, path), status=status)
    result = apply(questionnaire, entry, step, value, NOW)
    assert (result.step, result.status, result.reschedule, result.reminder) == (
        None,
        None,
        False,
        None,
    )
    (notice,) = result.actions
    assert isinstance(notice, Say) and notice.kind is Notice.STALE
    assert notice.text == questionnaire.followup_text("en", "notices", "not_open")
    assert updated(entry, result) == entry
    assert result.controls == next_controls(questionnaire, entry, "en", NOW)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("path", [FEE, FEE_NO_TIME, MORE_TIME, LATER_START, REFER, BOOKED])
def test_drafts_read_well_when_every_optional_answer_was_skipped(
    questionnaire: Questionnaire, lang: str, path: tuple[tuple[str, str], ...]
) -> None:
    entry = entry_for(questionnaire, path, lang, fill=False)
    if path == BOOKED:  # without a date nothing is followed; the draft still reads well
        entry = replace(entry, details=(*entry.details, ("free_from", "2027-03-15")))
    taken = 0
    for control in next_controls(questionnaire, entry, lang, ON_FREE_DAY):
        for action in apply(
            questionnaire, entry, control.question, control.value, ON_FREE_DAY
        ).actions:
            for text in texts(action):
                assert not re.search(r"[{}\[\]]|  |\n\n\n| [,.]", text), text
            taken += 1
        assert control.label and "{" not in control.label
    assert taken


def test_no_names_falls_back_to_neutral_words(questionnaire: Questionnaire) -> None:
    refer = entry_for(questionnaire, REFER, fill=False)
    # No colleague named: nobody was told about yet, so the heads-up waits for the
    # introduction ("I've passed your name on" would not be true before it).
    assert [c.label for c in next_controls(questionnaire, refer, "en", NOW)] == [
        "Write the introduction",
    ]
    result = apply(questionnaire, refer, "intro", "", NOW)
    assert [c.label for c in result.controls] == ["Heads-up for your colleague"]
    booked = entry_for(questionnaire, BOOKED, fill=False)
    booked = replace(booked, details=(*booked.details, ("free_from", "2027-03-15")))
    assert [c.label for c in next_controls(questionnaire, booked, "en", ON_FREE_DAY)] == [
        "Write to them"
    ]
    (draft,) = apply(questionnaire, booked, "reach", "", ON_FREE_DAY).actions
    assert isinstance(draft, Result) and (draft.draft or "").startswith("Hi,")


def test_a_long_name_is_cut_in_a_button(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, BOOKED)
    long = "Bartholomew Featherstonehaugh-Cholmondeley the Third"
    entry = replace(
        entry, details=tuple((k, long if k == "client" else v) for k, v in entry.details)
    )
    (label,) = [c.label for c in next_controls(questionnaire, entry, "en", ON_FREE_DAY)]
    assert label.endswith("…") and len(label) <= len("Write to ") + followup.LABEL_NAME


# --- scheduling ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decided", "days", "due"),
    [
        # Friday → Monday, and → Wednesday: the weekend is skipped.
        (paris(2026, 11, 27, 15, 0), 1, paris(2026, 11, 30, 9, 30)),
        (paris(2026, 11, 27, 15, 0), 3, paris(2026, 12, 2, 9, 30)),
        (paris(2026, 11, 27, 15, 0), 5, paris(2026, 12, 4, 9, 30)),
        # Decided on a Saturday or Sunday: the count starts on Monday.
        (paris(2026, 11, 28, 11, 0), 1, paris(2026, 11, 30, 9, 30)),
        (paris(2026, 11, 29, 23, 0), 3, paris(2026, 12, 2, 9, 30)),
        # Monday 06:00 local is still Monday: the next working day is Tuesday.
        (paris(2026, 11, 30, 6, 0), 1, paris(2026, 12, 1, 9, 30)),
        # The clocks go forward (29 March 2026) and back (25 October 2026) in between.
        (paris(2026, 3, 27, 17, 0), 1, paris(2026, 3, 30, 9, 30)),
        (paris(2026, 10, 23, 17, 0), 1, paris(2026, 10, 26, 9, 30)),
        (paris(2026, 10, 22, 17, 0), 5, paris(2026, 10, 29, 9, 30)),
    ],
)
def test_the_answer_is_asked_on_a_working_day_at_half_past_nine_local(
    decided: datetime, days: int, due: datetime
) -> None:
    found = answer_due(decided.astimezone(UTC), PARIS, days)
    assert found == due.astimezone(UTC) and found.tzinfo is UTC
    local = found.astimezone(ZoneInfo(PARIS))
    assert local.weekday() < 5 and (local.hour, local.minute) == (9, 30)


def test_the_utc_offset_follows_daylight_saving_time() -> None:
    before = answer_due(paris(2026, 3, 27, 17, 0).astimezone(UTC), PARIS, 1)
    after = answer_due(paris(2026, 10, 23, 17, 0).astimezone(UTC), PARIS, 1)
    assert (before.hour, before.minute) == (7, 30)  # CEST, UTC+2
    assert (after.hour, after.minute) == (8, 30)  # CET, UTC+1
    # New York changes its clocks on other dates (8 March 2026).
    ny = answer_due(datetime(2026, 3, 6, 22, 0, tzinfo=UTC), "America/New_York", 1)
    assert ny == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def test_the_day_is_the_user_s_not_utc_s() -> None:
    # 23:30 UTC on a Friday is already Saturday in Paris, still Friday in Los Angeles.
    friday_night = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert answer_due(friday_night, PARIS, 1) == paris(2026, 11, 30, 9, 30).astimezone(UTC)
    la = answer_due(friday_night, "America/Los_Angeles", 1)
    assert la == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)


def test_reach_back_is_on_the_free_from_day_at_half_past_nine_local() -> None:
    assert reach_back_due(FREE_FROM, PARIS) == datetime(2027, 3, 15, 8, 30, tzinfo=UTC)
    assert reach_back_due(FREE_FROM, "Asia/Kathmandu") == datetime(2027, 3, 15, 3, 45, tzinfo=UTC)
    # In New York the clocks went forward the day before.
    assert reach_back_due(date(2027, 3, 15), "America/New_York") == datetime(
        2027, 3, 15, 13, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("tz", [None, "", "Nowhere/Atlantis", "../../etc/passwd", "UTC", "Etc/UTC"])
def test_a_missing_or_unknown_time_zone_is_utc(tz: str | None) -> None:
    assert answer_due(NOW, tz, 3) == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert reach_back_due(FREE_FROM, tz) == datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
    assert deliverable(NOW, datetime(2026, 11, 28, 3, 0, tzinfo=UTC), tz) == datetime(
        2026, 11, 28, 9, 30, tzinfo=UTC
    )


def test_an_unknown_time_zone_is_recorded_as_utc(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE, tz="Mars/Olympus_Mons")
    assert entry.detail("tz") == "UTC"


@pytest.mark.parametrize(
    ("local_now", "sent_at"),
    [
        (paris(2026, 12, 2, 9, 30), None),
        (paris(2026, 12, 2, 8, 0), None),
        (paris(2026, 12, 2, 19, 59), None),
        (paris(2026, 12, 5, 12, 0), None),  # a Saturday afternoon is a civil hour too
        (paris(2026, 12, 2, 20, 0), paris(2026, 12, 3, 9, 30)),
        (paris(2026, 12, 2, 23, 45), paris(2026, 12, 3, 9, 30)),
        (paris(2026, 12, 3, 3, 0), paris(2026, 12, 3, 9, 30)),
        (paris(2026, 12, 3, 7, 59), paris(2026, 12, 3, 9, 30)),
        # The night the clocks go back: still the next morning at 09:30 local.
        (paris(2026, 10, 25, 2, 30), paris(2026, 10, 25, 9, 30)),
    ],
)
def test_a_reminder_that_comes_due_at_night_waits_for_the_morning(
    local_now: datetime, sent_at: datetime | None
) -> None:
    due = paris(2026, 10, 20, 9, 30).astimezone(UTC)
    found = deliverable(due, local_now.astimezone(UTC), PARIS)
    assert found == (None if sent_at is None else sent_at.astimezone(UTC))
    if found is not None:
        assert found > local_now


def test_a_reminder_not_yet_due_waits_for_its_time() -> None:
    due = paris(2026, 12, 2, 9, 30).astimezone(UTC)
    assert deliverable(due, due - timedelta(minutes=1), PARIS) == due
    assert deliverable(due, due, PARIS) is None


# --- the reminder's message ---------------------------------------------------------


def reminder_for(entry: Decision) -> DueReminder:
    assert entry.reminder is not None
    return DueReminder(7, KEY, entry.reminder.kind, entry.reminder.due_at, entry)


def test_the_answer_reminder_asks_with_the_answers_as_buttons(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, FEE)
    due = reminder_for(entry)
    (message,) = reminder_actions(questionnaire, due, due.due_at + timedelta(minutes=2), "en")
    assert isinstance(message, Result) and message.draft is None
    assert message.title == "Did Anna answer your proposal of Nov 27?"
    assert message.why == ""  # on time
    assert [c.label for c in message.controls] == [
        "They agreed",
        "They couldn't",
        "No answer yet — ask me again in 3 days",
        "No answer yet — ask me again in 5 days",
        "Stop reminding me",
    ]


def test_a_late_reminder_shows_the_date_it_was_due(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE, "fr")
    due = reminder_for(entry)
    (message,) = reminder_actions(questionnaire, due, due.due_at + timedelta(days=2), "fr")
    assert isinstance(message, Result)
    assert spaced(message.why) == "Ce rappel était prévu le mer. 2 déc. ; désolé pour le retard."
    assert spaced(message.title).startswith("Votre proposition du 27 nov. à Madame Dupont")


def test_the_reach_back_reminder_brings_the_draft(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, BOOKED)
    due = reminder_for(entry)
    (message,) = reminder_actions(questionnaire, due, due.due_at, "en")
    assert isinstance(message, Result)
    assert message.title == "You're free from March 15: time to write to Anna."
    assert (message.draft or "").startswith("Hi Anna,")
    assert [c.question for c in message.controls] == ["reach"]


# --- the history --------------------------------------------------------------------


def test_the_history_says_where_each_request_stands(questionnaire: Questionnaire) -> None:
    q = questionnaire
    fee = entry_for(q, FEE)
    assert status_line(q, "en", fee, NOW) == "waiting for their answer · reminder on Wed, Dec 2"
    assert status_line(q, "en", replace(fee, reminder=None), NOW) == "waiting for their answer"
    for status, phrase in [
        ("agreed", "they agreed"),
        ("couldnt", "they couldn't"),
        ("closed", "no longer following up"),
    ]:
        assert status_line(q, "en", replace(fee, status=status, reminder=None), NOW) == phrase
    refer = entry_for(q, REFER)
    assert status_line(q, "en", refer, NOW) == "introduction and heads-up still to write"
    half = replace(refer, steps=(Step("intro", NOW),))
    assert status_line(q, "en", half, NOW) == (
        "introduction written · heads-up for Sam Lee still to write"
    )
    booked = entry_for(q, BOOKED)
    assert status_line(q, "en", booked, NOW) == "free from March 15, 2027 · reminder that day"
    assert status_line(q, "en", booked, ON_FREE_DAY) == "free since March 15: time to write to Anna"
    assert status_line(q, "en", replace(booked, status="reached"), ON_FREE_DAY) == "back in touch"
    assert status_line(q, "en", entry_for(q, ACCEPT), NOW) == ""


def test_the_history_line_carries_the_status(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE)
    plain = decision_line(questionnaire, "en", entry)
    assert decision_line(questionnaire, "en", entry, now=NOW) == (
        f"{plain} · waiting for their answer · reminder on Wed, Dec 2"
    )
    accept = entry_for(questionnaire, ACCEPT)
    assert decision_line(questionnaire, "en", accept, now=NOW) == decision_line(
        questionnaire, "en", accept
    )


def test_names_in_the_history_are_made_safe_by_the_platform(questionnaire: Questionnaire) -> None:
    entry = replace(entry_for(questionnaire, REFER), steps=(Step("intro", NOW),))
    line = status_line(questionnaire, "en", entry, NOW, show=lambda name: f"<{name}>")
    assert "<Sam Lee>" in line


def test_dates_follow_the_user_s_region(questionnaire: Questionnaire) -> None:
    state = decided_state(questionnaire, FEE_NO_TIME)
    state = state.evolve(context={**state.context, "locale": "en_GB"})
    decided = on_decided(questionnaire, state, ref=REF, now=NOW, tz=PARIS)
    assert decided.notice is not None
    assert decided.notice.text == "I'll ask you on Wed 2 Dec whether Anna answered."
    entry = replace(entry_for(questionnaire, FEE_NO_TIME), details=decided.entry.details)
    (draft,) = apply(questionnaire, entry, "agreed", "", NOW).actions
    assert isinstance(draft, Result) and "15 March 2027" in (draft.draft or "")


# --- what the session needs around a step -----------------------------------------------


def test_a_step_taken_twice_shows_its_draft_again_and_records_nothing(
    questionnaire: Questionnaire,
) -> None:
    entry = entry_for(questionnaire, FEE)
    first = apply(questionnaire, entry, "agreed", "", NOW)
    after = updated(entry, first)
    assert first.step is not None and not followup.recorded(entry, first.step)
    again = apply(questionnaire, after, "agreed", "", NOW + timedelta(minutes=1))
    assert again.step == first.step and followup.recorded(after, again.step) and again.again
    assert (again.status, again.reschedule, again.reminder) == (None, False, None)
    assert again.actions == first.actions
    assert updated(after, again) == after
    # The other answer is not open once they agreed, and was never taken: refused.
    assert apply(questionnaire, after, "couldnt", "", NOW).step is None


def test_a_snooze_is_never_replayed(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE)
    snoozed = updated(entry, apply(questionnaire, entry, "wait", "3", NOW))
    # Two snoozes at the same instant are two steps: the second moves the reminder again.
    second = apply(questionnaire, snoozed, "wait", "5", NOW)
    assert second.step == snoozed.steps[-1] and not followup.recorded(snoozed, second.step)
    assert updated(snoozed, second).reminder == Reminder(ANSWER, answer_due(NOW, PARIS, 5))
    closed = updated(snoozed, apply(questionnaire, snoozed, "stop", "", NOW))
    assert apply(questionnaire, closed, "wait", "3", NOW).step is None


def test_the_turn_of_a_step(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, REFER)
    taken = followup.turn(apply(questionnaire, entry, "intro", "", NOW), "en")
    assert (taken.effect, taken.source, taken.private) == (Effect.ADVANCED, Source.KEEP, False)
    refused = followup.turn(apply(questionnaire, entry, "agreed", "", NOW), "en")
    assert (refused.effect, refused.private) == (Effect.STALE, True)
    assert isinstance(refused.actions[0], Say)


def test_the_entry_of_a_decided_conversation_offers_the_same_steps(
    questionnaire: Questionnaire,
) -> None:
    for path in (FEE, REFER, BOOKED):
        state = decided_state(questionnaire, path, "fr")
        state = state.evolve(context={**state.context, "tz": PARIS})
        decided = on_decided(questionnaire, state, ref=REF, now=NOW)
        again = followup.entry_of(state, REF, NOW + timedelta(hours=1))
        assert next_controls(questionnaire, again, "fr", NOW) == decided.controls
        assert again.ref == REF and again.client == decided.entry.client
        assert again.detail("request") is None  # never needed to offer a step


def test_the_time_zone_and_the_wait_come_from_the_start_unless_given(
    questionnaire: Questionnaire,
) -> None:
    state = decided_state(questionnaire, FEE)
    state = state.evolve(context={**state.context, "tz": "America/New_York", "wait": "5"})
    decided = on_decided(questionnaire, state, ref=REF, now=NOW)
    assert dict(decided.entry.details)["tz"] == "America/New_York"
    assert decided.entry.reminder is not None
    assert decided.entry.reminder.due_at == answer_due(NOW, "America/New_York", 5)
    given = on_decided(questionnaire, state, ref=REF, now=NOW, tz=PARIS, wait=1)
    assert dict(given.entry.details)["tz"] == PARIS and dict(given.entry.details)["wait"] == "1"
    assert decided.entry.client == "anna"


def test_next_steps_can_be_typed_on_the_terminal(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE)
    words = [c.word for c in next_controls(questionnaire, entry, "en", NOW)]
    assert words == ["agreed", "couldnt", "wait 3", "wait 5", "stop"]
    # In French, French words; each read back as its step in any language, or by its id.
    words = [c.word for c in next_controls(questionnaire, entry, "fr", NOW)]
    assert words == ["accord", "refus", "attendre 3", "attendre 5", "arrêt"]
    for typed, step in [
        ("attendre", "wait"),
        ("Arrêt", "stop"),
        ("WAIT", "wait"),
        ("couldnt", "couldnt"),
        ("relancer", "reach"),
    ]:
        assert followup.step_for_word(questionnaire, typed) == step
    assert followup.step_for_word(questionnaire, "maybe") is None


def test_step_words_are_one_word_each_and_distinct(questionnaire: Questionnaire) -> None:
    for lang in questionnaire.languages:
        words = [questionnaire.followup_text(lang, "words", step) for step in STEP_IDS]
        assert all(w and " " not in w for w in words), (lang, words)
        assert len(set(words)) == len(words), (lang, words)


def test_a_step_taken_leaves_the_note_of_what_was_answered(questionnaire: Questionnaire) -> None:
    entry = entry_for(questionnaire, FEE)
    (couldnt,) = [
        c for c in next_controls(questionnaire, entry, "en", NOW) if c.question == "couldnt"
    ]
    note = questionnaire.ui("en", "answered", answer=couldnt.label)
    first = apply(questionnaire, entry, "couldnt", "", NOW)
    assert first.answered == note
    again = apply(questionnaire, updated(entry, first), "couldnt", "", NOW)  # a double click
    assert again.again and again.answered == note
    assert apply(questionnaire, entry, "intro", "", NOW).answered is None  # not open: none


def test_a_typed_step_that_cannot_be_taken_says_why(questionnaire: Questionnaire) -> None:
    from core.followup import Refused, StepRefusal, refusal

    fee = entry_for(questionnaire, FEE)
    assert refusal(fee, "intro", "", NOW) == StepRefusal(Refused.NOT_HERE)
    assert refusal(fee, "wait", "", NOW) == StepRefusal(Refused.VALUES, ("3", "5"))
    assert refusal(fee, "wait", "7", NOW) == StepRefusal(Refused.VALUES, ("3", "5"))
    assert refusal(fee, "agreed", "please", NOW) == StepRefusal(Refused.NO_VALUE)
    assert refusal(fee, "wait", "5", NOW) is None
    alone = entry_for(questionnaire, REFER, fill=False)  # nobody named
    assert refusal(alone, "headsup", "", NOW) == StepRefusal(Refused.NOT_OPEN)
    done = updated(alone, apply(questionnaire, alone, "intro", "", NOW))
    assert refusal(done, "intro", "", NOW) is None  # taken: its draft is shown again
