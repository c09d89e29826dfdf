"""The conversation engine: ``step(questionnaire, state, event) -> (state, actions)``.

Theory of operation
-------------------
* The engine is pure. It reads no clock (events carry ``today``), does no I/O, and never
  raises for anything a person types: a bad answer is a re-prompt (``Say`` + ``Ask``).
* ``state`` is ``None`` when the user has no conversation. ``state.step`` is the open
  question while ``status == "active"``; ``history`` is the path of answered questions
  that led to it, so *back* pops it. When ``status == "done"`` the last answered question
  is the tail of ``history`` and ``outcome`` is set.
* Every transition that changes the state returns a new state with ``version + 1``; an
  event that changes nothing (help, a stale click, a re-prompt) returns the same object,
  so the session layer knows there is nothing to save.
* Branch conditions and reply templates only see answers on the current path: answers
  left behind by *back* are kept (to show "previously: ...") but never decide anything.
* Where to go next is data (``prompts/flow.yaml``); the handlers below only know the kinds
  of event, never a question by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, assert_never

from core import journal, money, names, templates
from core.actions import (
    Action,
    Ask,
    Choice,
    Control,
    ControlKind,
    Notice,
    Progress,
    Result,
    Row,
    Say,
    Style,
)
from core.dates import MAX_YEARS_AHEAD, format_date, parse_date, too_far
from core.events import (
    Answer,
    Back,
    Cancel,
    ChangeLanguage,
    ChangeTone,
    Event,
    Help,
    Restart,
    Start,
)
from core.ports import Decision
from core.questionnaire import SKIP, Questionnaire, Target
from core.state import ConversationState, path_answers
from core.text import clean, fold, french_typography, strip_trailing

State = ConversationState | None
Step = tuple[State, list[Action]]

RESUME = "resume"
RESUME_CHOICES = ("continue", "start_over")
# The state's context key holding the colleagues the user saved (one per line), offered at
# the question flagged ``colleagues: true`` as the choices "saved1", "saved2", ...
SAVED_COLLEAGUES = "colleagues"
SAVED = "saved"


def step(q: Questionnaire, state: State, event: Event) -> Step:
    """Apply one event; see the module docstring for the rules."""
    match event:
        case Start():
            return _start(q, state, event)
        case Answer():
            return _answer(q, state, event)
        case Back():
            return _back(q, state, event)
        case Restart():
            return _restart(q, state, event)
        case Cancel():
            return _cancel(q, state, event)
        case ChangeLanguage():
            return _change_language(q, state, event)
        case ChangeTone():
            return _change_tone(q, state, event)
        case Help():
            return _help(q, state, event)
        case _:
            assert_never(event)


# --- events -------------------------------------------------------------------------


def _start(q: Questionnaire, state: State, event: Start) -> Step:
    resuming = state is not None and state.status == "active" and not event.fresh
    # A conversation under way keeps its language; a new one speaks the platform's (or the
    # system's) language, else the last conversation's, else the first.
    last = state.lang if state else q.languages[0]
    default = last if resuming else _pick(locale_lang(event.locale), q.languages, last)
    tone_default = state.tone if state else q.default_tone
    saved = event.profile
    if saved is not None and not resuming:
        # What the user saved beats the platform's guess and the last conversation's choice;
        # a conversation under way keeps its own.
        default = _pick(saved.lang, q.languages, default)
        tone_default = _pick(saved.tone, q.tones, tone_default)
    lang = _pick(event.lang, q.languages, default)
    tone = _pick(event.tone, q.tones, tone_default)
    context = _context(q, event)
    if state is not None and resuming:
        changed: dict[str, Any] = {}
        if (lang, tone) != (state.lang, state.tone):
            changed.update(lang=lang, tone=tone)
        if state.history or state.pending:
            # Something is under way: ask rather than throw the answers away. A new request
            # waits for the answer, and replaces the old one if the user starts over.
            incoming = context if _brings_news(context, state.context) else {}
            if state.pending != RESUME or changed or incoming != state.incoming:
                state = state.bump(pending=RESUME, incoming=incoming, **changed)
            return state, [_ask_resume(q, state)]
        if _brings_news(context, state.context):
            changed["context"] = context
        state = state.bump(**changed) if changed else state
        return _enter(q, state, state.step)
    version = state.version if state is not None else 0
    fresh = ConversationState(lang=lang, tone=tone, step=q.start, version=version, context=context)
    return _enter(q, fresh.bump(), q.start)


def _context(q: Questionnaire, event: Start) -> dict[str, str]:
    saved = event.profile
    signature = (saved.signature if saved else None) or event.signature
    given = {"client": event.client, "request": event.request, "signature": signature}
    # Context comes from the platform (a quoted message can be long): clean and bound it; a
    # name or a signature as a typed answer is.
    bounds = {"request": q.max_text * 4}
    context = {
        k: text for k, v in given.items() if v and (text := clean(v)[: bounds.get(k, q.max_text)])
    }
    region = _locale_region(event.locale)
    if region:
        context["locale"] = region  # how dates are written: en_GB "15 March", en_US "March 15"
    # When follow-up reminders are due (core.followup): a stated time zone beats the
    # platform's; the saved wait before "did they answer?" travels with it.
    zone = (saved.tz if saved is not None else None) or event.tz
    if zone and len(zone) <= 64:
        context["tz"] = zone
    if saved is not None and saved.wait is not None:
        context["wait"] = str(saved.wait)
    if saved is not None and saved.colleagues:
        # Checked when saved (short, one line each): joined by the one thing they cannot hold.
        context[SAVED_COLLEAGUES] = "\n".join(saved.colleagues)
    return context


def locale_lang(locale: str | None) -> str | None:
    """ "fr", "fr-FR", "en_GB.UTF-8" → the language part, lowercased."""
    if not locale:
        return None
    return locale.replace("-", "_").split(".")[0].split("_")[0].lower()


def _locale_region(locale: str | None) -> str | None:
    """ "en-GB", "en_US.UTF-8" → "en_GB", "en_US"; None without a region."""
    if not locale:
        return None
    parts = locale.replace("-", "_").split(".")[0].split("_")
    if len(parts) < 2 or not parts[0].isalpha() or not parts[1].isalpha() or len(parts[1]) != 2:
        return None
    return f"{parts[0].lower()}_{parts[1].upper()}"


def _date_locale(state: ConversationState) -> str:
    """The locale dates are read and written in: the user's region when it speaks the
    conversation's language, else the language alone."""
    region = state.context.get("locale", "")
    return region if region.split("_")[0] == state.lang else state.lang


