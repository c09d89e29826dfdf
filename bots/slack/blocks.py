"""Drawing a turn as Slack messages: Block Kit plus a top-level ``text`` fallback.

Drawing is generic: a question is its progress, text and hint above the controls the core
gave it, a result is its title, why, draft and advice above its controls, a notice is a
section. Which controls exist is the core's decision; here each becomes a button (a date
picker for ``DATE``; ``TYPE`` becomes a line saying to type the answer as a message), in
the rows the core gave, each id made by the one control codec (:mod:`core.controls`).

Every string Slack would parse as mrkdwn is escaped (:mod:`bots.slack.mrkdwn`) and every
text is held to Slack's limits, trimmed with the ``trimmed`` wording when it must be. The
draft goes in a ``rich_text_preformatted`` block: shown verbatim (no mrkdwn, emoji codes
or mentions), line breaks kept, in a box that shows at a glance what to copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from bots.slack import mrkdwn as md
from bots.slack.translate import NOT_SET
from core import controls, followup, profile
from core.actions import Action, Ask, Control, ControlKind, Notice, Result, Say, Style
from core.journal import decision_line
from core.ports import Decision
from core.profile import UserProfile
from core.questionnaire import Questionnaire
from core.text import clean_lines

Block = dict[str, Any]

COMMAND = "/should-i-take-it"
SHORTCUT_NAME = "Should I take it?"  # as in manifest.yaml, where Slack shows it
# The App Home's "Edit profile" button and the form it opens (Slack's own, not core controls:
# no conversation is involved). The form's block ids are core.profile's field names.
PROFILE_EDIT = "should_i_take_it_profile_edit"
PROFILE_FORM = "should_i_take_it_profile"
FORM_FIELD = "value"  # every input's action id
FORM_TITLE = 24  # Slack's limit on a modal's title and buttons
# The adapter's own texts in prompts/, checked at start-up with their placeholders.
WORDS = {
    "slack_help_commands": frozenset({"command", "shortcut"}),
    "slack_home_title": frozenset(),
    "slack_home_how": frozenset({"command", "shortcut"}),
    "slack_open_dm": frozenset(),
    "slack_type_answer": frozenset(),
    "slack_dm_failed": frozenset({"scope"}),
    "slack_profile_edit": frozenset(),
    "slack_form_failed": frozenset({"button"}),
    "slack_profile_title": frozenset(),
    "slack_profile_submit": frozenset(),
    "slack_profile_close": frozenset(),
    "slack_profile_signature_hint": frozenset(),
    "slack_profile_timezone_hint": frozenset(),
    "slack_profile_wait_hint": frozenset({"min", "max"}),
    "slack_profile_colleagues_hint": frozenset({"max"}),
}
MAX_LEAD_SECTIONS = 5  # notices above a question: at most 15,000 characters
MAX_SAY_SECTIONS = 10
MAX_DRAFT = 3000
MAX_QUOTE = 1500
LEAD_TEXT = 900  # notices before a question, in the fallback text (which stays under 4,000)
HISTORY_ON_HOME = 10
# Entries of a history that get their next-step buttons (the newest that have any): a
# section and an actions block each. Twenty entries of both would still fit a message's 50
# blocks and the App Home's 100, but a wall of buttons is hard to read; older entries keep
# their status line, and their reminders bring their buttons back.
HISTORY_BUTTONED = 10


@dataclass(frozen=True, slots=True)
class Message:
    """What one chat.postMessage / chat.update / response carries."""

    text: str
    blocks: list[Block]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


class Drawer:
    """Draws for one questionnaire; ``owner`` (the Slack user id) goes into every id."""

    def __init__(self, q: Questionnaire) -> None:
        self.q = q

    def turn(
        self,
        actions: Sequence[Action],
        owner: str,
        lang: str,
        *,
        lead: Sequence[Block] = (),
        lead_text: str = "",
    ) -> list[Message]:
        """One message per question or result, the notices before each folded into it;
        ``lead`` blocks (a quoted request) open the first message."""
        trimmed = self.q.ui(lang, "trimmed")
        messages: list[Message] = []
        notes: list[str] = []
        blocks: list[Block] = list(lead)
        texts: list[str] = [lead_text] if lead_text else []
        for action in actions:
            if isinstance(action, Say):
                notes.append(action.text)
                if action.kind is Notice.HELP:  # and where the pages are, on Slack
                    notes.append(self._commands(lang))
                continue
            blocks += _sections("\n\n".join(notes), trimmed, MAX_LEAD_SECTIONS)
            texts += notes
            drawn = (
                self.ask(action, owner) if isinstance(action, Ask) else self.result(action, owner)
            )
            messages.append(_with_lead(drawn, blocks, texts, trimmed))
            notes, blocks, texts = [], [], []
        if notes or blocks:
            blocks += _sections("\n\n".join(notes), trimmed, MAX_SAY_SECTIONS)
            text = md.fit("\n\n".join([*texts, *notes]), md.MESSAGE_TEXT, trimmed)
            messages.append(Message(text, blocks))
        return messages

    def ask(self, ask: Ask, owner: str) -> Message:
        q, lang = self.q, ask.lang
        trimmed = q.ui(lang, "trimmed")
        blocks: list[Block] = []
        if ask.progress is not None:
            blocks.append(_context(md.fit(ask.progress.label, md.CONTEXT_TEXT, trimmed)))
        blocks.append(_section("*" + md.fit(ask.text, md.SECTION_TEXT - 2, trimmed) + "*"))
        if ask.hint:  # may name the client (the journal's line): plain text, never formatting
            blocks.append(_context_plain(md.fit(ask.hint, md.CONTEXT_TEXT, trimmed, mrkdwn=False)))
        if ask.previous:  # what was typed before: plain text, never formatting
            previous = q.ui(lang, "answered", answer=ask.previous)
            blocks.append(_context_plain(md.fit(previous, md.CONTEXT_TEXT, trimmed, mrkdwn=False)))
        if any(c.kind is ControlKind.TYPE for c in ask.controls) and ask.input == "text":
            blocks.append(_context(md.escape(q.ui(lang, "slack_type_answer"))))
        blocks += self.controls(ask.controls, owner, lang)
        label = f"{ask.progress.label} — " if ask.progress else ""
        return Message(md.fit(label + ask.text, md.MESSAGE_TEXT, trimmed), blocks)

    def result(self, result: Result, owner: str) -> Message:
        trimmed = self.q.ui(result.lang, "trimmed")
        blocks: list[Block] = [_header(result.title)]
        if result.why:
            blocks.append(_section(md.fit(result.why, md.SECTION_TEXT, trimmed)))
        if result.draft is not None:
            blocks.append(_context(md.escape(result.heading)))
            draft = md.fit(result.draft, MAX_DRAFT, trimmed, mrkdwn=False)
            blocks.append(_rich("rich_text_preformatted", draft))
        else:
            blocks.append(_section("*" + md.escape(result.heading) + "*"))
        blocks.append(_section(md.fit(result.advice, md.SECTION_TEXT, trimmed)))
        blocks += self.controls(result.controls, owner, result.lang)
        body = result.draft if result.draft is not None else result.heading
        text = "\n\n".join(part for part in (result.title, result.why, body) if part)
        return Message(md.fit(text, md.MESSAGE_TEXT, trimmed), blocks)

    def controls(
        self, shown: Iterable[Control], owner: str, lang: str, *, tag: str | None = None
    ) -> list[Block]:
        """One actions block per row, in the rows' order; the block id carries the language
        (for telling someone else, in the owner's language, that the buttons are not
        theirs) and ``tag`` when one message holds several blocks of a row (a history's
        entries): Slack refuses a message whose block ids repeat."""
        rows: list[Block] = []
        for row, group in groupby(sorted(shown, key=lambda c: c.row), key=lambda c: c.row):
            elements = [e for c in group if (e := _element(c, owner)) is not None]
            if elements:
                block_id = f"sit:{lang}:{int(row)}" + (f":{tag}" if tag else "")
                rows.append(
                    {
                        "type": "actions",
                        "block_id": block_id,
                        "elements": elements[: md.ACTIONS_ELEMENTS],
                    }
                )
        return rows

    def next_steps(
        self,
        message: dict[str, Any],
        ref: int,
        shown: Sequence[Control],
        owner: str,
        lang: str,
        note: str | None = None,
    ) -> Message | None:
        """A message that offered next steps on entry ``ref`` (a result, a reminder), with
        those buttons replaced by ``shown`` (the steps open now) and every other button as
        it was; when none is left, ``note`` (what was answered) where they were. None when
        the message holds no button of that entry."""
        kept: list[Block] = []
        at: int | None = None
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                kept.append(block)
                continue
            elements = [e for e in block.get("elements") or [] if not _steps_of(e, ref)]
            if len(elements) < len(block.get("elements") or []):
                at = len(kept) if at is None else at
                if elements:
                    kept.append({**block, "elements": elements})
            else:
                kept.append(block)
        if at is None:
            return None
        trimmed = self.q.ui(lang, "trimmed")
        if shown:
            kept[at:at] = self.controls(shown, owner, lang, tag=str(ref))
        elif note:  # it echoes a button's label: plain text
            kept.insert(at, _context_plain(md.fit(note, md.CONTEXT_TEXT, trimmed, mrkdwn=False)))
        return Message(str(message.get("text") or note or ""), kept[: md.MESSAGE_BLOCKS])

    def frozen(self, message: dict[str, Any], note: str | None, lang: str) -> Message:
        """A clicked message with its buttons gone and ``note`` below it."""
        blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        if note:  # it echoes what was typed: plain text, so `_it_` is not drawn as italics
            blocks.append(
                _context_plain(
                    md.fit(note, md.CONTEXT_TEXT, self.q.ui(lang, "trimmed"), mrkdwn=False)
                )
            )
        return Message(str(message.get("text") or note or ""), blocks[: md.MESSAGE_BLOCKS])

    def request_quote(self, lang: str, request: str) -> tuple[list[Block], str]:
        """Blocks quoting the client's request above the first question, and their text."""
        marker = "\x00"  # the wording may place the request anywhere in its sentence
        before, _, after = self.q.ui(lang, "request_quoted", request=marker).partition(marker)
        # Cleaned: a bidi override or zero-width character would disguise the quote.
        quoted = md.fit(clean_lines(request), MAX_QUOTE, self.q.ui(lang, "trimmed"), mrkdwn=False)
        elements: list[Block] = []
        if before.strip():
            elements.append(_rich_part("rich_text_section", before.strip()))
        elements.append(_rich_part("rich_text_quote", quoted))
        if after.strip():
            elements.append(_rich_part("rich_text_section", after.strip()))
        return [{"type": "rich_text", "elements": elements}], f"{before}{quoted}{after}"

    # --- messages outside the conversation ----------------------------------------

    def notice(self, text: str, lang: str) -> Message:
        trimmed = self.q.ui(lang, "trimmed")
        return Message(
            md.fit(text, md.MESSAGE_TEXT, trimmed), _sections(text, trimmed, MAX_SAY_SECTIONS)
        )

    def help(self, lang: str) -> Message:
        message = self.notice(self.q.ui(lang, "help"), lang)
        return Message(message.text, [*message.blocks, _section(md.escape(self._commands(lang)))])

    def _commands(self, lang: str) -> str:
        return self.q.ui(lang, "slack_help_commands", command=COMMAND, shortcut=SHORTCUT_NAME)

    def history(
        self, lang: str, owner: str, decisions: Sequence[Decision], now: datetime
    ) -> Message:
        """The user's decisions, each with where it stands and its next steps."""
        title = self.q.ui(lang, "history_title")
        blocks = [_header(title), *self._history(lang, owner, decisions, now)]
        return Message(md.escape(title), blocks[: md.MESSAGE_BLOCKS])

    def continue_in_dm(self, lang: str, link: str) -> Message:
        """The ephemeral "let's continue in our DM", with a link straight to the DM."""
        text = md.escape(self.q.ui(lang, "continue_in_dm"))
        label = md.escape(self.q.ui(lang, "slack_open_dm")).replace("|", "¦")  # '|' ends a URL
        return Message(text, [_section(f"{text}\n<{link}|{label}>")])

    def forget_confirm(self, lang: str, owner: str, version: int) -> Message:
        text = md.escape(self.q.ui(lang, "forget_confirm"))
        buttons = controls.forget_controls(self.q, lang, version)
        return Message(text, [_section(text), *self.controls(buttons, owner, lang)])

    def home(
        self,
        lang: str,
        owner: str,
        decisions: Sequence[Decision],
        saved: UserProfile,
        now: datetime,
        notice: str | None = None,
    ) -> dict[str, Any]:
        """The App Home tab: what the bot does, how to start, the latest decisions, and the
        saved profile with a button that opens its form; ``notice`` (what went wrong on it)
        first."""
        q, trimmed = self.q, self.q.ui(lang, "trimmed")
        how = q.ui(lang, "slack_home_how", command=COMMAND, shortcut=SHORTCUT_NAME)
        said = [_section(md.fit(f"⚠️ {notice}", md.SECTION_TEXT, trimmed))] if notice else []
        blocks: list[Block] = [
            *said,
            _header(q.ui(lang, "slack_home_title")),
            *_sections(q.ui(lang, "home_intro"), trimmed, MAX_SAY_SECTIONS),
            _section(md.fit(how, md.SECTION_TEXT, trimmed)),
            *self.controls([controls.start_control(q, lang)], owner, lang),
            {"type": "divider"},
            _header(q.ui(lang, "history_title")),
            *self._history(lang, owner, decisions[:HISTORY_ON_HOME], now),
            {"type": "divider"},
            _header(profile.word(q, lang, "title")),
            # What the user typed, shown as typed: plain text, never formatting.
            {"type": "section", "text": _plain("\n".join(profile.lines(q, lang, saved)))},
            {
                "type": "actions",
                "block_id": "profile",
                "elements": [
                    {
                        "type": "button",
                        "action_id": PROFILE_EDIT,
                        "text": _plain(md.clip(q.ui(lang, "slack_profile_edit"), md.BUTTON_TEXT)),
                    }
                ],
            },
        ]
        return {"type": "home", "blocks": blocks[: md.HOME_BLOCKS]}

    def profile_form(self, lang: str, saved: UserProfile) -> dict[str, Any]:
        """The form that edits the whole profile (``views.open``); the language it is drawn
        in travels in ``private_metadata``, for the errors its submission may bring."""
        q = self.q
        not_set = _option(NOT_SET, profile.word(q, lang, "not_set"))
        tones = [_option(t, q.tone_label(lang, t)) for t in q.tones]
        languages = [_option(c, q.texts[c].name) for c in q.languages]
        blocks = [
            _input(
                q,
                lang,
                "signature",
                _text_input(saved.signature, max_length=profile.MAX_SIGNATURE),
                q.ui(lang, "slack_profile_signature_hint"),
            ),
            _input(q, lang, "tone", _select([not_set, *tones], saved.tone)),
            _input(q, lang, "lang", _select([not_set, *languages], saved.lang)),
            _input(
                q,
                lang,
                "tz",
                _text_input(saved.tz, placeholder="Europe/Paris"),
                q.ui(lang, "slack_profile_timezone_hint"),
            ),
            _input(
                q,
                lang,
                "wait",
                {
                    "type": "number_input",
                    "action_id": FORM_FIELD,
                    "is_decimal_allowed": False,
                    "min_value": str(profile.MIN_WAIT),
                    "max_value": str(profile.MAX_WAIT),
                    **({"initial_value": str(saved.wait)} if saved.wait else {}),
                },
                q.ui(lang, "slack_profile_wait_hint", min=profile.MIN_WAIT, max=profile.MAX_WAIT),
            ),
            _input(
                q,
                lang,
                "colleagues",
                _text_input(
                    "\n".join(saved.colleagues) or None,
                    multiline=True,
                    max_length=profile.MAX_COLLEAGUES * (profile.MAX_COLLEAGUE + 1) * 2,
                ),
                q.ui(lang, "slack_profile_colleagues_hint", max=profile.MAX_COLLEAGUES),
            ),
        ]
        return {
            "type": "modal",
            "callback_id": PROFILE_FORM,
            "private_metadata": lang,
            "title": _plain(md.clip(q.ui(lang, "slack_profile_title"), FORM_TITLE)),
            "submit": _plain(md.clip(q.ui(lang, "slack_profile_submit"), FORM_TITLE)),
            "close": _plain(md.clip(q.ui(lang, "slack_profile_close"), FORM_TITLE)),
            "blocks": blocks,
        }

    def _history(
        self, lang: str, owner: str, decisions: Sequence[Decision], now: datetime
    ) -> list[Block]:
        """A section per decision (where its request stands), and under it the buttons of
        its next steps (for the newest :data:`HISTORY_BUTTONED` that have any)."""
        if not decisions:
            return [_context(md.escape(self.q.ui(lang, "history_empty")))]
        trimmed = self.q.ui(lang, "trimmed")
        blocks: list[Block] = []
        buttoned = 0
        for n, decision in enumerate(decisions):
            line = decision_line(self.q, lang, decision, show=_one_line, now=now)
            blocks.append(_section(md.fit(line, md.SECTION_TEXT, trimmed)))
            if buttoned < HISTORY_BUTTONED:
                shown = followup.next_controls(self.q, decision, lang, now)
                if shown:
                    # Tagged by position: two entries could share a ref (one millisecond).
                    blocks += self.controls(shown, owner, lang, tag=f"h{n}")
                    buttoned += 1
        return blocks


