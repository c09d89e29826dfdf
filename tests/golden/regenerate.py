"""Write the golden drafts: one file per path of flow.yaml × language × tone.

Run ``python -m tests.golden.regenerate`` from the repository root after changing
``prompts/`` or the engine, then review the diff: every wording change shows there.
``tests/golden/test_golden.py`` fails while a file is out of date."""

from __future__ import annotations

from pathlib import Path

from core.questionnaire import Questionnaire, load_questionnaire
from tests.golden.files import write
from tests.golden.walk import TODAY, Walk, choice_paths, play

HERE = Path(__file__).resolve().parent
DRAFTS = HERE / "drafts"


def render(q: Questionnaire, full: Walk, skipped: Walk, lang: str, tone: str) -> str:
    assert full.result is not None and skipped.result is not None
    result = full.result
    path = " → ".join(f"{qid}={c}" for qid, c in full.choices)
    lines = [
        f"# {path}",
        f"# outcome: {result.outcome} · lang: {lang} · tone: {tone} · today: {TODAY}",
        "",
        "## Screens",
    ]
    for screen in full.screens:
        ask = screen.ask
        label = f"[{ask.progress.label}] " if ask.progress else ""
        lines.append(f"{label}{ask.text}")
        if ask.choices:
            lines.append("  choices: " + " | ".join(c.label for c in ask.choices))
        shown = next((c.label for c in ask.choices if c.id == screen.answer), screen.answer)
        lines.append(f"  → {shown}")
    lines += ["", f"## {result.title}", result.why, "", result.advice, ""]
    if result.draft is None:
        lines.append("(no draft)")
    else:
        lines += ["## Draft", result.draft, "", "## Draft with the optional answers skipped"]
        lines.append(skipped.result.draft or "(no draft)")
    return "\n".join(lines) + "\n"


def expected(q: Questionnaire) -> dict[str, str]:
    """File name → content, for every path × language × tone."""
    files: dict[str, str] = {}
    for path in choice_paths(q):
        for lang in q.languages:
            for tone in q.tones:
                full = play(q, path, lang, tone, fill=True)
                skipped = play(q, path, lang, tone, fill=False)
                files[f"{full.slug}.{lang}.{tone}.txt"] = render(q, full, skipped, lang, tone)
    return files


def main() -> int:
    return write(DRAFTS, expected(load_questionnaire()))


if __name__ == "__main__":
    raise SystemExit(main())
