"""The grammar of every ``custom_id`` the bot puts on a component, built and read here only.

``sit:<kind>:<owner>:<version>:<question>:<value>``, for example ``sit:a:42:3:time:yes``
("answer *yes* to *time*, in user 42's conversation at version 3"). Everything a click needs
travels in the id, nothing in memory, so a button keeps working after the bot restarts;
the owner lets a click by anyone else be refused. Discord allows 100 characters: a
snowflake takes at most 20, question and choice ids from ``prompts/`` are short words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "sit"
MAX_LENGTH = 100


class Kind(StrEnum):
    ANSWER = "a"  # value: a choice id (or "skip")
    BACK = "b"
    RESTART = "r"
    CANCEL = "c"
    HELP = "h"
    TYPE = "m"  # opens the answer modal; value: the conversation's language
    TONE = "t"  # value: a tone id
    LANGUAGE = "l"  # value: a language code
    FORGET = "x"  # confirms deleting the user's decisions
    SUBMIT = "f"  # the answer modal itself, not a button


_PART = re.compile(r"[A-Za-z0-9_-]*")


def _pattern(kinds: str) -> re.Pattern[str]:
    return re.compile(
        rf"{PREFIX}:(?P<kind>[{kinds}]):(?P<owner>[0-9]{{1,20}}):(?P<version>[0-9]{{1,12}})"
        rf":(?P<question>{_PART.pattern}):(?P<value>{_PART.pattern})"
    )


# What the persistent button handler is registered for (every kind but the modal's).
BUTTON_TEMPLATE = _pattern("".join(k.value for k in Kind if k is not Kind.SUBMIT))
_ANY = _pattern("".join(k.value for k in Kind))


@dataclass(frozen=True, slots=True)
class ComponentId:
    kind: Kind
    owner: int
    version: int
    question: str = ""
    value: str = ""

    def encode(self) -> str:
        for part in (self.question, self.value):
            if not _PART.fullmatch(part):
                raise ValueError(f"{part!r} cannot go into a custom_id (letters, digits, - and _)")
        text = (
            f"{PREFIX}:{self.kind.value}:{self.owner}:{self.version}:{self.question}:{self.value}"
        )
        if len(text) > MAX_LENGTH:
            raise ValueError(f"custom_id longer than {MAX_LENGTH} characters: {text!r}")
        return text

    @classmethod
    def parse(cls, text: str) -> ComponentId | None:
        """The id in ``text``, or None when it is not one of ours."""
        match = _ANY.fullmatch(text)
        if match is None:
            return None
        return cls(
            kind=Kind(match["kind"]),
            owner=int(match["owner"]),
            version=int(match["version"]),
            question=match["question"],
            value=match["value"],
        )