def _brings_news(context: dict[str, str], current: dict[str, str]) -> bool:
    """Whether a start names a different client or request than the open conversation."""
    return any(context.get(k) and context.get(k) != current.get(k) for k in ("client", "request"))


def opens_conversation(q: Questionnaire, state: State, event: Answer) -> bool:
    """Whether :func:`step` starts a conversation for ``event``: typed (not clicked), not a
    command word (unless quoted), with no conversation under way or decided."""
    if event.question is not None:
        return False
    text = clean(event.text)
    if _unquoted(text) is None and _typed_command(q, state, text) is not None:
        return False
    return state is None or state.status not in ("active", "done")


def _answer(q: Questionnaire, state: State, event: Answer) -> Step:
    text = clean(event.text)
    literal = _unquoted(text) if event.question is None else None
    if literal is not None:
        # A quoted answer is taken as written: a client really called "Back" is possible.
        text = literal
    elif event.question is None:
        routed = _typed_command(q, state, text)
        if routed is not None:
            return step(q, state, routed)
    if state is None or state.status != "active":
        if event.question is not None:
            # A late click on a finished conversation (often the second of a double click
            # on its last answer) changed nothing; with no conversation at all, it ended.
            text = q.ui(_lang(q, state), "ended" if state is None else "stale")
            return state, [Say(text, Notice.STALE)]
        if state is not None and state.status == "done":
            # Only restart (or a new command) starts over: a typo of a tone word or a date
            # typed too late must not silently throw the result away.
            return state, [Say(_after_result(q, state.lang, text), Notice.REPROMPT)]
        # Writing to the bot with nothing open starts a conversation.
        start = Start(
            today=event.today,
            fresh=True,
            locale=event.locale,
            signature=event.signature,
            tz=event.tz,
            profile=event.profile,
        )
        return _start(q, state, start)
    if state.pending == RESUME:
        return _answer_resume(q, state, event, text)
    if _stale(state, event.question, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]

    question = q.questions[state.step]
    lang = state.lang
    if len(text) > q.max_text:
        return _reprompt(q, state, q.ui(lang, "too_long", length=len(text), max=q.max_text))
    if question.optional and (text == SKIP or q.command_for(fold(text)) == "skip"):
        return _record(q, state, SKIP)
    kept = state.answers.get(state.step)
    if not text and kept is not None and kept != SKIP:
        # Back here, Enter keeps the answer shown: checked again as if typed (a date kept
        # may have passed since, a choice may be offered no longer).
        text = kept
    if question.input == "choice":
        offered = _offered(q, state)
        choice = _match_choice(
            q, offered + ((SKIP,) if question.optional else ()), state.step, text
        )
        if choice is None:
            return _reprompt(q, state, q.ui(lang, "choose"))
        return _record(q, state, choice)
    picked = _saved_pick(state, event.question, text) if question.colleagues else None
    if picked is not None and literal is None:
        return _record(q, state, picked)
    if not text:
        hint = q.ui(lang, "skip_hint") if question.optional else ""
        return _reprompt(q, state, f"{q.ui(lang, 'empty')} {hint}".strip())
    if question.input == "date":
        when = parse_date(text, today=event.today, lang=lang, locale=_date_locale(state))
        if when is None:
            return _reprompt(q, state, q.ui(lang, "bad_date"))
        if too_far(when, event.today):
            shown = format_date(when, _date_locale(state))
            return _reprompt(q, state, q.ui(lang, "far_date", date=shown, years=MAX_YEARS_AHEAD))
        if when <= event.today:
            # A free-from date or a deadline of today says nothing: it must be after today.
            shown = format_date(when, _date_locale(state))
            return _reprompt(q, state, q.ui(lang, "past_date", date=shown))
        return _record(q, state, when.isoformat())
    if question.name and _unquoted(clean(event.text)) is None and _doubtful_name(q, text):
        return _reprompt(q, state, q.ui(lang, "name_doubt", answer=text))
    if question.money:
        if money.no_fee(text, lang):
            return _reprompt(q, state, q.ui(lang, "bad_fee"))
        text = money.canonical(text, lang)  # read in the language it was typed in
    return _record(q, state, text)


