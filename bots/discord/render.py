"""Core actions → Discord messages: content, an embed for the result, buttons.

A question is one message: notices first (a re-prompt, "Starting over."), then the
progress, the question and its hint, then buttons: one per choice, or "Type my answer"
(a modal) and "Skip" for text and date questions, then back / start over / cancel / help.
The result puts the draft alone in a code block, so it copies as is, with the outcome,
the why and the advice in an embed, and buttons to change tone or language, go back to the
last question or start over.
Every Discord limit is applied here; wording comes from ``prompts/`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bots.discord import text
from bots.discord.components import ConversationButton
from bots.discord.custom_ids import ComponentId, Kind
from core.actions import Action, Ask, Result, Say
from core.journal import decision_line
from core.ports import Decision
from core.questionnaire import SKIP, Questionnaire

NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_FIELD = "answer"  # the custom_id of the modal's text input
REQUEST_PREVIEW = 300

Button = tuple[ComponentId, str, discord.ButtonStyle, bool]  # id, label, style, disabled


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
        self, actions: Sequence[Action], owner: int, *, request: str | None = None
    ) -> list[Outgoing]:
        """The messages for one turn. Notices join the question that follows them;
        ``request`` (the text the conversation was started about) is quoted above the
        first question."""
        out: list[Outgoing] = []
        notes: list[str] = []
        for action in actions:
            if isinstance(action, Say):
                notes.append(action.text)
            elif isinstance(action, Ask):
                if request:
                    quoted = text.inert(text.fit(text.one_line(request), REQUEST_PREVIEW))
                    notes.append(self.q.ui(action.lang, "request_quoted", request=quoted))
                    request = None
                out.append(self.ask(action, owner, notes))
                notes = []
            else:
                if notes:
                    out.append(Outgoing(text.fit("\n\n".join(notes), text.CONTENT)))
                    notes = []
                out.append(self.result(action, owner))
        if notes:
            out.append(Outgoing(text.fit("\n\n".join(notes), text.CONTENT)))
        return out

    # --- a question ----------------------------------------------------------------
    def ask(self, ask: Ask, owner: int, notes: Iterable[str] = ()) -> Outgoing:
        q, lang = self.q, ask.lang
        lines = [f"-# {ask.progress.label}"] if ask.progress else []
        lines.append(f"**{ask.text}**")
        if ask.hint:
            lines.append(f"-# {ask.hint}")
        if ask.previous:
            lines.append(f"-# {q.ui(lang, 'answered', answer=text.inert(ask.previous))}")
        content = "\n\n".join([*notes, "\n".join(lines)])

        def cid(kind: Kind, value: str = "") -> ComponentId:
            return ComponentId(kind, owner, ask.version, ask.question, value)

        answers: list[Button] = []
        if ask.input == "choice":
            for choice in ask.choices:
                style = (
                    discord.ButtonStyle.secondary
                    if choice.id == SKIP
                    else discord.ButtonStyle.primary
                )
                answers.append((cid(Kind.ANSWER, choice.id), choice.label, style, False))
        else:
            label = q.ui(lang, "discord_type_answer")
            answers.append((cid(Kind.TYPE, lang), f"✎ {label}", discord.ButtonStyle.primary, False))
            if ask.optional:
                skip = q.ui(lang, "skip")
                answers.append((cid(Kind.ANSWER, SKIP), skip, discord.ButtonStyle.secondary, False))
        grey = discord.ButtonStyle.secondary
        navigation: list[Button] = []
        if ask.can_go_back:
            navigation.append((cid(Kind.BACK), q.ui(lang, "button_back"), grey, False))
        navigation += [
            (cid(Kind.RESTART), q.ui(lang, "button_restart"), grey, False),
            (cid(Kind.CANCEL), q.ui(lang, "button_cancel"), grey, False),
            (cid(Kind.HELP), q.ui(lang, "button_help"), grey, False),
        ]
        return Outgoing(text.fit(content, text.CONTENT), view=_view([answers, navigation]))

    def answered(self, content: str, answer: str, lang: str) -> str:
        """A question message once answered: the question, then what was chosen."""
        line = f"**{self.q.ui(lang, 'answered', answer=answer)}**"
        return text.fit(content, text.CONTENT - text.length(line) - 2) + "\n\n" + line

    def modal(self, cid: ComponentId) -> discord.ui.Modal:
        """The form behind "Type my answer"; its submission is handled by the client's
        ``on_interaction`` (see ``DiscordBot.on_interaction``), so it too survives restarts."""
        q, lang = self.q, cid.value
        submit = ComponentId(Kind.SUBMIT, cid.owner, cid.version, cid.question)
        title = text.fit(q.ui(lang, "discord_modal_title"), text.MODAL_TITLE)
        # Kept in discord.py's modal store only until it would be stale anyway.
        modal = discord.ui.Modal(title=title, custom_id=submit.encode(), timeout=15 * 60)
        modal.add_item(
            discord.ui.TextInput(
                label=text.fit(q.ui(lang, "discord_modal_label"), text.INPUT_LABEL),
                custom_id=ANSWER_FIELD,
                style=discord.TextStyle.paragraph,
                placeholder=text.fit(q.question_text(lang, cid.question), text.PLACEHOLDER),
                max_length=q.max_text,
            )
        )
        return modal

    # --- the result ----------------------------------------------------------------
    def result(self, result: Result, owner: int) -> Outgoing:
        q, lang = self.q, result.lang
        if result.draft is None:
            content = f"**{q.ui(lang, 'no_draft_heading')}**"
        else:
            tone, language = q.tone_label(lang, result.tone), q.texts[lang].name
            heading = f"{q.ui(lang, 'result_heading')} ({tone} · {language})"
            content = self._with_draft(heading, result.draft, lang)
        explanation = "\n\n".join(part for part in (result.why, result.advice) if part)
        embed = discord.Embed(
            title=text.fit(result.title, text.EMBED_TITLE),
            description=text.fit(explanation, text.EMBED_DESCRIPTION),
        )

        def cid(kind: Kind, value: str = "") -> ComponentId:
            return ComponentId(kind, owner, result.version, "", value)

        tones: list[Button] = []
        if result.draft is not None:  # no_reply has no draft whose tone could change
            for tone_id in q.tones:
                current = tone_id == result.tone
                style = discord.ButtonStyle.primary if current else discord.ButtonStyle.secondary
                tones.append((cid(Kind.TONE, tone_id), q.tone_label(lang, tone_id), style, current))
        grey = discord.ButtonStyle.secondary
        others: list[Button] = [
            (cid(Kind.LANGUAGE, other), q.ui(other, "switch_language"), grey, False)
            for other in q.languages
            if other != lang
        ]
        # Back (to the last question) and start over stay one click away from the result.
        others.append((cid(Kind.BACK), q.ui(lang, "button_back"), grey, False))
        others.append((cid(Kind.RESTART), q.ui(lang, "button_restart"), grey, False))
        return Outgoing(content, view=_view([tones, others]), embed=embed)

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
        q = self.q
        commands = q.ui(
            lang,
            "discord_help_commands",
            start=q.ui(lang, "discord_command_name"),
            history=q.ui(lang, "discord_history_name"),
            forget=q.ui(lang, "discord_forget_name"),
            menu=q.ui(lang, "discord_context_menu"),
        )
        return text.fit(f"{q.ui(lang, 'help')}\n{commands}", text.CONTENT)

    def forget_confirmation(self, lang: str, owner: int) -> Outgoing:
        delete = ComponentId(Kind.FORGET, owner, 0)
        label = self.q.ui(lang, "discord_forget_button")
        view = _view([[(delete, label, discord.ButtonStyle.danger, False)]])
        return Outgoing(self.q.ui(lang, "discord_forget_confirm"), view=view)

    def history(self, lang: str, decisions: Sequence[Decision]) -> str:
        q = self.q
        if not decisions:
            return q.ui(lang, "history_empty")
        content = f"**{q.ui(lang, 'history_title')}**"
        for d in decisions:
            shown = decision_line(q, lang, d, show=lambda c: text.inert(text.one_line(c)))
            line = "\n• " + shown
            if text.length(content + line) > text.CONTENT:
                break
            content += line
        return content


def _view(groups: Sequence[Sequence[Button]]) -> discord.ui.View | None:
    """Buttons in rows: each group starts a row and wraps at five a row."""
    view = discord.ui.View(timeout=None)
    row = 0
    for group in groups:
        for start in range(0, len(group), text.BUTTONS_PER_ROW):
            for cid, label, style, disabled in group[start : start + text.BUTTONS_PER_ROW]:
                button: discord.ui.Button[Any] = discord.ui.Button(
                    label=text.fit(label, text.BUTTON_LABEL),
                    custom_id=cid.encode(),
                    style=style,
                    disabled=disabled,
                )
                view.add_item(ConversationButton(button, row=row))
            row += 1
    return view if view.children else None


def turn_lang(actions: Sequence[Action], default: str) -> str:
    """The language a turn speaks (a Say alone does not say which)."""
    return next((a.lang for a in actions if isinstance(a, Ask | Result)), default)
