"""Core actions rendered as Slack messages: Block Kit plus a top-level ``text`` fallback.

Rendering is generic: an :class:`~core.actions.Ask` becomes its question, hint and one
button per choice (a date picker for a date, a Skip button when optional) above a row of
Back / Start over / Cancel / Help; a :class:`~core.actions.Say` becomes a section; a
:class:`~core.actions.Result` becomes the outcome, the why, the draft and buttons to switch
tone or language or start over. Nothing here knows a question by name.

Every string Slack would parse as mrkdwn is escaped (:mod:`bots.slack.mrkdwn`) and every
text is held to Slack's limits, trimmed with the ``trimmed`` wording when it must be.

The draft goes in a ``rich_text_preformatted`` block: its ``text`` elements are shown
verbatim (no mrkdwn, emoji codes or mentions are interpreted, so nothing needs escaping
and what you copy is exactly the reply), line breaks are kept, and the box around it
shows at a glance what to select and copy, without the title or the advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bots.slack import mrkdwn as md
from bots.slack.ids import ActionRef, BlockRef, Kind
from core.actions import Action, Ask, Result, Say
from core.journal import decision_line
from core.ports import Decision
from core.questionnaire import SKIP, Questionnaire

Block = dict[str, Any]

COMMAND = "/should-i-take-it"
SHORTCUT_NAME = "Should I take it?"  # as in manifest.yaml, where Slack shows it
MAX_LEAD_SECTIONS = 5  # notices above a question: at most 15,000 characters
MAX_SAY_SECTIONS = 10
MAX_DRAFT = 3000
MAX_QUOTE = 1500
LEAD_TEXT = 900  # notices before a question, in the fallback text (which stays under 4,000)
HISTORY_ON_HOME = 10


@dataclass(frozen=True, slots=True)
class Message:
    """What one chat.postMessage / chat.update / response carries."""

    text: str
    blocks: list[Block]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


# --- a turn -------------------------------------------------------------------------


def render_turn(
    q: Questionnaire,
    actions: Sequence[Action],
    owner: str,
    *,
    lang: str,
    lead: Sequence[Block] = (),
    lead_text: str = "",
) -> list[Message]:
    """The messages for one turn's actions. Notices (``Say``) are folded into the
    question or result that follows them, so a re-prompt and its question arrive as one
    message; ``lead`` blocks (a quoted request) open the first message. ``lang`` is the
    conversation's language when no action says it (for the trimmed note)."""
    lang = next((a.lang for a in actions if isinstance(a, Ask | Result)), lang)
    messages: list[Message] = []
    notes: list[str] = []
    blocks: list[Block] = list(lead)
    texts: list[str] = [lead_text] if lead_text else []
    for action in actions:
        if isinstance(action, Say):
            notes.append(action.text)
            continue
        blocks += _sections("\n\n".join(notes), q.ui(lang, "trimmed"), MAX_LEAD_SECTIONS)
        texts += notes
        message = (
            render_ask(q, action, owner)
            if isinstance(action, Ask)
            else render_result(q, action, owner)
        )
        messages.append(_with_lead(message, blocks, texts, q.ui(lang, "trimmed")))
        notes, blocks, texts = [], [], []
    if notes or blocks:
        trimmed = q.ui(lang, "trimmed")
        blocks += _sections("\n\n".join(notes), trimmed, MAX_SAY_SECTIONS)
        messages.append(
            Message(md.fit("\n\n".join([*texts, *notes]), md.MESSAGE_TEXT, trimmed), blocks)
        )
    return messages