def _saved_pick(state: ConversationState, question: str | None, text: str) -> str | None:
    """The saved colleague an answer picks: a button's "savedN", or N typed; None when the
    answer is anything else (a name typed is taken as typed)."""
    saved = _saved_colleagues(state)
    if not saved:
        return None
    if question is not None and text.startswith(SAVED):
        text = text.removeprefix(SAVED)
    elif question is not None:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 2 and 1 <= int(text) <= len(saved):
        return saved[int(text) - 1]
    return None


def _saved_colleagues(state: ConversationState) -> tuple[str, ...]:
    """The colleagues the user had saved when this conversation started."""
    held = state.context.get(SAVED_COLLEAGUES, "")
    return tuple(n for n in held.split("\n") if n)


def _offered(q: Questionnaire, state: ConversationState) -> tuple[str, ...]:
    question = q.questions[state.step]
    return question.visible_choices(state.path_answers)


def _doubtful_name(q: Questionnaire, text: str) -> bool:
    """A command, a tone, a language, yes/no or a bare number is more likely a slip than a name."""
    key = fold(text)
    if not key or q.command_for(key) is not None or key in _language_words(q):
        return True
    if tone_code(q, text) is not None or key.replace(" ", "").isdigit():
        return True
    return key in _yes_no_words(q)


def _yes_no_words(q: Questionnaire) -> set[str]:
    words = {"yes", "no"}
    for qid, question in q.questions.items():
        for cid in set(question.choices) & {"yes", "no"}:
            for lang in q.languages:
                label = fold(q.choice_label(lang, qid, cid))
                words.add(label.split(" ")[0] if label else cid)
    return words


def _after_result(q: Questionnaire, lang: str, text: str) -> str:
    commands = q.ui_map(lang, "commands")
    words = [
        *(q.tone_label(lang, t).lower() for t in q.tones),
        *q.languages,
        str(commands["back"][0]),
        str(commands["restart"][0]),
        str(commands["help"][0]),
    ]
    quote = q.ui_map(lang, "quotes")
    options = ", ".join(f"{quote['open']}{w}{quote['close']}" for w in words)
    return q.ui(lang, "after_result_unknown", answer=text[:40], options=options)


