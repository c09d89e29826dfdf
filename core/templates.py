"""Reply templates: ``str.format`` placeholders plus optional sections.

``[[with {x}||without]]`` renders the first part when every placeholder in it has a value,
otherwise the part after ``||`` (which may be empty, and ``||`` may be left out). Sections
do not nest. ``[[if x: text||without]]`` depends on ``{x}`` without printing it
("after that date" when a date was given earlier in the draft). This keeps a draft
natural when the user skipped an optional answer, without a template language heavier
than the problem.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

_SECTION = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    pass


_CONDITION = re.compile(r"^if ([A-Za-z_]\w*): ?")


@dataclass(frozen=True, slots=True)
class _Section:
    primary: str
    fallback: str
    requires: frozenset[str] = frozenset()

    def needs(self) -> set[str]:
        return fields(self.primary) | set(self.requires)


def _pieces(template: str) -> list[str | _Section]:
    pieces: list[str | _Section] = []
    pos = 0
    for match in _SECTION.finditer(template):
        pieces.append(template[pos : match.start()])
        body = match.group(1)
        if "[[" in body:
            raise TemplateError("sections cannot nest")
        primary, _, fallback = body.partition("||")
        condition = _CONDITION.match(primary)
        if condition:
            requires = frozenset({condition.group(1)})
            pieces.append(_Section(primary[condition.end() :], fallback, requires))
        else:
            pieces.append(_Section(primary, fallback))
        pos = match.end()
    tail = template[pos:]
    if "[[" in tail or "]]" in tail:
        raise TemplateError("unbalanced [[ ]]")
    pieces.append(tail)
    return pieces


def fields(text: str) -> set[str]:
    """Placeholder names in a plain format string; raises TemplateError on bad syntax."""
    names: set[str] = set()
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise TemplateError(str(exc)) from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"placeholder {{{name}}} must be a plain name")
        names.add(name)
    return names


def placeholders(template: str) -> set[str]:
    names: set[str] = set()
    for piece in _pieces(template):
        if isinstance(piece, _Section):
            names |= piece.needs() | fields(piece.fallback)
        else:
            names |= fields(piece)
    return names


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``template``; a missing value selects a section's fallback (or nothing)."""
    present = {k: v for k, v in values.items() if v}
    out: list[str] = []
    for piece in _pieces(template):
        if isinstance(piece, _Section):
            if piece.needs() <= present.keys():
                out.append(piece.primary.format_map(present))
            elif fields(piece.fallback) <= present.keys():
                out.append(piece.fallback.format_map(present))
        else:
            out.append(piece.format_map(_Blank(present)))
    return _tidy("".join(out))


class _Blank(dict[str, str]):
    """Outside sections a missing value renders as nothing rather than raising."""

    def __missing__(self, key: str) -> str:
        return ""


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]{2,}", " ", line).rstrip() for line in text.strip().splitlines()]
    text = "\n".join(lines)
    text = re.sub(r" +([,.])", r"\1", text)
    return re.sub(r"\n{3,}", "\n\n", text)