def render_ask(q: Questionnaire, ask: Ask, owner: str) -> Message:
    lang, trimmed = ask.lang, q.ui(ask.lang, "trimmed")
    blocks: list[Block] = []
    if ask.progress is not None:
        blocks.append(_context(md.fit(ask.progress.label, md.CONTEXT_TEXT, trimmed)))
    blocks.append(_section("*" + md.fit(ask.text, md.SECTION_TEXT - 2, trimmed) + "*"))
    if ask.hint:
        blocks.append(_context(md.fit(ask.hint, md.CONTEXT_TEXT, trimmed)))
    if ask.previous is not None:
        answered = q.ui(lang, "answered", answer=ask.previous)
        blocks.append(_context(md.fit(answered, md.CONTEXT_TEXT, trimmed)))
    if ask.input == "text":
        blocks.append(_context(md.escape(q.ui(lang, "slack_type_answer"))))

    def ref(kind: Kind, value: str = "") -> str:
        return ActionRef(kind, ask.question, ask.version, value).encode()

    answers: list[Block] = [_button(c.label, ref(Kind.ANSWER, c.id)) for c in ask.choices]
    if ask.input == "date":
        answers.insert(0, _datepicker(ref(Kind.DATE), q.ui(lang, "slack_date_placeholder")))
    if ask.optional and ask.input != "choice":  # choice questions list skip among the choices
        answers.append(_button(q.ui(lang, "skip"), ref(Kind.ANSWER, SKIP)))
    if answers:
        blocks.append(_actions(answers, BlockRef(owner, lang, 1)))
    navigation = [
        _button(q.ui(lang, "button_back"), ref(Kind.BACK)) if ask.can_go_back else None,
        _button(q.ui(lang, "button_restart"), ref(Kind.RESTART)),
        _button(q.ui(lang, "button_cancel"), ref(Kind.CANCEL)),
        _button(q.ui(lang, "button_help"), ref(Kind.HELP)),
    ]
    blocks.append(_actions([b for b in navigation if b], BlockRef(owner, lang, 2)))
    label = f"{ask.progress.label} — " if ask.progress else ""
    return Message(md.fit(label + ask.text, md.MESSAGE_TEXT, trimmed), blocks)


def render_result(q: Questionnaire, result: Result, owner: str) -> Message:
    lang, trimmed = result.lang, q.ui(result.lang, "trimmed")
    blocks: list[Block] = [_header(result.title)]
    if result.why:
        blocks.append(_section(md.fit(result.why, md.SECTION_TEXT, trimmed)))
    if result.draft is not None:
        about = f"{q.tone_label(lang, result.tone)}, {q.texts[lang].name}"
        blocks.append(_context(md.escape(f"{q.ui(lang, 'result_heading')} ({about})")))
        draft = md.fit(result.draft, MAX_DRAFT, trimmed, mrkdwn=False)
        blocks.append(
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_preformatted",
                        "elements": [{"type": "text", "text": draft}],
                    }
                ],
            }
        )
    else:
        blocks.append(_section("*" + md.escape(q.ui(lang, "no_draft_heading")) + "*"))
    blocks.append(_section(md.fit(result.advice, md.SECTION_TEXT, trimmed)))

    def ref(kind: Kind, value: str = "") -> str:
        return ActionRef(kind, "", result.version, value).encode()

    buttons: list[Block] = []
    if result.draft is not None:  # a tone only changes the draft
        switch = q.ui(lang, "switch_tone")
        buttons += [
            _button(f"{switch} {q.tone_label(lang, t)}", ref(Kind.TONE, t))
            for t in q.tones
            if t != result.tone
        ]
    buttons += [
        _button(q.ui(other, "switch_language"), ref(Kind.LANG, other))
        for other in q.languages
        if other != lang
    ]
    buttons.append(_button(q.ui(lang, "button_back"), ref(Kind.BACK)))
    buttons.append(_button(q.ui(lang, "button_restart"), ref(Kind.RESTART)))
    blocks.append(_actions(buttons, BlockRef(owner, lang, 1)))
    body = result.draft if result.draft is not None else q.ui(lang, "no_draft_heading")
    text = "\n\n".join(part for part in (result.title, result.why, body) if part)
    return Message(md.fit(text, md.MESSAGE_TEXT, trimmed), blocks)


def render_frozen(message: dict[str, Any], note: str | None) -> Message:
    """A clicked message with its buttons gone, and ``note`` (already mrkdwn) below it,
    so old buttons cannot be clicked again and the thread shows what was answered."""
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    if note:
        blocks.append(_context(note))
    return Message(str(message.get("text") or note or ""), blocks[: md.MESSAGE_BLOCKS])


def answered_note(q: Questionnaire, lang: str, label: str) -> str:
    return md.fit(q.ui(lang, "answered", answer=label), md.CONTEXT_TEXT, q.ui(lang, "trimmed"))


def request_quote(q: Questionnaire, lang: str, request: str) -> tuple[list[Block], str]:
    """Blocks quoting the client's request above the first question, and their text.

    Rich text again: the quote shows the request verbatim whatever it contains."""
    trimmed = q.ui(lang, "trimmed")
    marker = "\x00"  # the wording may place the request anywhere in its sentence
    before, _, after = q.ui(lang, "request_quoted", request=marker).partition(marker)
    quoted = md.fit(request, MAX_QUOTE, trimmed, mrkdwn=False)
    elements: list[Block] = []
    if before.strip():
        elements.append(_rich_section(before.strip()))
    elements.append({"type": "rich_text_quote", "elements": [{"type": "text", "text": quoted}]})
    if after.strip():
        elements.append(_rich_section(after.strip()))
    return [{"type": "rich_text", "elements": elements}], f"{before}{quoted}{after}"