def _back(q: Questionnaire, state: State, event: Back) -> Step:
    if state is None or state.status == "cancelled":
        return state, [Say(q.ui(_lang(q, state), "nothing_open"), Notice.NOTICE)]
    if _stale(state, event.question, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    if not state.history:
        return state, [Say(q.ui(state.lang, "no_previous"), Notice.REPROMPT), _ask(q, state)]
    previous = state.history[-1]
    state = state.bump(
        step=previous,
        history=state.history[:-1],
        status="active",
        outcome=None,
        pending=None,
        incoming={},
    )
    return state, [_ask(q, state)]


def _restart(q: Questionnaire, state: State, event: Restart) -> Step:
    if state is None:
        return _start(q, state, Start())
    if _stale(state, None, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    # A start that brought a new request and is waiting on "continue or start over?"
    # starts over on that request.
    # What the journal said is left behind: this conversation may have added to it since.
    context = {
        k: v for k, v in (state.incoming or state.context).items() if k != journal.CONTEXT_KEY
    }
    fresh = ConversationState(
        lang=state.lang, tone=state.tone, step=q.start, version=state.version, context=context
    )
    restarted, actions = _enter(q, fresh.bump(), q.start)
    return restarted, [Say(q.ui(fresh.lang, "restarted"), Notice.NOTICE), *actions]


def _cancel(q: Questionnaire, state: State, event: Cancel) -> Step:
    if state is not None and _stale(state, None, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    if state is None or state.status != "active":
        return state, [Say(q.ui(_lang(q, state), "nothing_to_cancel"), Notice.NOTICE)]
    state = state.bump(status="cancelled", pending=None, incoming={})
    return state, [Say(q.ui(state.lang, "cancelled"), Notice.CANCELLED)]


def _stale(state: ConversationState, question: str | None, version: int | None) -> bool:
    """Whether a button shown for ``question`` at ``version`` no longer fits the conversation."""
    if version is not None and version != state.version:
        return True
    return question is not None and (state.status != "active" or question != state.step)


def _change_language(q: Questionnaire, state: State, event: ChangeLanguage) -> Step:
    lang = _lang(q, state)
    wanted = language_code(q, event.lang)
    if wanted is None:
        options = ", ".join(q.languages)
        return state, [
            Say(q.ui(lang, "unknown_language", lang=event.lang, options=options), Notice.REPROMPT)
        ]
    if state is None:
        return state, [Say(q.ui(wanted, "language_changed"), Notice.NOTICE)]
    if _stale(state, None, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    if wanted != state.lang:
        state = state.bump(lang=wanted)
    return state, [Say(q.ui(wanted, "language_changed"), Notice.NOTICE), *_current(q, state)]


def _change_tone(q: Questionnaire, state: State, event: ChangeTone) -> Step:
    lang = _lang(q, state)
    wanted = tone_code(q, event.tone)
    if wanted is None:
        options = ", ".join(q.tone_label(lang, t) for t in q.tones)
        return state, [
            Say(q.ui(lang, "unknown_tone", tone=event.tone, options=options), Notice.REPROMPT)
        ]
    changed = q.ui(lang, "tone_changed", tone=q.tone_label(lang, wanted))
    if state is None:
        return state, [Say(changed, Notice.NOTICE)]
    if _stale(state, None, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    if wanted != state.tone:
        state = state.bump(tone=wanted)
    if state.status == "done":
        return state, [_result(q, state)]
    return state, [Say(changed, Notice.NOTICE), *_current(q, state)]


def _help(q: Questionnaire, state: State, event: Help) -> Step:
    lang = _lang(q, state)
    if state is not None and state.status == "done":
        return state, [Say(q.ui(lang, "help_result"), Notice.HELP)]
    return state, [Say(q.ui(lang, "help"), Notice.HELP), *_current(q, state)]


# --- moving through the flow --------------------------------------------------------


def _record(q: Questionnaire, state: ConversationState, answer: str) -> Step:
    question = q.questions[state.step]
    answers = {**state.answers, state.step: answer}
    history = (*state.history, state.step)
    path = path_answers(history, answers)
    target = _first_applicable(question.branch(answer), path)
    if target.kind == "outcome":
        done = state.bump(
            answers=answers, history=history, status="done", outcome=target.id, decided=True
        )
        return done, [_result(q, done)]
    # One copy of the state per step: it moves to the next question at once.
    return _enter(q, state.bump(answers=answers, history=history, step=target.id), target.id)


def _enter(q: Questionnaire, state: ConversationState, qid: str) -> Step:
    """Open question ``qid``, passing over questions whose answer the start already gave."""
    question = q.questions[qid]
    if question.skip_if_known and state.context.get(qid):
        target = _first_applicable(question.branch("*"), state.path_answers)
        if (
            target.kind == "outcome"
        ):  # pragma: no cover - flow.yaml never ends on a context question
            done = state.evolve(step=qid, status="done", outcome=target.id)
            return done, [_result(q, done)]
        return _enter(q, state, target.id)
    if state.step != qid:
        state = state.evolve(step=qid)
    return state, [_ask(q, state)]


def is_consistent(q: Questionnaire, state: ConversationState) -> bool:
    """Whether a stored state still fits the questionnaire (a step may have been removed or
    renamed in ``prompts/`` since it was saved)."""
    if state.lang not in q.languages or state.tone not in q.tones:
        return False
    if any(qid not in q.questions for qid in (state.step, *state.history)):
        return False
    if state.status == "done" and (state.outcome not in q.outcomes or not state.history):
        return False
    if state.pending not in (None, RESUME):
        return False
    for qid, value in state.path_answers.items():
        question = q.questions[qid]
        if question.input == "choice" and value not in (*question.choices, SKIP):
            return False
        if question.input == "date" and value != SKIP:
            try:
                date.fromisoformat(value)
            except ValueError:
                return False
    return _follows_the_flow(q, state)


def _follows_the_flow(q: Questionnaire, state: ConversationState) -> bool:
    """Whether the answered path is one the flow would take today. A conversation saved
    before the flow changed (say, before triage came first) could otherwise reach a draft
    by a path the flow no longer has."""
    answers: dict[str, str] = {}
    expected: str | None = q.start
    reached: str | None = None
    for qid in (*state.history, None):
        # Questions the start's context answered are passed over, as _enter does.
        while expected is not None and expected != qid:
            question = q.questions[expected]
            if not (question.skip_if_known and state.context.get(expected)):
                break
            target = _first_applicable(question.branch("*"), answers)
            expected, reached = (target.id, None) if target.kind == "ask" else (None, target.id)
        if qid is None:
            break
        if qid != expected or qid not in state.answers:
            return False
        answers[qid] = state.answers[qid]
        target = _first_applicable(q.questions[qid].branch(answers[qid]), answers)
        expected, reached = (target.id, None) if target.kind == "ask" else (None, target.id)
    if state.status == "done":
        return expected is None and reached == state.outcome
    return expected is not None and (state.status == "cancelled" or expected == state.step)


def _first_applicable(branch: tuple[Target, ...], answers: dict[str, str]) -> Target:
    # The loader guarantees the last target has no condition, so this always finds one.
    return next(t for t in branch if t.applies(answers))


# --- rendering actions --------------------------------------------------------------


def _ask(q: Questionnaire, state: ConversationState) -> Ask:
    qid, lang = state.step, state.lang
    question = q.questions[qid]
    offered = _offered(q, state)
    # What a question shows depends on little but its id, language and choices on offer:
    # built once, then only the version (and any previous answer) changes per turn.
    key = ("ask", qid, lang, offered, bool(state.history))
    static = q.memo.get(key)
    if static is None:
        static = q.memo[key] = _ask_parts(q, qid, lang, offered, bool(state.history))
    choices, hint, shown_controls = static
    if question.colleagues and (saved := _saved_colleagues(state)):
        # The user's own colleagues: per user, so built here, never memoised.
        choices, shown_controls = _with_saved(q, qid, lang, saved, shown_controls)
    if question.journal:  # what the user's journal says about this client, if anything
        hint = " ".join(h for h in (_journal_line(q, state), hint) if h)
    previous = state.answers.get(qid)
    version = state.version
    return Ask(
        question=qid,
        text=q.question_text(lang, qid),
        choices=choices,
        input=question.input,
        progress=_progress(q, state),
        optional=question.optional,
        lang=lang,
        version=version,
        can_go_back=bool(state.history),
        hint=hint,
        previous=None if previous is None else _show_answer(q, state, qid, previous),
        controls=tuple(
            Control(c.kind, c.label, c.question, version, c.value, c.style, c.row, c.word)
            for c in shown_controls
        ),
    )


def _ask_parts(
    q: Questionnaire, qid: str, lang: str, offered: tuple[str, ...], can_go_back: bool
) -> tuple[tuple[Choice, ...], str, tuple[Control, ...]]:
    """A question's choices, hint and controls (at version 0)."""
    question = q.questions[qid]
    ids = offered + ((SKIP,) if question.optional and question.input == "choice" else ())
    choices = tuple(Choice(c, q.choice_label(lang, qid, c)) for c in ids)
    hints = [q.question_hint(lang, qid)]
    if question.input == "date":
        hints.append(q.ui(lang, "date_hint"))
    answers = [
        _control(q, lang, ControlKind.ANSWER, c.label, qid, 0, c.id, str(i))
        for i, c in enumerate(choices, 1)
    ]
    if question.input != "choice":
        # The form's language travels with it (Discord opens it without a turn).
        answers.append(_control(q, lang, ControlKind.TYPE, q.ui(lang, "type_answer"), qid, 0, lang))
        if question.input == "date":
            placeholder = q.ui(lang, "date_placeholder")
            answers.append(_control(q, lang, ControlKind.DATE, placeholder, qid, 0))
        if question.optional:
            skip_word = str(q.ui_map(lang, "commands")["skip"][0])
            skip = q.ui(lang, "skip")
            answers.append(_control(q, lang, ControlKind.ANSWER, skip, qid, 0, SKIP, skip_word))
    navigation = _navigation(q, lang, 0, qid, back=can_go_back, restart=True)
    return choices, " ".join(h for h in hints if h), (*answers, *navigation)


def _with_saved(
    q: Questionnaire, qid: str, lang: str, saved: tuple[str, ...], shown: tuple[Control, ...]
) -> tuple[tuple[Choice, ...], tuple[Control, ...]]:
    """A text question's choices and controls with the saved colleagues as choices first
    (typed as their number), and typing a name offered as "someone else"."""
    choices = tuple(Choice(f"{SAVED}{i}", name) for i, name in enumerate(saved, 1))
    picks = [
        _control(q, lang, ControlKind.ANSWER, c.label, qid, 0, c.id, str(i))
        for i, c in enumerate(choices, 1)
    ]
    other = q.ui_map(lang, "profile")["someone_else"]
    rest = [replace(c, label=str(other)) if c.kind is ControlKind.TYPE else c for c in shown]
    return choices, (*picks, *rest)


# --- the user's journal at the triage question ---------------------------------------


def journal_client(q: Questionnaire, state: State) -> str | None:
    """The client whose past decisions the open question shows and the state does not hold
    yet (the session then reads the journal once and calls :func:`with_journal`); None when
    there is nothing to look up."""
    if state is None or state.status != "active" or state.pending is not None:
        return None
    if not q.questions[state.step].journal:
        return None
    client = _client(state)
    if client is None:
        return None
    held = state.context.get(journal.CONTEXT_KEY)
    recalled = journal.Recalled.decode(held) if held is not None else None
    if recalled is not None and recalled.key == names.match_key(client):
        return None
    return client


def with_journal(
    q: Questionnaire, state: ConversationState, actions: Sequence[Action], found: Sequence[Decision]
) -> Step:
    """``state`` holding what ``found`` (the user's latest decisions) says about its client,
    with the open question asked again so it shows it. Pure: the session did the reading."""
    client = _client(state)
    if client is None:
        return state, list(actions)
    recalled = journal.recall(found, client, state.context.get("request"))
    state = state.evolve(context={**state.context, journal.CONTEXT_KEY: recalled.encode()})
    return state, [
        _ask(q, state)
        if isinstance(a, Ask) and a.question == state.step and a.version == state.version
        else a
        for a in actions
    ]


def _client(state: ConversationState) -> str | None:
    """The client's name on the current path, or given by the start; None when unknown."""
    value = state.path_answers.get("client") or state.context.get("client")
    return None if not value or value == SKIP else value


def _journal_line(q: Questionnaire, state: ConversationState) -> str:
    """ "You declined Acme on 3 November 2026.", or "" when the journal knows nothing of
    this client (or was not read for them)."""
    client = _client(state)
    held = state.context.get(journal.CONTEXT_KEY)
    recalled = journal.Recalled.decode(held) if held is not None else None
    if client is None or recalled is None or recalled.outcome is None or recalled.day is None:
        return ""
    if recalled.key != names.match_key(client):
        return ""
    # Said the way a greeting would say it ("acme" → "Acme", "mme dupont" → "Madame Dupont").
    shown = names.greeting_name(client) or strip_trailing(client)

    def line(group: str, outcome: str, day: date) -> str:
        lines = q.ui_map(state.lang, group)
        text = str(lines.get(outcome, lines["other"]))
        return text.format(client=shown, date=format_date(day, _date_locale(state)))

    latest = line("journal", recalled.outcome, recalled.day)
    if recalled.repeat is None or recalled.repeat_day is None:
        return latest
    # The same request seen before: said first; the latest decision too when it was another.
    repeat = line("journal_repeat", recalled.repeat, recalled.repeat_day)
    same = (recalled.repeat, recalled.repeat_day) == (recalled.outcome, recalled.day)
    return repeat if same else f"{repeat} {latest}"


def _ask_resume(q: Questionnaire, state: ConversationState) -> Ask:
    lang = state.lang
    labels = q.ui_map(lang, "resume_choices")
    progress = _progress(q, state)
    where = progress.label if progress else q.question_text(lang, state.step)
    return Ask(
        question=RESUME,
        text=q.ui(lang, "resume", question=where),
        choices=tuple(Choice(c, str(labels[c])) for c in RESUME_CHOICES),
        input="choice",
        progress=None,
        optional=False,
        lang=lang,
        version=state.version,
        can_go_back=False,
        controls=(
            *(
                _control(
                    q, lang, ControlKind.ANSWER, str(labels[c]), RESUME, state.version, c, str(i)
                )
                for i, c in enumerate(RESUME_CHOICES, 1)
            ),
            # "Start over" is one of the choices: no second one among the navigation.
            *_navigation(q, lang, state.version, RESUME, back=False, restart=False),
        ),
    )


def _answer_resume(q: Questionnaire, state: ConversationState, event: Answer, text: str) -> Step:
    if event.question not in (None, RESUME) or _stale(state, None, event.version):
        return state, [Say(q.ui(state.lang, "stale"), Notice.STALE)]
    # An empty answer (Enter at a prompt) keeps what is under way: nothing is thrown away.
    choice = (
        "continue"
        if not text
        else _match_labels(
            text, RESUME_CHOICES, lambda lang, c: str(q.ui_map(lang, "resume_choices")[c]), q
        )
    )
    if choice == "continue":
        state = state.bump(pending=None, incoming={})
        return state, [_ask(q, state)]
    if choice == "start_over":
        return _restart(q, state, Restart())
    return state, [Say(q.ui(state.lang, "choose"), Notice.REPROMPT), _ask_resume(q, state)]


def _result(q: Questionnaire, state: ConversationState) -> Result:
    assert state.outcome is not None
    lang, oid = state.lang, state.outcome
    path = state.path_answers
    variant = q.outcomes[oid].variant(path)
    values = dict(state.context)
    for qid, value in path.items():
        question = q.questions[qid]
        if value == SKIP or question.input == "choice":
            continue
        if question.input == "date":
            values[qid] = format_date(date.fromisoformat(value), _date_locale(state))
        else:
            # The template brings its own punctuation: "Anna," must not become "Anna,,".
            values[qid] = strip_trailing(value)
    if "client" in values:
        # A company is greeted neutrally; a person by their name, capitalised, civility spelled out.
        greeting = names.greeting_name(values.pop("client"))
        if greeting:
            values["client"] = greeting
    for qid, question in q.questions.items():
        if question.money and qid in values:
            values[qid] = money.describe(values[qid], lang)
    draft = None
    if q.outcomes[oid].draft:
        draft = templates.render(q.template(lang, oid, state.tone, variant), values)
        if lang == "fr":
            draft = french_typography(draft)
    version = state.version
    switches = [
        _control(
            q,
            lang,
            ControlKind.TONE,
            f"{q.ui(lang, 'switch_tone')} {q.tone_label(lang, t)}",
            "",
            version,
            t,
            q.tone_label(lang, t).lower(),
            row=Row.ANSWERS,
        )
        for t in q.tones
        if draft is not None and t != state.tone  # a tone only changes the draft
    ]
    switches += [
        _control(
            q,
            lang,
            ControlKind.LANGUAGE,
            q.ui(other, "switch_language"),
            "",
            version,
            other,
            other,
            row=Row.ANSWERS,
        )
        for other in q.languages
        if other != lang
    ]
    if draft is None:
        heading = q.ui(lang, "no_draft_heading")
    else:
        heading = q.ui(
            lang,
            "result_heading",
            tone=q.tone_label(lang, state.tone),
            language=q.texts[lang].name,
        )
    return Result(
        outcome=oid,
        title=q.outcome_text(lang, oid, "title", variant),
        draft=draft,
        advice=q.outcome_text(lang, oid, "advice", variant),
        why=_why(q, state),
        lang=lang,
        tone=state.tone,
        version=version,
        heading=heading,
        controls=(
            *switches,
            *_navigation(q, lang, version, "", back=True, restart=True, cancel=False, help=False),
        ),
    )


def _control(
    q: Questionnaire,
    lang: str,
    kind: ControlKind,
    label: str,
    question: str,
    version: int,
    value: str = "",
    word: str = "",
    *,
    row: Row = Row.ANSWERS,
) -> Control:
    primary = kind in (ControlKind.ANSWER, ControlKind.TYPE) and value != SKIP
    return Control(
        kind,
        label,
        question,
        version,
        value,
        Style.PRIMARY if primary else Style.SECONDARY,
        row,
        word,
    )


_NAVIGATION = (
    (ControlKind.BACK, "back", "button_back"),
    (ControlKind.RESTART, "restart", "button_restart"),
    (ControlKind.CANCEL, "cancel", "button_cancel"),
    (ControlKind.HELP, "help", "button_help"),
)


def _navigation(
    q: Questionnaire,
    lang: str,
    version: int,
    question: str,
    *,
    back: bool,
    restart: bool,
    cancel: bool = True,
    help: bool = True,
) -> list[Control]:
    """Back / Start over / Cancel / Help, each typed as the command's first word."""
    wanted = {ControlKind.BACK: back, ControlKind.RESTART: restart}
    wanted |= {ControlKind.CANCEL: cancel, ControlKind.HELP: help}
    words = q.ui_map(lang, "commands")
    return [
        _control(
            q,
            lang,
            kind,
            q.ui(lang, label),
            question,
            version,
            word=str(words[command][0]),
            row=Row.NAVIGATION,
        )
        for kind, command, label in _NAVIGATION
        if wanted[kind]
    ]


def answered_note(q: Questionnaire, before: State, after: State) -> str | None:
    """ "You answered: …" for the question ``before`` had open, when ``after`` took an
    answer to it and moved on (not for a re-prompt, a side step or an expired one)."""
    if before is None or after is None or before.status != "active" or before.pending:
        return None
    if after.history[: len(before.history) + 1] != (*before.history, before.step):
        return None
    value = after.answers.get(before.step)
    if value is None or len(after.history) != len(before.history) + 1:
        return None
    return q.ui(after.lang, "answered", answer=_show_answer(q, after, before.step, value))


def _why(q: Questionnaire, state: ConversationState) -> str:
    reasons = [
        summary
        for qid, value in state.path_answers.items()
        if q.questions[qid].input == "choice" and (summary := q.summary(state.lang, qid, value))
    ]
    if not reasons:
        return ""
    joined = (
        reasons[0]
        if len(reasons) == 1
        else f"{', '.join(reasons[:-1])} {q.ui(state.lang, 'and')} {reasons[-1]}"
    )
    return q.ui(state.lang, "why", reasons=joined)


def _current(q: Questionnaire, state: State) -> list[Action]:
    """What to show again after a side step (help, language or tone change)."""
    if state is None or state.status == "cancelled":
        return []
    if state.status == "done":
        return [_result(q, state)]
    if state.pending == RESUME:
        return [_ask_resume(q, state)]
    return [_ask(q, state)]


def _reprompt(q: Questionnaire, state: ConversationState, message: str) -> Step:
    return state, [Say(message, Notice.REPROMPT), _ask(q, state)]


def _lang(q: Questionnaire, state: State) -> str:
    return state.lang if state else q.languages[0]


def _progress(q: Questionnaire, state: ConversationState) -> Progress | None:
    """ "Question n of m": n counts the main questions on the path so far, m adds the longest
    way still open from here, so no total is shown that the path can no longer reach.
    Follow-ups show none: the same number on two different screens would read as a lie."""
    if not q.questions[state.step].progress:
        return None
    current = 1 + sum(1 for qid in state.history if q.questions[qid].progress)
    total = current - 1 + _longest(q, state.step, state.path_answers)
    key = ("progress", state.lang, current, total)
    found = q.memo.get(key)
    if found is None:
        label = q.ui(state.lang, "progress", current=current, total=total)
        found = q.memo[key] = Progress(current, total, label)
    return found


def _longest(q: Questionnaire, qid: str, answers: dict[str, str]) -> int:
    """How many counted questions the longest way from ``qid`` (included) still asks;
    remembered per question and deciding answers (a walk of the flow is most of a step)."""
    key = ("longest", qid, tuple(answers.get(d) for d in q.deciding))
    found = q.memo.get(key)
    if found is None:
        found = q.memo[key] = _walk_longest(q, qid, answers)
    return int(found)


def _walk_longest(q: Questionnaire, qid: str, answers: dict[str, str], depth: int = 0) -> int:
    question = q.questions[qid]
    own = 1 if question.progress else 0
    if depth > len(q.questions):  # pragma: no cover - the loader refuses endless loops
        return own
    if question.input == "choice":
        options = question.visible_choices(answers) + ((SKIP,) if question.optional else ())
    else:
        options = ("*",)
    best = 0
    for choice in options:
        given = {**answers, qid: choice}
        target = _first_applicable(question.branch(choice), given)
        if target.kind == "ask":
            best = max(best, _walk_longest(q, target.id, given, depth + 1))
    return own + best


def _show_answer(q: Questionnaire, state: ConversationState, qid: str, value: str) -> str:
    question, lang = q.questions[qid], state.lang
    if value == SKIP or question.input == "choice":
        return q.choice_label(lang, qid, value)
    if question.input == "date":
        return format_date(date.fromisoformat(value), _date_locale(state))
    return money.describe(value, lang) if question.money else value


# --- understanding typed text -------------------------------------------------------


def _match_choice(q: Questionnaire, ids: tuple[str, ...], qid: str, text: str) -> str | None:
    return _match_labels(
        text,
        ids,
        lambda lang, c: q.choice_label(lang, qid, c),
        q,
        lambda lang, c: q.choice_words(lang, qid, c),
    )


def _match_labels(
    text: str,
    ids: tuple[str, ...],
    label: Callable[[str, str], str],
    q: Questionnaire,
    words: Callable[[str, str], tuple[str, ...]] | None = None,
) -> str | None:
    """A choice by its number, its id, its label or one of its words (``prompts/``) in any
    language, loosely compared."""
    if text in ids:  # a button's value: no need to compare loosely
        return text
    key = fold(text)
    if not key:
        return None
    # isdigit() is true for other scripts' digits too, which int() may refuse.
    if key.isascii() and key.isdigit() and len(key) <= 3 and 1 <= int(key) <= len(ids):
        return ids[int(key) - 1]
    for cid in ids:
        if key == fold(cid) or any(key == fold(label(lang, cid)) for lang in q.languages):
            return cid
    if words is not None:
        # A word listed in one language may mean another choice in the other: only a
        # word that points at one choice counts.
        meant = {cid for cid in ids for lang in q.languages if key in map(fold, words(lang, cid))}
        if len(meant) == 1:
            return meant.pop()
    # People type the start of a label ("yes" for "Yes, I have the time", "oui" for
    # "Oui, j'ai le temps"): accept it when it points at exactly one choice. Two letters
    # are too little to go on ("un" would pick "Un meilleur tarif").
    if len(key) < 3:
        return None
    starts = {
        cid
        for cid in ids
        for lang in q.languages
        if f"{fold(label(lang, cid))} ".startswith(f"{key} ")
    }
    return starts.pop() if len(starts) == 1 else None


def _typed_command(q: Questionnaire, state: State, text: str) -> Event | None:
    """Typed words that mean an event rather than an answer: back, help, a language code..."""
    key = fold(text)
    command = q.command_for(key)
    if command == "back":
        return Back()
    if command == "restart":
        return Restart()
    if command == "cancel":
        return Cancel()
    if command in ("help", "history", "forget"):
        # The pages are the platform's commands, which the help names (each surface adds
        # its own): typed in the conversation, they must neither start one nor be a name.
        return Help()
    # Language and tone words only where they cannot be a real answer (not in a text question).
    if state is not None and state.status == "active" and q.questions[state.step].input != "choice":
        return None
    if key in _language_words(q):
        return ChangeLanguage(text)
    if state is not None and state.status != "cancelled" and tone_code(q, text) is not None:
        return ChangeTone(text)
    return None


_QUOTES = {'"': '"', "'": "'", "“": "”", "«": "»", "‘": "’", "„": "“"}


def _unquoted(text: str) -> str | None:
    """The text inside matching quotes, or None when it is not quoted."""
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return None


def _language_words(q: Questionnaire) -> set[str]:
    return {fold(code) for code in q.languages} | {fold(q.texts[c].name) for c in q.languages}


def language_code(q: Questionnaire, wanted: str) -> str | None:
    key = fold(wanted)
    for code in q.languages:
        if key in (fold(code), fold(q.texts[code].name)):
            return code
    return None


def tone_code(q: Questionnaire, wanted: str) -> str | None:
    key = fold(wanted)
    for tone in q.tones:
        if key == fold(tone) or any(key == fold(q.tone_label(lang, tone)) for lang in q.languages):
            return tone
    return None


def _pick(wanted: str | None, allowed: tuple[str, ...], fallback: str) -> str:
    if wanted is not None and wanted in allowed:
        return wanted
    return fallback if fallback in allowed else allowed[0]
