"""Cleaning what people type, and comparing it the forgiving way people expect."""

from __future__ import annotations

import unicodedata

# Control and format characters (except ordinary whitespace) are dropped: they are
# invisible, can reorder text (bidi overrides) and break renderers downstream.
_KEEP_WHITESPACE = {"\n", "\t"}


def clean(text: str) -> str:
    """NFC-normalise, drop control/format characters, collapse whitespace to single spaces."""
    text = unicodedata.normalize("NFC", text)
    kept = (
        " " if ch in _KEEP_WHITESPACE else ch
        for ch in text
        if ch in _KEEP_WHITESPACE or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    return " ".join("".join(kept).split())


def fold(text: str) -> str:
    """A key for loose comparison: case-, accent- and punctuation-insensitive."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() or ch in "?-" else " " for ch in stripped)
    return " ".join(words.split())
