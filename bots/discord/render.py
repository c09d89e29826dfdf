"""Drawing a turn as Discord messages: content, an embed for the result, buttons.

A question is one message: notices first, then the progress, the question and its hint,
then the controls the core gave it as buttons in the core's rows ("Type my answer" opens
a form; there is no date picker on Discord, so a date is typed). The result puts the
draft alone in a code block, so it copies as is, with the outcome, the why and the
advice in an embed. The history lists where each request stands, with the next steps
of the latest open ones (the core's controls; only the layout is Discord's). Every
Discord limit is applied here; wording comes from ``prompts/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import discord

from bots.discord import text
from bots.discord.components import ConversationButton
from core import controls, followup, profile
from core.actions import Action, Ask, Control, ControlKind, Notice, Result, Say, Style
from core.controls import ControlRef
from core.journal import decision_line
from core.ports import Decision
from core.profile import ProfileError, UserProfile
from core.questionnaire import Questionnaire
from core.text import clean

NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_FIELD = "answer"  # the custom_id of the modal's text input
REQUEST_PREVIEW = 300
# The keycaps that tie a history entry's line to its buttons (five: Discord's action rows).
_MARKS = tuple(f"{n}\ufe0f\u20e3" for n in range(1, 6))
_STYLES = {
    Style.PRIMARY: discord.ButtonStyle.primary,
    Style.SECONDARY: discord.ButtonStyle.secondary,
    Style.DANGER: discord.ButtonStyle.danger,
}
# The adapter's own texts in prompts/, checked at start-up with their placeholders.
WORDS = {
    "discord_command_name": frozenset(),
    "discord_command_description": frozenset(),
    "discord_language_option": frozenset(),
    "discord_language_description": frozenset(),
    "discord_note_option": frozenset(),
    "discord_note_description": frozenset(),
    "discord_history_name": frozenset(),
    "discord_history_description": frozenset(),
    "discord_forget_name": frozenset(),
    "discord_forget_description": frozenset(),
    "discord_help_name": frozenset(),
    "discord_help_description": frozenset(),
    "discord_context_menu": frozenset(),
    "discord_profile_name": frozenset(),
    "discord_profile_description": frozenset(),
    "discord_profile_option": frozenset(),
    "discord_profile_option_description": frozenset(),
    "discord_help_commands": frozenset({"start", "history", "forget", "profile", "menu"}),
    "discord_modal_title": frozenset(),
    "discord_modal_label": frozenset(),
}


@dataclass(frozen=True)
class Outgoing:
    """One message to send or to edit into place."""

    content: str
    view: discord.ui.View | None = None
    embed: discord.Embed | None = None

    def fields(self, *, replacing: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``send``, or for an edit that replaces a whole message
        (``replacing``: parts this message lacks are cleared)."""
        out: dict[str, Any] = {"content": self.content, "allowed_mentions": NO_MENTIONS}
        if self.view is not None or replacing:
            out["view"] = self.view
        if self.embed is not None or replacing:
            out["embed"] = self.embed
        return out


