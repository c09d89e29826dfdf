"""The terminal adapter: the conversation at a prompt, or as JSON lines for scripts.

Human mode prints numbered choices and reads one answer a line; ``--json`` prints one JSON
object per line for each thing the bot says (flushed as written) so another program can
hold the conversation through pipes. The conversation is kept in the store, so quitting
and starting again offers to resume.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from core.actions import Action, Ask, Control, Result, Say
from core.events import Answer, Event, Start
from core.ports import ConversationKey
from core.questionnaire import Questionnaire
from core.session import Session

EXIT_RESULT, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
RULE = "─" * 60


def local_key() -> ConversationKey:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local"
    return ConversationKey("terminal", "local", user)


@dataclass
class TerminalOptions:
    lang: str | None
    tone: str | None
    json: bool
    client: str | None = None
    signature: str | None = None
    fresh: bool = False


class Renderer:
    """Writes actions to a stream, human-readable or as JSON lines."""

    def __init__(self, q: Questionnaire, out: IO[str], as_json: bool) -> None:
        self.q, self.out, self.as_json = q, out, as_json

    def render(self, action: Action) -> None:
        if self.as_json:
            self._line(to_json(action))
        elif isinstance(action, Ask):
            self._ask(action)
        elif isinstance(action, Say):
            self._write(f"\n{action.text}\n")
        else:
            self._result(action)

    def _ask(self, ask: Ask) -> None:
        lines = [""]
        if ask.progress:
            lines.append(f"[{ask.progress.label}]")
        lines.append(ask.text)
        if ask.hint:
            lines.append(f"  ({ask.hint})")
        if ask.previous:
            lines.append(f"  {self.q.ui(ask.lang, 'answered', answer=ask.previous)}")
        lines += [f"  {i}. {c.label}" for i, c in enumerate(ask.choices, 1)]
        lines.append(_words(ask.controls))
        self._write("\n".join(lines) + "\n")

    def _result(self, result: Result) -> None:
        lines = ["", f"== {result.title} ==", result.why, "", result.heading]
        if result.draft is not None:
            lines += [RULE, result.draft, RULE]
        lines += ["", result.advice, "", _words(result.controls)]
        self._write("\n".join(lines) + "\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()


def _words(controls: tuple[Control, ...]) -> str:
    """The controls a text surface can use, as the words to type: "[back] [help]"."""
    return "  " + " ".join(f"[{c.word}]" for c in controls if c.word and not c.word.isdigit())


def _control_json(control: Control) -> dict[str, Any]:
    return {"kind": control.kind.name.lower(), "label": control.label, "value": control.value}


def to_json(action: Action) -> dict[str, Any]:
    if isinstance(action, Ask):
        return {
            "type": "ask",
            "question": action.question,
            "text": action.text,
            "choices": [{"id": c.id, "label": c.label} for c in action.choices],
            "input": action.input,
            "progress": None
            if action.progress is None
            else {
                "current": action.progress.current,
                "total": action.progress.total,
                "label": action.progress.label,
            },
            "optional": action.optional,
            "hint": action.hint,
            "previous": action.previous,
            "lang": action.lang,
            "controls": [_control_json(c) for c in action.controls],
        }
    if isinstance(action, Say):
        return {"type": "say", "text": action.text, "kind": action.kind}
    return {
        "type": "result",
        "outcome": action.outcome,
        "title": action.title,
        "draft": action.draft,
        "advice": action.advice,
        "why": action.why,
        "lang": action.lang,
        "tone": action.tone,
        "heading": action.heading,
        "controls": [_control_json(c) for c in action.controls],
    }


async def run_terminal(
    session: Session,
    options: TerminalOptions,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    today: Callable[[], Any] | None = None,
) -> int:
    """Hold one conversation; returns the process exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    q = session.questionnaire
    renderer = Renderer(q, stdout, options.json)
    key = local_key()
    # The user's own calendar day: a date typed as today must not be 'already past'.
    day = today or (lambda: session.clock().astimezone().date())
    interactive = stdin.isatty() and not options.json

    async def send(event: Event) -> tuple[Action, ...]:
        turn = await session.handle(key, event)
        for action in turn.actions:
            renderer.render(action)
        return turn.actions

    actions = await send(
        Start(
            today=day(),
            lang=options.lang,
            tone=options.tone,
            client=options.client,
            signature=options.signature,
            fresh=options.fresh,
        )
    )
    if turn_failed(actions):
        return EXIT_INCOMPLETE
    finished = False
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        text = line.rstrip("\r\n")
        if not line or (finished and not text.strip()):
            break  # end of input, or Enter after a result
        # Every line goes to the core, after a result too: it knows tone and language
        # words, back, restart and help there, and anything else starts a new conversation.
        actions = await send(Answer(text, today=day()))
        if any(isinstance(a, Say) and a.kind == "cancelled" for a in actions):
            return EXIT_INCOMPLETE
        if any(isinstance(a, Result) for a in actions):
            finished = True
            if interactive:
                stdout.write(after_result_hint(q, result_lang(actions)) + "\n")
        elif any(isinstance(a, Ask) for a in actions):
            finished = False
    return EXIT_RESULT if finished else EXIT_INCOMPLETE


def after_result_hint(q: Questionnaire, lang: str) -> str:
    words = [*(q.tone_label(lang, t).lower() for t in q.tones), *q.languages]
    return q.ui(lang, "after_result", options=", ".join(f'"{w}"' for w in words))


def result_lang(actions: tuple[Action, ...]) -> str:
    return next(a.lang for a in actions if isinstance(a, Result))


def turn_failed(actions: tuple[Action, ...]) -> bool:
    return any(isinstance(a, Say) and a.kind == "error" for a in actions)