# --- Block Kit pieces ---------------------------------------------------------------


def _element(control: Control, owner: str) -> Block | None:
    action_id = controls.encode(control, owner)
    if control.kind is ControlKind.TYPE:
        return None  # on Slack the answer is simply typed in the DM
    if control.kind is ControlKind.DATE:
        placeholder = _plain(md.clip(control.label, md.PLACEHOLDER_TEXT))
        return {"type": "datepicker", "action_id": action_id, "placeholder": placeholder}
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(md.clip(control.label, md.BUTTON_TEXT)),
    }
    if control.style is Style.DANGER:
        button["style"] = "danger"
    elif control.kind is ControlKind.START:
        button["style"] = "primary"
    return button


def _steps_of(element: Block, ref: int) -> bool:
    """Whether ``element`` is a next-step button of journal entry ``ref``."""
    found = controls.decode(str(element.get("action_id") or ""))
    return found is not None and found.kind is ControlKind.NEXT and found.version == ref


def _one_line(text: str) -> str:
    """A name inside a history line: on one line (escaped with the line, later)."""
    return " ".join(text.split())


def _with_lead(message: Message, lead: list[Block], texts: list[str], trimmed: str) -> Message:
    if not lead:
        return message
    # The question's own text (at most MESSAGE_TEXT) stays whole; what led to it is shortened.
    text = md.fit("\n\n".join(texts), LEAD_TEXT, trimmed) + "\n\n" + message.text
    return Message(text, [*lead, *message.blocks][: md.MESSAGE_BLOCKS])


