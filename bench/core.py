"""Benchmark of the pure engine: µs per step and per full conversation (no store, no I/O).

python -m bench.core
"""

from __future__ import annotations

import statistics
import time
import timeit
from datetime import date
from typing import Any

from core.engine import step
from core.events import Answer, Start
from core.questionnaire import load_questionnaire
from core.state import ConversationState

TODAY = date(2026, 11, 27)
# One conversation per outcome, typed the way people type (labels, numbers, dates).
CONVERSATIONS = [
    ["Anna", "yes", "yes"],
    ["Anna", "no", "no", "no", "yes", "15 mars 2027"],
    ["Anna", "2", "1", "timeline", "2027-03-15"],
    ["Anna", "yes", "no", "fee", "€650 per day"],
    ["Anna", "no", "no", "yes", "Sam Lee"],
    ["Anna", "yes", "no", "neither", "no", "yes"],
    ["Anna", "no", "no", "no", "no"],
]


def _conversation(q: Any, answers: list[str], lang: str) -> int:
    state, _ = step(q, None, Start(today=TODAY, lang=lang))
    steps = 1
    for text in answers:
        state, _ = step(q, state, Answer(text, today=TODAY))
        # Every turn in production also serialises and parses the state.
        assert state is not None
        state = ConversationState.from_json(state.to_json())
        steps += 1
    return steps


def run(rounds: int = 200) -> list[dict[str, Any]]:
    q = load_questionnaire()
    _conversation(q, CONVERSATIONS[1], "fr")  # warm up dateparser's language data
    per_conversation: list[float] = []
    per_step: list[float] = []
    for _ in range(rounds):
        for lang in ("en", "fr"):
            for answers in CONVERSATIONS:
                t0 = time.perf_counter()
                steps = _conversation(q, answers, lang)
                elapsed = time.perf_counter() - t0
                per_conversation.append(elapsed * 1e6)
                per_step.append(elapsed * 1e6 / steps)
    t0 = time.perf_counter()
    for _ in range(rounds):
        load_questionnaire()
    load_ms = (time.perf_counter() - t0) * 1000 / rounds
    click = _clicked_choice(q)
    return [
        {
            "bench": "core",
            "metric": "clicked choice, one step (min of 5)",
            "value": click,
            "unit": "µs",
        },
        {
            "bench": "core",
            "metric": "step (median)",
            "value": statistics.median(per_step),
            "unit": "µs",
        },
        {
            "bench": "core",
            "metric": "full conversation (median)",
            "value": statistics.median(per_conversation),
            "unit": "µs",
        },
        {
            "bench": "core",
            "metric": "full conversation (p99)",
            "value": _p99(per_conversation),
            "unit": "µs",
        },
        {"bench": "core", "metric": "load + validate prompts/", "value": load_ms, "unit": "ms"},
    ]


def _clicked_choice(q: Any, number: int = 2000) -> float:
    """One step for a button's answer (a choice id at its version): no date parsing, no
    state JSON; what the issue's 30 µs target is about."""
    state, _ = step(q, None, Start(today=TODAY))
    state, _ = step(q, state, Answer("Anna", today=TODAY))
    assert state is not None
    event = Answer("yes", TODAY, question=state.step, version=state.version)
    runs = timeit.repeat(lambda: step(q, state, event), number=number, repeat=5)
    return min(runs) / number * 1e6


def _p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(f"{row['bench']:<12} {row['metric']:<36} {row['value']:>12,.1f} {row['unit']}")


if __name__ == "__main__":
    print_table(run())
