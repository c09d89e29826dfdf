"""Text crossing the Slack boundary: escaping what we show, un-formatting what we read,
and fitting Slack's size limits.

Slack parses ``mrkdwn`` strings: a ``<...>`` there is a link or a mention (``<!channel>``
notifies everyone). Every string of ours that Slack parses goes through :func:`escape`,
so nothing a person typed can become markup. ``plain_text`` and rich-text ``text``
elements are not parsed and take text as it is.

Incoming message text arrives the other way round: entities escaped, mentions and links
as ``<...>`` tokens. :func:`to_plain` turns it into what the person sees and typed.
"""

from __future__ import annotations

import re

# Slack's documented limits (characters, or items).
SECTION_TEXT = 3000
CONTEXT_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
PLACEHOLDER_TEXT = 150
MESSAGE_TEXT = 3000  # top-level fallback: Slack truncates at 40,000; notifications want far less
MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100
ACTIONS_ELEMENTS = 25  # elements in one actions block

_TOKEN = re.compile(r"<([^<>]*)>")
_BROADCASTS = {"here", "channel", "everyone"}


def escape(text: str) -> str:
    """Text for a mrkdwn field, shown exactly as given (``&``, ``<``, ``>`` as entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_plain(text: str) -> str:
    """A message's text as its author sees it: ``<!here>`` → ``@here``, ``<@U1|sam>`` →
    ``@sam``, ``<mailto:a@b.c|a@b.c>`` → ``a@b.c``, ``&lt;`` → ``<``."""

    def token(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            name = target[1:].split("^")[0]
            return f"@{name}" if name in _BROADCASTS else (label or name)
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        return label or target

    unlinked = _TOKEN.sub(token, text)
    return unlinked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """``text`` cut to ``limit`` characters (labels, placeholders: no note fits there)."""
    return text if len(text) <= limit else text[: limit - len(ellipsis)].rstrip() + ellipsis


def fit(raw: str, limit: int, note: str, *, mrkdwn: bool = True) -> str:
    """``raw`` in at most ``limit`` characters, escaped for mrkdwn unless ``mrkdwn`` is
    False; when it must be cut it ends with ``… note`` (the ``trimmed`` wording), and no
    entity is cut in half."""
    esc = escape if mrkdwn else _same
    escaped = esc(raw)
    if len(escaped) <= limit:
        return escaped
    tail = "… " + esc(note)
    return esc(_prefix(raw, limit - len(tail), mrkdwn).rstrip()) + tail


def split(raw: str, limit: int, *, most: int, note: str, mrkdwn: bool = True) -> list[str]:
    """``raw`` (escaped for mrkdwn unless ``mrkdwn`` is False) cut into at most ``most``
    pieces of at most ``limit`` characters, breaking at paragraphs, lines or spaces where
    possible; what is left over is dropped behind the ``note``."""
    esc = escape if mrkdwn else _same
    pieces: list[str] = []
    rest = raw.strip()
    while rest:
        if len(pieces) == most - 1:
            pieces.append(fit(rest, limit, note, mrkdwn=mrkdwn))
            break
        head = _prefix(rest, limit, mrkdwn)
        if len(head) < len(rest):
            for sep in ("\n\n", "\n", " "):
                cut = head.rfind(sep)
                if cut > len(head) // 2:
                    head = head[:cut]
                    break
        pieces.append(esc(head.strip()))
        rest = rest[len(head) :].strip()
    return pieces


def _prefix(raw: str, limit: int, mrkdwn: bool) -> str:
    """The longest prefix of ``raw`` whose (escaped) form has at most ``limit`` characters."""
    size = 0
    for i, ch in enumerate(raw):
        size += (5 if ch == "&" else 4 if ch in "<>" else 1) if mrkdwn else 1
        if size > limit:
            return raw[:i]
    return raw


def _same(text: str) -> str:
    return text