def _sections(raw: str, trimmed: str, most: int) -> list[Block]:
    return [_section(piece) for piece in md.split(raw, md.SECTION_TEXT, most=most, note=trimmed)]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _context_plain(text: str) -> Block:
    return {"type": "context", "elements": [_plain(text)]}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(md.clip(text, md.HEADER_TEXT))}


def _rich_part(kind: str, text: str) -> Block:
    return {"type": kind, "elements": [{"type": "text", "text": text}]}


def _rich(kind: str, text: str) -> Block:
    return {"type": "rich_text", "elements": [_rich_part(kind, text)]}


def _input(
    q: Questionnaire, lang: str, field: profile.Field, element: Block, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": field,
        "optional": True,  # an empty field is "not set"
        "label": _plain(profile.label(q, lang, field)),
        "element": element,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(
    value: str | None,
    *,
    max_length: int | None = None,
    multiline: bool = False,
    placeholder: str | None = None,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": FORM_FIELD, "multiline": multiline}
    if value:
        element["initial_value"] = value
    if max_length is not None:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    return element


def _select(options: list[Block], current: str | None) -> Block:
    chosen = next((o for o in options if o["value"] == current), options[0])
    return {
        "type": "static_select",
        "action_id": FORM_FIELD,
        "options": options,
        "initial_option": chosen,
    }


def _option(value: str, label: str) -> Block:
    return {"text": _plain(md.clip(label, md.BUTTON_TEXT)), "value": value}


def _plain(text: str) -> dict[str, Any]:
    # emoji off: a ":smile:" someone typed stays as typed
    return {"type": "plain_text", "text": text, "emoji": False}
