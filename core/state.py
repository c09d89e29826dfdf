"""The conversation state: a small value that round-trips through JSON exactly.

It holds where the user is (``step``), the path that led there (``history``, used by
*back*), the answers, context given when the conversation started, language, tone, and a
``version`` counter that the store uses for optimistic locking. ``schema`` changes when the
shape does; :func:`ConversationState.from_json` refuses what it cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

SCHEMA_VERSION = 1

Status = Literal["active", "done", "cancelled"]
_STATUSES = ("active", "done", "cancelled")


class StateError(ValueError):
    """A stored state could not be read (corrupt, unknown schema, wrong shape)."""


@dataclass(frozen=True, slots=True)
class ConversationState:
    lang: str
    tone: str
    step: str
    status: Status = "active"
    version: int = 0
    history: tuple[str, ...] = ()
    answers: dict[str, str] = field(default_factory=dict)
    context: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None
    pending: str | None = None
    # Context from a start that is waiting on the "continue or start over?" answer.
    incoming: dict[str, str] = field(default_factory=dict)
    # This conversation already reached a result once (then the user went back): its
    # journal entry is replaced, not added to, when it reaches one again.
    decided: bool = False
    schema: int = SCHEMA_VERSION

    def bump(self, **changes: Any) -> ConversationState:
        """A changed copy with the version counter moved on by one."""
        return self.evolve(version=self.version + 1, **changes)

    def evolve(self, **changes: Any) -> ConversationState:
        """A changed copy: ``dataclasses.replace`` without its per-call introspection (a
        step makes one or two, and replace cost more than the rest of the step)."""
        unknown = changes.keys() - _FIELD_SET
        if unknown:
            raise TypeError(f"unknown state fields: {sorted(unknown)}")
        copy = object.__new__(ConversationState)
        for name in _FIELDS:
            value = changes[name] if name in changes else getattr(self, name)
            object.__setattr__(copy, name, value)
        return copy

    @property
    def path_answers(self) -> dict[str, str]:
        """The answers on the path taken (not those left behind by back)."""
        return path_answers(self.history, self.answers)

    @property
    def values(self) -> dict[str, str]:
        """Everything a reply template may use: context first, answers override it."""
        return {**self.context, **self.answers}

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema": self.schema,
                "version": self.version,
                "status": self.status,
                "step": self.step,
                "history": list(self.history),
                "answers": self.answers,
                "context": self.context,
                "outcome": self.outcome,
                "pending": self.pending,
                "incoming": self.incoming,
                "decided": self.decided,
                "lang": self.lang,
                "tone": self.tone,
            },
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ConversationState:
        try:
            raw = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise StateError(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise StateError("not a JSON object")
        if raw.get("schema") != SCHEMA_VERSION:
            raise StateError(f"unknown schema version {raw.get('schema')!r}")
        try:
            state = cls(
                schema=SCHEMA_VERSION,
                version=_int(raw["version"]),
                status=_status(raw["status"]),
                step=_str(raw["step"]),
                history=tuple(_str(s) for s in _list(raw["history"])),
                answers=_str_dict(raw["answers"]),
                context=_str_dict(raw["context"]),
                outcome=_opt_str(raw["outcome"]),
                pending=_opt_str(raw["pending"]),
                incoming=_str_dict(raw.get("incoming", {})),
                decided=_bool(raw.get("decided", False)),
                lang=_str(raw["lang"]),
                tone=_str(raw["tone"]),
            )
        except KeyError as exc:
            raise StateError(f"missing field {exc}") from exc
        return state


def path_answers(history: tuple[str, ...], answers: Mapping[str, str]) -> dict[str, str]:
    """``answers`` to the questions of ``history``, in its order."""
    return {qid: answers[qid] for qid in history if qid in answers}


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise StateError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StateError(f"expected a non-negative integer, got {value!r}")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise StateError(f"expected a list, got {value!r}")
    return value


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise StateError(f"expected an object, got {value!r}")
    return {_str(k): _str(v) for k, v in value.items()}


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise StateError(f"expected true or false, got {value!r}")
    return value


def _status(value: object) -> Status:
    if value == "active":
        return "active"
    if value == "done":
        return "done"
    if value == "cancelled":
        return "cancelled"
    raise StateError(f"unknown status {value!r}, expected one of {_STATUSES}")


_FIELDS = tuple(f.name for f in fields(ConversationState))
_FIELD_SET = frozenset(_FIELDS)
