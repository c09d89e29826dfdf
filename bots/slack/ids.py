"""What a button or date picker means, packed into Slack's ``action_id`` and ``block_id``.

Slack hands both strings back on every click, so they carry all the adapter needs: the
kind of click, the question it belongs to, the conversation version it was rendered at
and the chosen value (``action_id``); the conversation's owner and language (``block_id``,
so a click by anyone else can be refused in the right language). Parts are
percent-escaped, so an id containing ``:`` cannot shift the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

PREFIX = "sit"
MAX_ID = 255  # Slack's limit for action_id and block_id


class Kind(StrEnum):
    ANSWER = "answer"  # a choice button (or Skip): value is the choice id
    DATE = "date"  # the date picker: the value comes from selected_date
    BACK = "back"
    RESTART = "restart"
    CANCEL = "cancel"
    HELP = "help"
    TONE = "tone"  # value is the tone id
    LANG = "lang"  # value is the language code
    START = "start"  # App Home: start a conversation in the DM
    FORGET = "forget"  # confirm deleting the decision journal
    KEEP = "keep"  # decline deleting it


@dataclass(frozen=True, slots=True)
class ActionRef:
    kind: Kind
    question: str = ""
    version: int = 0
    value: str = ""

    def encode(self) -> str:
        parts = (PREFIX, self.kind.value, self.question, str(self.version), self.value)
        return _join(parts)

    @classmethod
    def decode(cls, action_id: str) -> ActionRef | None:
        """The reference in ``action_id``; None for anything this adapter did not make."""
        parts = _split(action_id)
        if len(parts) != 5 or parts[0] != PREFIX:
            return None
        try:
            return cls(Kind(parts[1]), parts[2], int(parts[3]), parts[4])
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BlockRef:
    """Whose conversation a block belongs to; ``index`` keeps block ids unique."""

    owner: str
    lang: str
    index: int = 0

    def encode(self) -> str:
        return _join((PREFIX, self.owner, self.lang, str(self.index)))

    @classmethod
    def decode(cls, block_id: str | None) -> BlockRef | None:
        parts = _split(block_id or "")
        if len(parts) != 4 or parts[0] != PREFIX:
            return None
        try:
            return cls(parts[1], parts[2], int(parts[3]))
        except ValueError:
            return None


def _join(parts: tuple[str, ...]) -> str:
    encoded = ":".join(quote(p, safe="") for p in parts)
    if len(encoded) > MAX_ID:
        raise ValueError(f"id longer than Slack's {MAX_ID} characters: {encoded[:40]}...")
    return encoded


def _split(encoded: str) -> list[str]:
    return [unquote(p) for p in encoded.split(":")]
