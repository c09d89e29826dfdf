"""A folder of golden files: written anew by a regenerate script, compared by its test."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path


def write(folder: Path, files: dict[str, str]) -> int:
    """Write ``files`` (name → text) into ``folder``, removing the ones no longer made."""
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.txt"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} golden files to {folder}", file=sys.stderr)
    return 0


def differences(folder: Path, files: dict[str, str]) -> list[str]:
    """A unified diff per file of ``files`` whose committed copy in ``folder`` differs."""
    found = []
    for name, text in sorted(files.items()):
        path = folder / name
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old != text:
            diff = difflib.unified_diff(
                old.splitlines(), text.splitlines(), f"committed/{name}", f"now/{name}", lineterm=""
            )
            found.append("\n".join(diff))
    return found
