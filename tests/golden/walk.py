"""Every path through ``prompts/flow.yaml``, walked through the real engine.

A path is the sequence of choices made; text and date questions are either all answered
(with the sample values below) or all skipped. Used by the path tests and by the golden
drafts (``python -m tests.golden.regenerate``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core.actions import Ask, Result
from core.engine import step
from core.events import Answer, Start
from core.questionnaire import SKIP, Questionnaire
from core.state import ConversationState

# A fixed "today", so that dates in drafts and files never move.
TODAY = date(2026, 11, 27)
SIGNATURE = "Camille Martin"
SAMPLES: dict[str, dict[str, str]] = {
    "en": {
        "client": "anna",
        "colleague": "Sam Lee (sam@example.com)",
        "fee_proposal": "I can do it for €4,800, without the blog",
        "free_from": "2027-03-15",
        "deadline": "2027-04-30",
    },
    "fr": {
        "client": "Mme Dupont",
        "colleague": "Camille Durand (camille@exemple.fr)",
        "fee_proposal": "Je propose 4 800 € HT, sans le blog",
        "free_from": "2027-03-15",
        "deadline": "2027-04-30",
    },
}


@dataclass
class Screen:
    ask: Ask
    answer: str  # what was typed or clicked (a choice id, a text, "skip")


@dataclass
class Walk:
    choices: tuple[tuple[str, str], ...]  # (question, choice) for every choice question
    screens: list[Screen] = field(default_factory=list)
    result: Result | None = None
    state: ConversationState | None = None  # as the result left it

    @property
    def slug(self) -> str:
        assert self.result is not None
        steps = "_".join(f"{qid}-{c}" for qid, c in self.choices)
        return f"{self.result.outcome}__{steps}"

    def answered(self, question: str, choice: str) -> bool:
        return (question, choice) in self.choices


def choice_paths(q: Questionnaire) -> list[tuple[tuple[str, str], ...]]:
    """Every sequence of choices that ends in an outcome (explored through the engine)."""
    found: list[tuple[tuple[str, str], ...]] = []

    def explore(prefix: tuple[tuple[str, str], ...]) -> None:
        walk = play(q, prefix, "en", "warm", fill=True, strict=False)
        if walk.result is not None:
            found.append(prefix)
            return
        ask = walk.screens[-1].ask
        for choice in ask.choices:
            explore((*prefix, (ask.question, choice.id)))

    explore(())
    return found


def play(
    q: Questionnaire,
    choices: tuple[tuple[str, str], ...],
    lang: str,
    tone: str,
    *,
    fill: bool,
    strict: bool = True,
    request: str | None = None,
) -> Walk:
    """Answer along ``choices``; stop at a result, or (``strict=False``) at the first choice
    question the prefix does not cover."""
    walk = Walk(choices)
    start = Start(today=TODAY, lang=lang, tone=tone, signature=SIGNATURE, request=request)
    state, actions = step(q, None, start)
    pending = list(choices)
    for _ in range(50):
        results = [a for a in actions if isinstance(a, Result)]
        if results:
            walk.result = results[-1]
            walk.state = state
            return walk
        ask = next(a for a in reversed(actions) if isinstance(a, Ask))
        if ask.input == "choice":
            if not pending:
                assert not strict, f"path {choices} stops at {ask.question}"
                walk.screens.append(Screen(ask, ""))
                return walk
            qid, answer = pending.pop(0)
            assert qid == ask.question, f"path {choices}: expected {qid}, got {ask.question}"
        else:
            answer = SAMPLES[lang][ask.question] if fill else SKIP
        walk.screens.append(Screen(ask, answer))
        state, actions = step(
            q, state, Answer(answer, today=TODAY, question=ask.question, version=ask.version)
        )
    raise AssertionError(f"path {choices} never ends")
