"""Write the golden follow-ups: for every path of flow.yaml whose outcome is followed
through, × language × tone, everything the bot says after the decision: the notice, the
next steps, each step's draft or notice, the reminder when it comes, the history's line.

Run ``python -m tests.golden.regenerate_followups`` from the repository root after changing
``followups:`` in ``prompts/`` or ``core/followup.py``, then review the diff.
``tests/golden/test_followups_golden.py`` fails while a file is out of date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.actions import Action, Result, Say
from core.followup import (
    FollowUpResult,
    apply,
    next_controls,
    on_decided,
    reminder_actions,
    updated,
)
from core.journal import decision_line
from core.ports import ConversationKey, Decision, DueReminder
from core.questionnaire import Questionnaire, load_questionnaire
from tests.golden.files import write
from tests.golden.walk import TODAY, choice_paths, play

HERE = Path(__file__).resolve().parent
FOLLOWUPS = HERE / "followups"
# The golden conversations are decided on TODAY, a Friday, at 15:00 in Paris.
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 14, 0, tzinfo=UTC)
TZ = "Europe/Paris"
REF = 218_736_000_000
REQUEST = "Hello! Could you redesign our website before the spring launch?"
KEY = ConversationKey("golden", "workspace", "user")
LATE = timedelta(days=2)  # the reminder is shown as a process that was down sends it

Shown = list[tuple[str, str]]


def entry_after(
    q: Questionnaire, path: tuple[tuple[str, str], ...], lang: str, tone: str, *, fill: bool
) -> Decision:
    """The journal entry of the conversation decided along ``path``, as the session files it."""
    state = play(q, path, lang, tone, fill=fill, request=REQUEST).state
    assert state is not None and state.outcome is not None
    return replace(on_decided(q, state, ref=REF, now=NOW, tz=TZ).entry, platform=KEY.platform)


def story(
    q: Questionnaire, path: tuple[tuple[str, str], ...], lang: str, tone: str, *, fill: bool
) -> Shown:
    """What the user is shown after deciding along ``path``, as (what, text) pairs: at the
    decision, then when the reminder comes (late), every step on offer taken in turn."""
    state = play(q, path, lang, tone, fill=fill, request=REQUEST).state
    assert state is not None
    decided = on_decided(q, state, ref=REF, now=NOW, tz=TZ)
    entry = entry_after(q, path, lang, tone, fill=fill)
    shown: Shown = []
    if decided.notice is not None:
        shown.append(("notice", decided.notice.text))
    shown.append(("history", decision_line(q, lang, entry, now=NOW)))
    moments = [("at the decision", NOW, False)]
    if entry.reminder is not None:
        moments.append(("when the reminder comes, late", entry.reminder.due_at + LATE, True))
    for moment, now, reminded in moments:
        if reminded:
            assert entry.reminder is not None
            reminder = entry.reminder
            due = DueReminder(1, KEY, reminder.kind, reminder.due_at, entry)
            for action in reminder_actions(q, due, now, lang):
                shown += _shown(f"{moment}: the reminder", action)
        offered = next_controls(q, entry, lang, now)
        for control in offered:
            result = apply(q, entry, control.question, control.value, now)
            what = f"{moment}: {control.label}"
            shown += _taken(q, lang, entry, result, what, now)
            # A step this one opened (a heads-up that waits for the introduction).
            after = updated(entry, result)
            for later in result.controls:
                if any((c.question, c.value) == (later.question, later.value) for c in offered):
                    continue
                then = apply(q, after, later.question, later.value, now)
                shown += _taken(q, lang, after, then, f"{what}, then: {later.label}", now)
    return shown


def _taken(
    q: Questionnaire, lang: str, entry: Decision, result: FollowUpResult, what: str, now: datetime
) -> Shown:
    """What a step taken on ``entry`` shows, and the history's line after it."""
    shown: Shown = []
    for action in result.actions:
        shown += _shown(what, action)
    shown.append((f"{what}: history", decision_line(q, lang, updated(entry, result), now=now)))
    return shown


def _shown(what: str, action: Action) -> Shown:
    if isinstance(action, Say):
        return [(f"{what}: notice", action.text)]
    assert isinstance(action, Result)
    parts = [
        (f"{what}: title", action.title),
        (f"{what}: why", action.why),
        (f"{what}: heading", action.heading),
        (f"{what}: draft", action.draft or ""),
        (f"{what}: advice", action.advice),
        (f"{what}: buttons", " | ".join(c.label for c in action.controls)),
    ]
    return [(k, v) for k, v in parts if v]


def followed_paths(q: Questionnaire) -> list[tuple[tuple[str, str], ...]]:
    """The paths whose decision has a next step or a reminder."""
    found = []
    for path in choice_paths(q):
        entry = entry_after(q, path, "en", "warm", fill=True)
        if entry.reminder is not None or next_controls(q, entry, "en", NOW):
            found.append(path)
    return found


def render(q: Questionnaire, path: tuple[tuple[str, str], ...], lang: str, tone: str) -> str:
    outcome = entry_after(q, path, lang, tone, fill=True).outcome
    lines = [
        "# " + " → ".join(f"{qid}={c}" for qid, c in path),
        f"# outcome: {outcome} · lang: {lang} · tone: {tone} · decided: {NOW:%Y-%m-%d %H:%M} UTC"
        f" · tz: {TZ}",
    ]
    for title, fill in (
        ("With every answer given", True),
        ("With the optional answers skipped", False),
    ):
        lines += ["", f"## {title}"]
        for what, text in story(q, path, lang, tone, fill=fill):
            lines += ["", f"### {what}", text]
    return "\n".join(lines) + "\n"


def expected(q: Questionnaire) -> dict[str, str]:
    """File name → content, for every followed path × language × tone."""
    files: dict[str, str] = {}
    for path in followed_paths(q):
        slug = "_".join(f"{qid}-{c}" for qid, c in path)
        for lang in q.languages:
            for tone in q.tones:
                outcome = entry_after(q, path, lang, tone, fill=True).outcome
                files[f"{outcome}__{slug}.{lang}.{tone}.txt"] = render(q, path, lang, tone)
    return files


def main() -> int:
    return write(FOLLOWUPS, expected(load_questionnaire()))


if __name__ == "__main__":
    raise SystemExit(main())
