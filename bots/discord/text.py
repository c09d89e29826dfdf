"""Discord's length limits, and making what people typed inert when the bot shows it back.

Lengths are counted in UTF-16 code units, as Discord's API counts them (an emoji can take
two), so a message that fits here fits there.
"""

from __future__ import annotations

import discord

CONTENT = 2000
BUTTON_LABEL = 80
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
MODAL_TITLE = 45
INPUT_LABEL = 45
PLACEHOLDER = 100
BUTTONS_PER_ROW = 5
ACTION_ROWS = 5
ELLIPSIS = "…"


def length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (ending with an ellipsis when cut)."""
    if length(text) <= limit:
        return text
    budget = limit - length(ELLIPSIS)
    kept: list[str] = []
    for ch in text:
        budget -= length(ch)
        if budget < 0:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + ELLIPSIS


def inert(text: str) -> str:
    """User text shown in a message: no formatting, nothing that looks like a mention.

    ``AllowedMentions.none()`` already stops every ping; escaping also keeps a typed
    ``@everyone`` or ``<@&role>`` from being drawn as one.
    """
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def one_line(text: str) -> str:
    return " ".join(text.split())


def code_block(text: str) -> str:
    """A block that copies as ``text``. A typed fence would close the block early, so its
    backticks are kept apart by zero-width spaces (the only change made to the text)."""
    return "```\n" + text.replace("```", "`\u200b`\u200b`") + "\n```"
