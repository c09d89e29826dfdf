"""The terminal adapter: the conversation at a prompt, or as JSON lines for scripts.

Human mode prints numbered choices and reads one answer a line; ``--json`` prints one JSON
object per line for each thing the bot says (flushed as written) so another program can
hold the conversation through pipes. The conversation is kept in the store, so quitting
and starting again offers to resume.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, Any

from bots import reminders
from core import followup, profile
from core.actions import Action, Ask, Control, ControlKind, Notice, Result, Say
from core.events import Answer, Event, Start
from core.ports import ConversationKey, StoreError
from core.profile import ProfileError
from core.questionnaire import Questionnaire
from core.session import Session
from core.turn import Effect, Turn

EXIT_RESULT, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
RULE = "─" * 60


# The terminal's own texts in prompts/, checked when it starts.
WORDS: dict[str, frozenset[str]] = {
    "terminal_saved": frozenset(),
    "terminal_forget_confirm": frozenset(),
    "terminal_yes_words": frozenset(),
    "terminal_due": frozenset({"count"}),
    "terminal_next_steps": frozenset({"number", "steps"}),
    "terminal_no_such_decision": frozenset({"number"}),
    "terminal_no_such_step": frozenset({"step"}),
    "terminal_nothing_open": frozenset({"number"}),
    "terminal_step_values": frozenset({"step", "values"}),
    "terminal_enter_keeps": frozenset(),
    "terminal_help_commands": frozenset(),
    "terminal_step_not_here": frozenset({"step", "number"}),
    "terminal_history_more": frozenset({"limit"}),
    "terminal_step_not_open": frozenset({"step", "number"}),
    "terminal_step_no_value": frozenset({"step"}),
}
# Reminders are shown, not sent, on the terminal: at the next start.
DUE_SHOWN = 5


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
    locale: str | None = None  # the terminal's locale (LANG): how dates are written


class Renderer:
    """Writes actions to a stream, human-readable or as JSON lines."""

    def __init__(self, q: Questionnaire, out: IO[str], as_json: bool) -> None:
        self.q, self.out, self.as_json = q, out, as_json

    def render(self, action: Action, lang: str | None = None) -> None:
        """Draw ``action`` of a turn in ``lang`` (a help also names the commands, then)."""
        if self.as_json:
            self._line(to_json(action))
        elif isinstance(action, Ask):
            self._ask(action)
        elif isinstance(action, Say):
            self._write(f"\n{action.text}\n")
            if action.kind is Notice.HELP and lang is not None:
                self._write(self.q.ui(lang, "terminal_help_commands") + "\n")
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
            answered = self.q.ui(ask.lang, "answered", answer=ask.previous)
            lines.append(f"  {answered} {self.q.ui(ask.lang, 'terminal_enter_keeps')}")
        lines += [f"  {i}. {c.label}" for i, c in enumerate(ask.choices, 1)]
        lines.append(_words(ask.controls))
        self._write("\n".join(lines) + "\n")

    def _result(self, result: Result) -> None:
        lines = ["", f"== {result.title} =="]
        if result.why:
            lines.append(result.why)
        lines += ["", result.heading]
        if result.draft is not None:
            lines += [RULE, result.draft, RULE]
        lines += ["", result.advice]
        words = _words(result.controls)
        if words.strip():
            lines += ["", words]
        self._write("\n".join(lines) + "\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _line(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()


def _words(controls: tuple[Control, ...]) -> str:
    """The controls a text surface can use, as the words to type: "[back] [help]"."""
    # Next steps are not typed into the conversation: their hint names the command.
    typed = (c for c in controls if c.kind is not ControlKind.NEXT)
    return "  " + " ".join(f"[{c.word}]" for c in typed if c.word and not c.word.isdigit())


def _control_json(control: Control) -> dict[str, Any]:
    shown = {"kind": control.kind.name.lower(), "label": control.label, "value": control.value}
    if control.kind is ControlKind.NEXT:
        # What `should-i-take-it next 1 …` takes, in any language: "wait 3".
        shown["step"] = followup.step_argument(control)
    return shown


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


EXIT_INTERRUPTED = 130  # Ctrl-C: the conversation is saved, as the shell convention says


async def run_terminal(
    session: Session,
    options: TerminalOptions,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    today: Callable[[], Any] | None = None,
) -> int:
    """Hold one conversation; returns the process exit status.

    Ctrl-C while waiting for an answer ends at once with "Saved. Run again to continue."
    (everything answered is already in the store); one arriving while a turn is being
    saved lets the turn finish first, so nothing half-written is left behind."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    q = session.questionnaire
    q.check_words(WORDS)
    renderer = Renderer(q, stdout, options.json)
    key = local_key()
    # The user's own calendar day: a date typed as today must not be 'already past'.
    day = today or (lambda: session.clock().astimezone().date())
    interactive = stdin.isatty() and not options.json
    lang = options.lang or q.languages[0]

    async def send(event: Event) -> Turn:
        nonlocal lang
        turn = await session.handle(key, event)
        for action in turn.actions:
            renderer.render(action, turn.lang)
        lang = turn.lang
        return turn

    if not options.json:
        await show_due(session, renderer, key, lang)
    with _interruptible() as reading:
        try:
            turn = await send(
                Start(
                    today=day(),
                    lang=options.lang,
                    tone=options.tone,
                    client=options.client,
                    signature=options.signature,
                    fresh=options.fresh,
                    locale=options.locale,
                )
            )
            if turn.effect is Effect.FAILED:
                return EXIT_INCOMPLETE
            finished = False
            while True:
                if interactive:
                    stdout.write("> ")
                    stdout.flush()
                with reading():
                    line = stdin.readline()
                text = line.rstrip("\r\n")
                if not line or (finished and not text.strip()):
                    break  # end of input, or Enter after a result
                # Every line goes to the core, after a result too: it knows tone and language
                # words, back, restart and help there, and says what can be typed otherwise.
                turn = await send(Answer(text, today=day()))
                if turn.effect is Effect.ENDED:
                    return EXIT_INCOMPLETE
                if any(isinstance(a, Result) for a in turn.actions):
                    finished = True
                    # The decision just made is the latest: number 1 in `history`.
                    hint = steps_hint(q, turn.lang, 1, _next_steps(turn.actions))
                    if hint and not options.json:
                        stdout.write(hint + "\n")
                    if interactive:
                        stdout.write(after_result_hint(q, turn.lang) + "\n")
                elif any(isinstance(a, Ask) for a in turn.actions):
                    finished = False
        except KeyboardInterrupt:
            _say_saved(q, lang, options, stdout)
            return EXIT_INTERRUPTED
    if not finished:  # the input ended mid-way (Ctrl-D): what was answered is kept
        _say_saved(q, lang, options, stdout)
    return EXIT_RESULT if finished else EXIT_INCOMPLETE


