"""Cleaning what people type, comparing it the forgiving way people expect, and the few
typographic rules a draft must follow."""

from __future__ import annotations

import re
import unicodedata

# Control and format characters are dropped: they are invisible, can reorder text (bidi
# overrides) and break renderers downstream. A few format characters carry meaning and
# stay: joiners (emoji sequences, Persian and Indic words) and emoji tag sequences (flags).
_KEEP_FORMAT = {"\u200c", "\u200d"}
_DROPPED = ("Cc", "Cf", "Cs", "Co")
# Non-breaking spaces are typography the person chose ("4 800 €", "Bonjour !"): kept.
NBSP = "\u00a0"
NNBSP = "\u202f"
_KEPT_SPACES = {NBSP, NNBSP, "\u2007"}


def _kept(ch: str) -> str:
    if ch in _KEPT_SPACES:
        return ch
    if ch.isspace():
        return " "  # every other kind of line or space break reads as a space in one answer
    if unicodedata.category(ch) not in _DROPPED or ch in _KEEP_FORMAT:
        return ch
    return ch if 0xE0020 <= ord(ch) <= 0xE007F else ""


# A terminal's escape sequence, whole (colours, cursor moves, titles): dropping only its
# ESC would leave "[2J" in a name.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def clean(text: str) -> str:
    """NFC-normalise, drop control/format characters, collapse ordinary whitespace to single
    spaces (keeping non-breaking ones) and trim."""
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return text  # nothing to clean: a button's value, most typed answers
    text = unicodedata.normalize("NFC", _ANSI.sub("", text) if "\x1b" in text else text)
    text = re.sub(" {2,}", " ", "".join(_kept(ch) for ch in text))
    # A non-breaking space next to an ordinary one is the one that was meant.
    text = re.sub(f" ?([{NBSP}{NNBSP}]) ?", r"\1", text)
    return text.strip()


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


_TRAILING = ".,;:!?… " + NBSP + NNBSP
# Abbreviations whose full stop is part of the word ("Acme Inc." stays whole).
_ABBREVIATIONS = {"inc", "ltd", "co", "corp", "jr", "sr", "bros", "etc", "cie", "st"}


def strip_trailing(text: str) -> str:
    """``text`` without the punctuation it ends with (the template brings its own), except
    the full stop of an abbreviation."""
    stripped = text.rstrip(_TRAILING)
    if not stripped:
        return text
    last = stripped.rsplit(" ", 1)[-1]
    if text[len(stripped) :].startswith(".") and fold(last) in _ABBREVIATIONS:
        return stripped + "."
    return stripped


def french_typography(text: str) -> str:
    """French spacing around ``; ! ? :`` and inside « », applied to a finished French text.

    A punctuation mark counts when it follows a word and ends one (followed by a space, a
    closing mark or the end): a URL's colon or query mark is left alone."""
    space = f"[ {NBSP}{NNBSP}]*"
    # ``]`` and ``{`` are template syntax ("]] : je", "parmi : {options}").
    end = r"(?=[\s»)”’\"*_{\[]|$)"
    text = re.sub(rf"(?<=[\w»)”’.…\]}}]){space}([;!?]+){end}", NNBSP + r"\1", text)
    text = re.sub(rf"(?<=[\w»)”’\]}}]){space}:{end}", NBSP + ":", text)
    text = re.sub(f"«{space}", "«" + NBSP, text)
    return re.sub(f"{space}»", NBSP + "»", text)