class Renderer:
    def __init__(self, q: Questionnaire) -> None:
        self.q = q

    def turn(
        self, actions: Sequence[Action], owner: int, lang: str, *, request: str | None = None
    ) -> list[Outgoing]:
        """One message per question or result, the notices before each joined to it;
        ``request`` (what the conversation was started about) is quoted above the first
        question. ``lang``: the turn's."""
        out: list[Outgoing] = []
        notes: list[str] = []
        for action in actions:
            if isinstance(action, Say):
                # It may repeat what was typed ("Did you mean …?"): shown, never drawn.
                notes.append(text.inert(action.text))
                if action.kind is Notice.HELP:  # and where the pages are, on Discord
                    notes.append(self._commands(lang))
                continue
            if isinstance(action, Ask) and request:
                quoted = text.inert(text.fit(clean(request), REQUEST_PREVIEW))
                notes.append(self.q.ui(action.lang, "request_quoted", request=quoted))
                request = None
            drawn = (
                self.ask(action, owner) if isinstance(action, Ask) else self.result(action, owner)
            )
            if notes and isinstance(action, Ask):
                drawn = Outgoing(
                    text.fit("\n\n".join([*notes, drawn.content]), text.CONTENT), drawn.view
                )
            elif notes:
                out.append(Outgoing(text.fit("\n\n".join(notes), text.CONTENT)))
            out.append(drawn)
            notes = []
        if notes:
            out.append(Outgoing(text.fit("\n\n".join(notes), text.CONTENT)))
        return out

    def ask(self, ask: Ask, owner: int) -> Outgoing:
        lines = [f"-# {ask.progress.label}"] if ask.progress else []
        lines.append(f"**{ask.text}**")
        if ask.hint:  # may name the client (the journal's line): no formatting from it
            lines.append(f"-# {text.inert(ask.hint)}")
        if ask.previous:
            lines.append(f"-# {self.q.ui(ask.lang, 'answered', answer=text.inert(ask.previous))}")
        return Outgoing(text.fit("\n".join(lines), text.CONTENT), view=view(ask.controls, owner))

    def result(self, result: Result, owner: int) -> Outgoing:
        if result.draft is None:
            content = f"**{result.heading}**"
        else:
            content = self._with_draft(result.heading, result.draft, result.lang)
        explanation = "\n\n".join(part for part in (result.why, result.advice) if part)
        embed = discord.Embed(
            title=text.fit(result.title, text.EMBED_TITLE),
            description=text.fit(explanation, text.EMBED_DESCRIPTION),
        )
        return Outgoing(content, view=view(result.controls, owner), embed=embed)

    def answered(self, content: str, note: str) -> str:
        """A question message once answered: the question, then what was chosen."""
        line = f"**{text.inert(note)}**"
        return text.fit(content, text.CONTENT - text.length(line) - 2) + "\n\n" + line

    def modal(self, ref: ControlRef) -> discord.ui.Modal:
        """The form behind "Type my answer"; its submission is handled by the client's
        ``on_interaction``, so it too survives restarts. ``ref.value`` is the language."""
        q = self.q
        lang = ref.value if ref.value in q.languages else q.languages[0]
        submit = ControlRef(ControlKind.SUBMIT, ref.owner, ref.version, ref.question)
        title = text.fit(q.ui(lang, "discord_modal_title"), text.MODAL_TITLE)
        # Kept in discord.py's modal store only until it would be stale anyway.
        modal = discord.ui.Modal(
            title=title, custom_id=controls.encode(submit, ref.owner), timeout=15 * 60
        )
        question = q.question_text(lang, ref.question) if ref.question in q.questions else ""
        modal.add_item(
            discord.ui.TextInput(
                label=text.fit(q.ui(lang, "discord_modal_label"), text.INPUT_LABEL),
                custom_id=ANSWER_FIELD,
                style=discord.TextStyle.paragraph,
                placeholder=text.fit(question, text.PLACEHOLDER) or None,
                max_length=q.max_text,
            )
        )
        return modal

    def _with_draft(self, heading: str, draft: str, lang: str) -> str:
        whole = f"{heading}\n{text.code_block(draft)}"
        if text.length(whole) <= text.CONTENT:
            return whole
        # Templates are short and answers are bounded, so this is a safety net: keep the
        # start of the draft and say it was shortened rather than split the reply in two.
        note = self.q.ui(lang, "trimmed")
        frame = text.length(f"{heading}\n{text.code_block('')}\n{note}")
        return f"{heading}\n{text.code_block(text.fit(draft, text.CONTENT - frame))}\n{note}"

    # --- side messages -------------------------------------------------------------
    def help(self, lang: str) -> str:
        return text.fit(f"{self.q.ui(lang, 'help')}\n{self._commands(lang)}", text.CONTENT)

    def _commands(self, lang: str) -> str:
        q = self.q
        return q.ui(
            lang,
            "discord_help_commands",
            start=q.ui(lang, "discord_command_name"),
            history=q.ui(lang, "discord_history_name"),
            forget=q.ui(lang, "discord_forget_name"),
            profile=q.ui(lang, "discord_profile_name"),
            menu=q.ui(lang, "discord_context_menu"),
        )

    def forget_confirmation(self, lang: str, owner: int, version: int) -> Outgoing:
        shown = view(controls.forget_controls(self.q, lang, version), owner)
        return Outgoing(self.q.ui(lang, "forget_confirm"), view=shown)

    def profile(self, lang: str, shown: UserProfile | ProfileError, *, changed: bool) -> str:
        """The saved profile (after "Saved." when ``changed``), or why a change was refused,
        with how to write one."""
        q = self.q
        how = f"-# {profile.word(q, lang, 'how')}"
        if isinstance(shown, ProfileError):  # it repeats what was typed: inert
            return text.fit(f"{text.inert(shown.text(q, lang))}\n{how}", text.CONTENT)
        page = profile.page(q, lang, shown, changed=changed)
        lines = [page.saved] if page.saved else []
        lines += [f"**{page.title}**", *(f"• {text.inert(line)}" for line in page.lines)]
        if page.how:
            lines.append(f"-# {page.how}")
        return text.fit("\n".join(lines), text.CONTENT)

    def history(
        self, lang: str, decisions: Sequence[Decision], owner: int, now: datetime
    ) -> Outgoing:
        """The latest decisions, newest first, each with where its request stands; those
        with next steps open get their buttons, one entry's to a row, marked with the
        entry's keycap (the labels are the core's, which do not name the client)."""
        q = self.q
        if not decisions:
            return Outgoing(q.ui(lang, "history_empty"))
        content = f"**{q.ui(lang, 'history_title')}**"
        rows: list[tuple[str, list[Control]]] = []  # (the entry's keycap, its buttons)
        marked = 0
        for d in decisions:
            steps = list(followup.next_controls(q, d, lang, now))
            needed = -(-len(steps) // text.BUTTONS_PER_ROW)
            # Discord allows five action rows: the newest entries with open steps get
            # buttons while rows are left (a negotiation's five steps fill one); older ones
            # only say where they stand, their steps still on their result and reminder.
            given = bool(steps) and len(rows) + needed <= text.ACTION_ROWS
            mark = _MARKS[marked] if given else "•"
            shown = decision_line(q, lang, d, show=lambda c: text.inert(text.one_line(c)), now=now)
            line = f"\n{mark} {shown}"
            if text.length(content + line) > text.CONTENT:
                break
            content += line
            if given:
                marked += 1
                per_row = text.BUTTONS_PER_ROW
                rows += [(mark, steps[i : i + per_row]) for i in range(0, len(steps), per_row)]
        drawn = discord.ui.View(timeout=None)
        for row, (mark, controls_in_row) in enumerate(rows):
            for control in controls_in_row:
                drawn.add_item(_button(control, owner, row, emoji=mark))
        return Outgoing(content, view=drawn if drawn.children else None)


def is_history(message: discord.Message) -> bool:
    """Whether ``message`` is a history page: its next steps carry their entry's keycap."""
    return any(
        str(getattr(item, "emoji", None) or "") in _MARKS
        for row in message.components
        for item in getattr(row, "children", ())
    )


def next_steps(
    message: discord.Message, ref: int, shown: Sequence[Control], owner: int
) -> discord.ui.View | None:
    """The buttons of ``message`` (a result, a reminder, a history) with those of journal
    entry ``ref``'s next steps replaced by ``shown`` (the steps open now, with the entry's
    keycap if it had one), every other button as it was; None when the message holds no
    button of that entry. An empty view when none is left."""
    rows: dict[int, list[discord.ui.Item[Any]]] = {}
    at, mark = None, None
    for item in discord.ui.View.from_message(message, timeout=None).children:
        found = controls.decode(str(getattr(item, "custom_id", None) or ""))
        row = item.row or 0
        if found is not None and found.kind is ControlKind.NEXT and found.version == ref:
            at = row if at is None else min(at, row)
            mark = mark or getattr(item, "emoji", None)
            continue
        rows.setdefault(row, []).append(item)
    if at is None:
        return None
    per_row = text.BUTTONS_PER_ROW
    steps = [list(shown[i : i + per_row]) for i in range(0, len(shown), per_row)]
    drawn = discord.ui.View(timeout=None)
    index = 0
    for row in sorted({*rows, at}):
        laid: list[list[discord.ui.Item[Any]]] = []
        if row == at:
            emoji = str(mark) if mark else None
            laid += [[_button(c, owner, 0, emoji=emoji) for c in group] for group in steps]
        laid += [rows[row]] if rows.get(row) else []
        for items in laid:
            if index >= text.ACTION_ROWS:
                return drawn
            for item in items:
                item.row = index
                drawn.add_item(item)
            index += 1
    return drawn


def view(shown: Iterable[Control], owner: int) -> discord.ui.View | None:
    """Buttons in the core's rows, each wrapping at five a row (a date picker is not
    drawn: Discord has none, the answer is typed)."""
    drawn = discord.ui.View(timeout=None)
    row = 0
    for _, group in groupby(shown, key=lambda c: c.row):
        buttons = [c for c in group if c.kind is not ControlKind.DATE]
        for start in range(0, len(buttons), text.BUTTONS_PER_ROW):
            for control in buttons[start : start + text.BUTTONS_PER_ROW]:
                drawn.add_item(_button(control, owner, row))
            row += 1
    return drawn if drawn.children else None


def _button(
    control: Control, owner: int, row: int, *, emoji: str | None = None
) -> ConversationButton:
    label = f"✎ {control.label}" if control.kind is ControlKind.TYPE else control.label
    button: discord.ui.Button[Any] = discord.ui.Button(
        label=text.fit(label, text.BUTTON_LABEL),
        custom_id=controls.encode(control, str(owner)),
        style=_STYLES[control.style],
        emoji=emoji,
    )
    return ConversationButton(button, row=row)