def _say_saved(q: Questionnaire, lang: str, options: TerminalOptions, stdout: IO[str]) -> None:
    """ "Saved. Run again to continue." (on stderr with --json: stdout is the script's)."""
    saved = q.ui(lang, "terminal_saved")
    if options.json:
        print(saved, file=sys.stderr)
    else:
        stdout.write(f"\n{saved}\n")
        stdout.flush()


async def show_due(session: Session, renderer: Renderer, key: ConversationKey, lang: str) -> int:
    """The follow-ups that came due since the last start ("1 follow-up due"), each with
    the command that takes its next step; they count as sent once shown."""
    q, store, now = session.questionnaire, session.store, session.clock()
    try:
        # This user's only: another person's, on a shared database, wait for their start.
        mine = await store.reminders_claim(
            key.platform, now, claim_until=now + reminders.LEASE, limit=DUE_SHOWN, key=key
        )
        if not mine:
            return 0
        latest = await session.history(key, 200)
    except StoreError:
        return 0  # the conversation below says what is wrong with the store
    renderer.render(Say(q.ui(lang, "terminal_due", count=len(mine))))
    refs = [d.ref for d in latest]
    for reminder in mine:
        actions = session.reminder_turn(reminder, now).actions
        for action in actions:
            renderer.render(action)
        if reminder.entry.ref in refs:
            number = refs.index(reminder.entry.ref) + 1
            if hint := steps_hint(q, lang, number, _next_steps(actions)):
                renderer.render(Say(hint))
    await session.reminders_delivered(mine)
    return len(mine)


