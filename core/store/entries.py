"""A journal entry as the SQL stores keep it: ``details`` as one JSON object, ``steps`` as
a JSON list of ``[name, ISO time in UTC]``, and the :class:`~core.ports.Decision` made
again from a row (with its pending reminder, when the query found one)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from core.ports import ConversationKey, Decision, DueReminder, Reminder, Step

_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def details_json(details: Sequence[tuple[str, str]]) -> str:
    return json.dumps(dict(details), sort_keys=True, **_COMPACT)  # type: ignore[arg-type]


def step_json(step: Step) -> list[str]:
    return [step.name, step.at.astimezone(UTC).isoformat()]


def steps_json(steps: Sequence[Step]) -> str:
    return json.dumps([step_json(s) for s in steps], **_COMPACT)  # type: ignore[arg-type]


def read_details(text: str) -> tuple[tuple[str, str], ...]:
    if text == "{}":  # most entries: no JSON to parse
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in json.loads(text).items()))


def read_steps(text: str) -> tuple[Step, ...]:
    if text == "[]":
        return ()
    return tuple(
        Step(str(name), datetime.fromisoformat(at).astimezone(UTC)) for name, at in json.loads(text)
    )


# How a store reads a time column: SQLite's text, PostgreSQL's datetime as it comes.
ReadTime = Callable[[Any], datetime]


def from_row(row: Sequence[Any], read_time: ReadTime) -> Decision:
    """The entry from a row of the stores' ``_WITH_PENDING`` query (its leading id left
    out): the entry's columns, then its pending reminder's kind and due time (or NULLs)."""
    _, outcome, at, lang, platform, client, ref, details, status, steps, kind, due = row
    pending = reminder(kind, None if due is None else read_time(due))
    return entry(
        outcome, read_time(at), lang, platform, client, ref, details, status, steps, pending
    )


def due_reminders(
    platform: str, rows: Sequence[Sequence[Any]], read_time: ReadTime
) -> list[DueReminder]:
    """Claimed reminders from the claim's rows: id, kind, due time, the user's workspace and
    id, then the entry's columns."""
    claimed = []
    for reminder_id, kind, due, workspace, user, *columns in rows:
        found = from_row((reminder_id, *columns, kind, due), read_time)
        key = ConversationKey(platform, workspace, user)
        claimed.append(DueReminder(reminder_id, key, kind, read_time(due), found))
    return claimed


def entry(
    outcome: str,
    decided_at: datetime,
    lang: str,
    platform: str,
    client: str | None,
    ref: int,
    details: str,
    status: str,
    steps: str,
    reminder: Reminder | None,
) -> Decision:
    """The entry from its columns (times already read as aware UTC datetimes)."""
    return Decision(
        outcome=outcome,
        decided_at=decided_at,
        lang=lang,
        platform=platform,
        client=client,
        ref=int(ref),
        details=read_details(details),
        status=status,
        steps=read_steps(steps),
        reminder=reminder,
    )


def reminder(kind: str | None, due_at: datetime | None) -> Reminder | None:
    """The pending reminder from a LEFT JOIN's columns (both NULL: none)."""
    return None if kind is None or due_at is None else Reminder(kind, due_at)