# --- messages outside the conversation ----------------------------------------------


def render_notice(text: str, *, trimmed: str = "") -> Message:
    return Message(
        md.fit(text, md.MESSAGE_TEXT, trimmed),
        _sections(text, trimmed, MAX_SAY_SECTIONS),
    )


def render_help(q: Questionnaire, lang: str) -> Message:
    commands = q.ui(lang, "slack_help_commands", command=COMMAND, shortcut=SHORTCUT_NAME)
    trimmed = q.ui(lang, "trimmed")
    blocks = [
        *_sections(q.ui(lang, "help"), trimmed, MAX_SAY_SECTIONS),
        _section(md.escape(commands)),
    ]
    return Message(md.fit(q.ui(lang, "help"), md.MESSAGE_TEXT, trimmed), blocks)


def render_history(q: Questionnaire, lang: str, decisions: Sequence[Decision]) -> Message:
    return Message(md.escape(q.ui(lang, "history_title")), _history_blocks(q, lang, decisions))


def render_continue(q: Questionnaire, lang: str, link: str) -> Message:
    """The ephemeral "let's continue in our DM" answer, with a link straight to the DM."""
    text = md.escape(q.ui(lang, "continue_in_dm"))
    label = md.escape(q.ui(lang, "slack_open_dm")).replace("|", "¦")  # '|' ends a link's URL
    return Message(text, [_section(f"{text}\n<{link}|{label}>")])


def render_forget_confirm(q: Questionnaire, lang: str, owner: str) -> Message:
    text = md.escape(q.ui(lang, "slack_forget_confirm"))
    buttons = [
        _button(q.ui(lang, "slack_forget_button"), ActionRef(Kind.FORGET).encode(), style="danger"),
        _button(q.ui(lang, "slack_keep_button"), ActionRef(Kind.KEEP).encode()),
    ]
    return Message(text, [_section(text), _actions(buttons, BlockRef(owner, lang, 1))])


def render_home(
    q: Questionnaire, lang: str, owner: str, decisions: Sequence[Decision]
) -> dict[str, Any]:
    """The App Home tab: what the bot does, how to start, the latest decisions."""
    trimmed = q.ui(lang, "trimmed")
    how = q.ui(lang, "slack_home_how", command=COMMAND, shortcut=SHORTCUT_NAME)
    start = _button(
        q.ui(lang, "slack_start_button"), ActionRef(Kind.START).encode(), style="primary"
    )
    blocks: list[Block] = [
        _header(q.ui(lang, "slack_home_title")),
        *_sections(q.ui(lang, "home_intro"), trimmed, MAX_SAY_SECTIONS),
        _section(md.fit(how, md.SECTION_TEXT, trimmed)),
        _actions([start], BlockRef(owner, lang, 1)),
        {"type": "divider"},
        _header(q.ui(lang, "history_title")),
        *_history_blocks(q, lang, decisions[:HISTORY_ON_HOME]),
    ]
    return {"type": "home", "blocks": blocks[: md.HOME_BLOCKS]}


def _history_blocks(q: Questionnaire, lang: str, decisions: Sequence[Decision]) -> list[Block]:
    if not decisions:
        return [_context(md.escape(q.ui(lang, "history_empty")))]
    lines = []
    for d in decisions:
        lines.append("• " + decision_line(q, lang, d))
    return _sections("\n".join(lines), q.ui(lang, "trimmed"), MAX_SAY_SECTIONS)


# --- Block Kit pieces ---------------------------------------------------------------


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


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(md.clip(text, md.HEADER_TEXT))}


def _rich_section(text: str) -> Block:
    return {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}


def _actions(elements: Iterable[Block], ref: BlockRef) -> Block:
    return {"type": "actions", "block_id": ref.encode(), "elements": list(elements)}


def _button(label: str, action_id: str, *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(md.clip(label, md.BUTTON_TEXT)),
    }
    if style:
        button["style"] = style
    return button


def _datepicker(action_id: str, placeholder: str) -> Block:
    return {
        "type": "datepicker",
        "action_id": action_id,
        "placeholder": _plain(md.clip(placeholder, md.PLACEHOLDER_TEXT)),
    }


def _plain(text: str) -> dict[str, Any]:
    # emoji off: a ":smile:" someone typed stays as typed
    return {"type": "plain_text", "text": text, "emoji": False}