def steps_hint(q: Questionnaire, lang: str, number: int, steps: Sequence[Control]) -> str:
    """The command that takes one of ``steps`` on decision ``number`` of the history
    ("" when none is open): the terminal's way to press a next-step button."""
    words = ", ".join(c.word for c in steps if c.word)
    return q.ui(lang, "terminal_next_steps", number=number, steps=words) if words else ""


def _next_steps(actions: tuple[Action, ...]) -> list[Control]:
    return [
        c
        for a in actions
        if isinstance(a, Ask | Result)
        for c in a.controls
        if c.kind is ControlKind.NEXT
    ]


@contextmanager
def _interruptible() -> Iterator[Callable[[], AbstractContextManager[None]]]:
    """SIGINT raises KeyboardInterrupt only while blocked reading a line; at any other
    moment (a turn being saved) it is noted and raised once the turn is done. Without this,
    asyncio's own handler ignores the first Ctrl-C until Enter, and a second one tears a
    database call apart."""
    if threading.current_thread() is not threading.main_thread():
        yield contextlib.nullcontext
        return
    state = {"reading": False, "pending": False}

    def on_sigint(signum: int, frame: object) -> None:
        if state["reading"]:
            raise KeyboardInterrupt
        state["pending"] = True

    @contextmanager
    def reading() -> Iterator[None]:
        if state["pending"]:
            raise KeyboardInterrupt
        state["reading"] = True
        try:
            yield
        finally:
            state["reading"] = False

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield reading
    finally:
        signal.signal(signal.SIGINT, previous)


def confirm(q: Questionnaire, lang: str, stdin: IO[str], out: IO[str]) -> bool:
    """Ask a yes/no question (``forget``); anything but a yes word (y, yes, o, oui) is no."""
    out.write(q.ui(lang, "terminal_forget_confirm"))
    out.flush()
    answer = stdin.readline().strip().lower()
    yes = {w.strip().lower() for w in q.ui(lang, "terminal_yes_words").split(",")}
    return answer in yes


async def run_profile(
    session: Session,
    key: ConversationKey,
    change: str,
    lang: str,
    *,
    as_json: bool = False,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """``should-i-take-it profile [CHANGE]``: show the saved profile, or make the one
    ``change`` (``tone formal``, ``colleague add Sam Lee``...) and show the result. A
    refused change says why, and how to write one, on stderr (exit status 2)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    q = session.questionnaire
    if change.strip():
        saved = await session.edit_profile(key, change)
        if isinstance(saved, ProfileError):
            err.write(f"{saved.text(q, lang)}\n{profile.word(q, lang, 'how')}\n")
            return EXIT_USAGE
    else:
        saved = await session.profile(key)
    if as_json:
        out.write(saved.to_json() + "\n")
        return EXIT_RESULT
    shown = profile.page(q, lang, saved, changed=bool(change.strip()))
    lines = [shown.saved] if shown.saved else []
    lines += [shown.title, *(f"  {line}" for line in shown.lines)]
    if shown.how:
        lines += ["", shown.how]
    out.write("\n".join(lines) + "\n")
    return EXIT_RESULT


def after_result_hint(q: Questionnaire, lang: str) -> str:
    words = [*(q.tone_label(lang, t).lower() for t in q.tones), *q.languages]
    return q.ui(lang, "after_result", options=", ".join(f'"{w}"' for w in words))
