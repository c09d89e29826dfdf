"""Cleaning what people type, and comparing it the forgiving way people expect."""

from __future__ import annotations

import unicodedata

# Control and format characters are dropped: they are invisible, can reorder text (bidi
# overrides) and break renderers downstream. A few format characters carry meaning and
# stay: joiners (emoji sequences, Persian and Indic words) and emoji tag sequences (flags).
_KEEP_FORMAT = {"\u200c", "\u200d"}
_DROPPED = ("Cc", "Cf", "Cs", "Co")


def _kept(ch: str) -> str:
    if ch.isspace():
        return " "  # every kind of line or space break reads as a space in one answer
    if unicodedata.category(ch) not in _DROPPED or ch in _KEEP_FORMAT:
        return ch
    return ch if 0xE0020 <= ord(ch) <= 0xE007F else ""


def clean(text: str) -> str:
    """NFC-normalise, drop control/format characters, collapse whitespace to single spaces."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(_kept(ch) for ch in text).split())


def clean_lines(text: str) -> str:
    """:func:`clean`, keeping the line breaks: for text quoted back as it was written (a
    client's message). Bidi overrides and isolates, zero-width spaces and other invisible
    characters go; blank lines are kept single, none at the start or end."""
    lines = [clean(line) for line in unicodedata.normalize("NFC", text).splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def fold(text: str) -> str:
    """A key for loose comparison: case-, accent- and punctuation-insensitive."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() or ch in "?-" else " " for ch in stripped)
    return " ".join(words.split())
