"""The questionnaire as checked data: loaded from ``prompts/`` once, at start-up.

``flow.yaml`` holds the shape (questions, choices, branches, outcomes); ``<lang>.yaml``
holds every word the bot says in that language. :func:`load_questionnaire` reads both and
checks everything a person editing them could get wrong, raising :class:`InvalidDefinition`
naming the file, the key and the problem. After that the engine can trust the data: a
branch always leads somewhere, every text exists in every language, every template
placeholder has a source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from core import templates
from core.actions import InputKind
from core.yaml_loading import DuplicateKeyError, load_yaml

FLOW_FILE = "flow.yaml"
INPUT_KINDS: tuple[InputKind, ...] = ("choice", "text", "date")
SKIP = "skip"
DEFAULT_TONE = "warm"  # the tone when nobody chose one, where the questionnaire has it

# Every UI string the engine and adapters use, with the placeholders each may contain.
UI_KEYS: dict[str, frozenset[str]] = {
    key: frozenset(names)
    for key, names in {
        "progress": {"current", "total"},
        "choose": set(),  # the question follows, with its answers
        "empty": set(),
        "skip_hint": set(),
        "too_long": {"length", "max"},
        "bad_date": set(),
        "bad_fee": set(),
        "past_date": {"date"},
        "far_date": {"date", "years"},
        "date_hint": set(),
        "name_doubt": {"answer"},
        "after_result_unknown": {"answer", "options"},
        "stale": set(),
        "no_previous": set(),
        "cancelled": set(),
        "nothing_to_cancel": set(),
        "nothing_open": set(),
        "after_result": {"options"},
        "ended": set(),
        "expired": set(),
        "restarted": set(),
        "reset_apology": set(),
        "help": set(),
        "help_result": set(),
        "resume": {"question"},
        "language_changed": set(),
        "unknown_language": {"lang", "options"},
        "tone_changed": {"tone"},
        "unknown_tone": {"tone", "options"},
        "why": {"reasons"},
        "and": set(),
        "skip": set(),
        "button_back": set(),
        "button_restart": set(),
        "button_cancel": set(),
        "button_help": set(),
        "switch_language": set(),
        "switch_tone": set(),
        "result_heading": {"tone", "language"},
        "no_draft_heading": set(),
        "answered": {"answer"},
        "continue_in_dm": set(),
        "dm_failed": set(),
        "not_yours": set(),
        "history_title": set(),
        "history_empty": set(),
        "history_line": {"date", "outcome", "client"},
        "followup_gone": set(),  # a next step on a journal entry deleted since
        "forgotten": {"count"},
        "home_intro": set(),
        "request_quoted": {"request"},
        "trimmed": set(),
        "error": set(),
        # Controls and app-level messages every surface shows.
        "type_answer": set(),
        "date_placeholder": set(),
        "start_button": set(),
        "forget_confirm": set(),
        "forget_button": set(),
        "keep_button": set(),
        "kept": set(),
        "forget_stale": set(),
        "outdated": set(),
    }.items()
}
UI_MAPPINGS = {
    "resume_choices": ("continue", "start_over"),
    "commands": ("back", "restart", "cancel", "help", "skip", "history", "forget"),
    "quotes": ("open", "close"),
}
# The next steps a journal entry may offer (core.followup's table uses these ids).
STEP_IDS = ("agreed", "couldnt", "wait", "stop", "intro", "headsup", "reach")
# The follow-through's wording (``followups:`` in <lang>.yaml, used by core.followup): each
# group's texts with the placeholders each may use. Every text is a template: a name that
# may be missing sits in a ``[[…||…]]`` section.
FOLLOWUP_TEXTS: dict[str, dict[str, frozenset[str]]] = {
    group: {key: frozenset(names) for key, names in texts.items()}
    for group, texts in {
        # The next-step buttons (keep them short: Discord cuts a button at 80 characters).
        "steps": {
            step: {"wait": {"days"}, "headsup": {"colleague_name"}, "reach": {"name"}}.get(
                step, set[str]()
            )
            for step in STEP_IDS
        },
        # Where a request stands, after its line in the history ("line" joins the two).
        # The word the terminal takes for each step (`should-i-take-it next 1 WORD`): one
        # word each, distinct within a language; the step ids are understood too.
        "words": {step: set[str]() for step in STEP_IDS},
        "status": {
            "line": {"line", "status"},
            "waiting": {"due", "name"},
            "closed": set(),
            "agreed": set(),
            "couldnt": set(),
            "refer_open": {"colleague_name"},
            "intro_written": {"colleague_name"},
            "headsup_written": {"colleague_name"},
            "introduced": set(),
            "booked": {"due", "free_from"},
            "reach_open": {"free_from", "name"},
            "reached": set(),
        },
        "notices": {
            "answer_scheduled": {"due", "name"},
            "reach_scheduled": {"due", "name"},
            "snoozed": {"due", "name"},
            "stopped": {"name"},
            "reach_cancelled": {"name"},
            "not_open": set(),
        },
        "reminders": {
            "answer": {"name", "date"},
            "answer_heading": set(),
            "answer_advice": {"name"},
            "reach": {"name", "free_from"},
            "late": {"due"},
        },
        "results": {"heading": {"tone", "language"}},
    }.items()
}
# The follow-up drafts, and the values their templates (and titles, advice) may use:
# ``client`` as a greeting says it (absent for a company), ``name`` as a sentence does,
# ``colleague`` as typed (with any contact details), ``colleague_name`` without them,
# ``date`` the day the request was decided.
FOLLOWUP_DRAFTS = ("confirm_timeline", "confirm_fee", "thanks", "intro", "headsup", "reach_back")
FOLLOWUP_FIELDS = frozenset(
    {
        "client",
        "name",
        "colleague",
        "colleague_name",
        "fee_proposal",
        "deadline",
        "free_from",
        "signature",
        "date",
    }
)
# The saved profile's texts (core/profile.py), under ``ui.profile``, with their placeholders.
PROFILE_WORDS: dict[str, frozenset[str]] = {
    key: frozenset(names)
    for key, names in {
        "title": set(),
        "line": {"label", "value"},
        "signature": set(),
        "tone": set(),
        "language": set(),
        "timezone": set(),
        "wait": set(),
        "colleagues": set(),
        "not_set": set(),
        "wait_one": set(),
        "wait_days": {"days"},
        "saved": set(),
        "how": set(),
        "someone_else": set(),
        "unknown": {"value", "options"},
        "needs_value": {"value"},
        "unknown_tone": {"value", "options"},
        "unknown_language": {"value", "options"},
        "unknown_timezone": {"value"},
        "signature_too_long": {"max"},
        "bad_wait": {"min", "max"},
        "colleague_usage": {"value"},
        "colleague_too_long": {"max"},
        "too_many_colleagues": {"max"},
        "duplicate_colleague": {"value"},
        "no_such_colleague": {"value"},
    }.items()
}
# The words of the profile's edit grammar (``ui.profile.words``; any language's are understood).
PROFILE_COMMANDS = (
    "set",
    "signature",
    "tone",
    "language",
    "timezone",
    "wait",
    "colleague",
    "add",
    "remove",
    "clear",
)
# Keys with these prefixes belong to one adapter: each declares the ones it needs
# (:meth:`Questionnaire.check_words`) and they are checked when that adapter starts.
PLATFORM_PREFIXES = ("slack_", "discord_", "terminal_")


class InvalidDefinition(Exception):
    """A questionnaire file is wrong; raised at load time, never while talking to a user."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


When = tuple[tuple[str, frozenset[str]], ...]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a branch goes: a question to ask or an outcome to reach, maybe conditionally."""

    kind: Literal["ask", "outcome"]
    id: str
    when: When = ()

    def applies(self, answers: Mapping[str, str]) -> bool:
        return all(answers.get(q) in allowed for q, allowed in self.when)


Branch = tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    input: InputKind
    choices: tuple[str, ...]
    optional: bool
    # Whether this question counts in "Question n of m" (follow-ups do not).
    progress: bool
    skip_if_known: bool
    # Choice questions branch per choice; text and date questions have one branch under "*".
    next: Mapping[str, Branch]
    # Choices left out on a path where they would contradict an earlier answer.
    hide: Mapping[str, When] = field(default_factory=dict)
    # The answer is a person's or company's name: command-like words are questioned.
    name: bool = False
    # The answer may hold an amount of money (read and rewritten by core.money).
    money: bool = False
    # The user's journal is recalled here: what they last decided about this client.
    journal: bool = False
    # The colleagues saved in the user's profile are offered here as choices (a text question).
    colleagues: bool = False

    def branch(self, answer: str) -> Branch:
        return self.next.get(answer) or self.next["*"]

    def visible_choices(self, answers: Mapping[str, str]) -> tuple[str, ...]:
        """The choices offered on a path with these answers."""
        return tuple(
            c
            for c in self.choices
            if c not in self.hide or not all(answers.get(q) in ok for q, ok in self.hide[c])
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    draft: bool
    # Wordings for particular paths, tried in order; the plain templates otherwise.
    variants: tuple[tuple[str, When], ...] = ()

    def variant(self, answers: Mapping[str, str]) -> str | None:
        return next(
            (vid for vid, when in self.variants if all(answers.get(q) in ok for q, ok in when)),
            None,
        )


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    ui: Mapping[str, Any]
    questions: Mapping[str, Mapping[str, Any]]
    outcomes: Mapping[str, Mapping[str, Any]]
    followups: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Questionnaire:
    start: str
    max_text: int
    tones: tuple[str, ...]
    languages: tuple[str, ...]
    context: tuple[str, ...]
    questions: Mapping[str, Question]
    outcomes: Mapping[str, Outcome]
    texts: Mapping[str, Language]
    _commands: Mapping[str, str] = field(default_factory=dict, repr=False)
    _profile_commands: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Results of pure functions of the questionnaire (it never changes once loaded).
    memo: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- wording -------------------------------------------------------------------
    def ui(self, lang: str, key: str, /, **values: object) -> str:
        text = self.texts[lang].ui[key]
        assert isinstance(text, str)
        return text.format(**values) if values else text

    def ui_map(self, lang: str, key: str) -> Mapping[str, Any]:
        value = self.texts[lang].ui[key]
        assert isinstance(value, Mapping)
        return value

    def question_text(self, lang: str, question: str) -> str:
        return str(self.texts[lang].questions[question]["text"])

    def question_hint(self, lang: str, question: str) -> str:
        return str(self.texts[lang].questions[question].get("hint", ""))

    def choice_label(self, lang: str, question: str, choice: str) -> str:
        if choice == SKIP:
            return self.ui(lang, "skip")
        return str(self.texts[lang].questions[question]["choices"][choice])

    def choice_words(self, lang: str, question: str, choice: str) -> tuple[str, ...]:
        """Other words that mean ``choice`` when typed ("temps" for "Plus de temps (…)")."""
        words = self.texts[lang].questions[question].get("words") or {}
        return tuple(str(w) for w in words.get(choice, ()))

    def summary(self, lang: str, question: str, choice: str) -> str | None:
        summaries = self.texts[lang].questions[question].get("summary")
        return None if summaries is None else str(summaries[choice])

    def outcome_text(self, lang: str, outcome: str, key: str, variant: str | None = None) -> str:
        spec = self.texts[lang].outcomes[outcome]
        if variant is not None and key in spec["variants"][variant]:
            return str(spec["variants"][variant][key])
        return str(spec[key])

    def template(self, lang: str, outcome: str, tone: str, variant: str | None = None) -> str:
        spec = self.texts[lang].outcomes[outcome]
        if variant is not None:
            spec = spec["variants"][variant]
        return str(spec["templates"][tone])

    def followup_text(self, lang: str, group: str, key: str) -> str:
        """A follow-through text (a template: see :data:`FOLLOWUP_TEXTS`)."""
        return str(self.texts[lang].followups[group][key])

    def followup_draft(
        self, lang: str, draft: str, part: str, variant: str | None = None, tone: str = ""
    ) -> str:
        """A follow-up draft's ``title``, ``advice`` or (with ``tone``) ``templates``, in
        ``variant``'s wording when it has its own."""
        spec = self.texts[lang].followups["drafts"][draft]
        chosen = spec.get("variants", {}).get(variant, {}) if variant is not None else {}
        value = chosen.get(part, spec[part])
        return str(value[tone] if part == "templates" else value)

    def tone_label(self, lang: str, tone: str) -> str:
        return str(self.ui_map(lang, "tones")[tone])

    @property
    def default_tone(self) -> str:
        """The tone when nobody chose one: warm, where the questionnaire has it."""
        return DEFAULT_TONE if DEFAULT_TONE in self.tones else self.tones[0]

    @property
    def deciding(self) -> tuple[str, ...]:
        """The questions whose answers some branch or hidden choice depends on: the only
        answers that can change where a path may still go."""
        found = self.memo.get("deciding")
        if found is None:
            ids: set[str] = set()
            for question in self.questions.values():
                for branch in question.next.values():
                    ids.update(qid for target in branch for qid, _ in target.when)
                for when in question.hide.values():
                    ids.update(qid for qid, _ in when)
            found = self.memo["deciding"] = tuple(sorted(ids))
        return found

    def check_words(self, words: Mapping[str, frozenset[str]]) -> None:
        """Check an adapter's own texts (``slack_*``, ``discord_*`` keys of ``ui``) in every
        language: present, strings, and only the placeholders the adapter fills in."""
        for lang in self.languages:
            c = _Checker(f"{lang}.yaml")
            ui = self.texts[lang].ui
            for key, allowed in words.items():
                if key not in ui:
                    raise c.fail(f"ui.{key}", "missing (the adapter needs it)")
                _check_fields(c, f"ui.{key}", c.string(ui[key], f"ui.{key}"), allowed)

    def command_for(self, folded_text: str) -> str | None:
        """The command (back, restart, ...) a typed word means, in any language."""
        return self._commands.get(folded_text)

    def profile_command_for(self, folded_text: str) -> str | None:
        """The profile edit (tone, clear, colleague, ...) a typed word means, in any language."""
        return self._profile_commands.get(folded_text)

    def step(self, state: Any, event: Any) -> Any:
        """``step(state, event)`` bound to this questionnaire (see :func:`core.engine.step`)."""
        from core.engine import step

        return step(self, state, event)


# --- loading ------------------------------------------------------------------------


def default_prompts_dir() -> Path:
    return Path(str(resources.files("prompts")))


def load_questionnaire(directory: Path | str | None = None) -> Questionnaire:
    """Load and check ``flow.yaml`` and one ``<lang>.yaml`` per declared language."""
    directory = Path(directory) if directory is not None else default_prompts_dir()
    flow = _read(directory / FLOW_FILE)
    q = _build_flow(flow)
    texts = {lang: _build_language(directory / f"{lang}.yaml", lang, q) for lang in q.languages}
    _check_same_keys(texts, q.languages)
    commands = _build_commands(texts)
    profile_commands = _build_commands(texts, ("profile", "words"))
    return Questionnaire(
        start=q.start,
        max_text=q.max_text,
        tones=q.tones,
        languages=q.languages,
        context=q.context,
        questions=q.questions,
        outcomes=q.outcomes,
        texts=texts,
        _commands=commands,
        _profile_commands=profile_commands,
    )


def _read(path: Path) -> dict[str, Any]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidDefinition(name, "-", f"file not found in {path.parent}") from None
    try:
        data = load_yaml(text)
    except DuplicateKeyError as exc:
        raise InvalidDefinition(name, exc.key, f"duplicate id (line {exc.line})") from None
    except Exception as exc:  # yaml.YAMLError and friends: report, don't crash with a trace
        raise InvalidDefinition(name, "-", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidDefinition(name, "-", "expected a mapping at the top level")
    return data


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str) -> InvalidDefinition:
        return InvalidDefinition(self.file, key, problem)

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "expected a non-empty list")
        items = tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))
        for item in items:
            if items.count(item) > 1:
                raise self.fail(key, f"duplicate id {item!r}")
        return items

    def keys(
        self, value: dict[str, Any], key: str, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> None:
        allowed = set(allowed)
        for k in value:
            if k not in allowed:
                raise self.fail(
                    f"{key}.{k}" if key else str(k),
                    f"unknown key (expected one of {sorted(allowed)})",
                )
        for k in required:
            if k not in value:
                raise self.fail(f"{key}.{k}" if key else k, "missing")


_FLOW_KEYS = (
    "start",
    "max_text",
    "tones",
    "languages",
    "context",
    "questions",
    "outcomes",
)


def _build_flow(raw: dict[str, Any]) -> Questionnaire:
    c = _Checker(FLOW_FILE)
    c.keys(raw, "", _FLOW_KEYS, _FLOW_KEYS)
    tones = c.strings(raw["tones"], "tones")
    languages = c.strings(raw["languages"], "languages")
    context = c.strings(raw["context"], "context")
    max_text = raw["max_text"]
    if not isinstance(max_text, int) or isinstance(max_text, bool) or max_text < 1:
        raise c.fail("max_text", "expected a positive integer")

    raw_questions = c.mapping(raw["questions"], "questions")
    outcomes: dict[str, Outcome] = {}
    for oid, spec in c.mapping(raw["outcomes"], "outcomes").items():
        key = f"outcomes.{oid}"
        spec = c.mapping(spec, key)
        c.keys(spec, key, ("draft", "variants"), ("draft",))
        if not isinstance(spec["draft"], bool):
            raise c.fail(f"{key}.draft", "expected true or false")
        variants = []
        for vid, when in c.mapping(spec.get("variants", {}), f"{key}.variants").items():
            if not spec["draft"]:
                raise c.fail(f"{key}.variants", "only an outcome with a draft has variants")
            variants.append((vid, _when(c, when, f"{key}.variants.{vid}", raw_questions)))
        outcomes[oid] = Outcome(oid, spec["draft"], tuple(variants))

    questions: dict[str, Question] = {}
    for qid, spec in raw_questions.items():
        questions[qid] = _build_question(c, qid, spec, raw_questions, outcomes)
    start = c.string(raw["start"], "start")
    if start not in questions:
        raise c.fail("start", f"unknown question {start!r}")
    for cid in context:
        if cid in questions and not questions[cid].skip_if_known:
            raise c.fail(
                f"context.{cid}", "a context name that is also a question needs skip_if_known"
            )
    _check_reachability(c, start, questions, outcomes)
    return Questionnaire(
        start=start,
        max_text=max_text,
        tones=tones,
        languages=languages,
        context=context,
        questions=questions,
        outcomes=outcomes,
        texts={},
    )


def _build_question(
    c: _Checker,
    qid: str,
    spec: Any,
    all_questions: Mapping[str, Any],
    outcomes: Mapping[str, Outcome],
) -> Question:
    key = f"questions.{qid}"
    spec = c.mapping(spec, key)
    c.keys(
        spec,
        key,
        (
            "input",
            "choices",
            "optional",
            "progress",
            "skip_if_known",
            "next",
            "hide",
            "name",
            "money",
            "journal",
            "colleagues",
        ),
        ("input", "next"),
    )
    kind = spec["input"]
    if kind not in INPUT_KINDS:
        raise c.fail(f"{key}.input", f"expected one of {list(INPUT_KINDS)}, got {kind!r}")
    choices: tuple[str, ...] = ()
    if kind == "choice":
        if "choices" not in spec:
            raise c.fail(f"{key}.choices", "missing (a choice question needs choices)")
        choices = c.strings(spec["choices"], f"{key}.choices")
        if SKIP in choices:
            raise c.fail(f"{key}.choices", f"{SKIP!r} is reserved; use optional: true")
    elif "choices" in spec:
        raise c.fail(f"{key}.choices", f"only choice questions have choices (input is {kind})")
    optional = spec.get("optional", False)
    skip_if_known = spec.get("skip_if_known", False)
    progress = spec.get("progress", False)
    name = spec.get("name", False)
    money = spec.get("money", False)
    journal = spec.get("journal", False)
    colleagues = spec.get("colleagues", False)
    for flag, value in (
        ("money", money),
        ("journal", journal),
        ("colleagues", colleagues),
        ("optional", optional),
        ("skip_if_known", skip_if_known),
        ("progress", progress),
        ("name", name),
    ):
        if not isinstance(value, bool):
            raise c.fail(f"{key}.{flag}", "expected true or false")
    if colleagues and kind != "text":
        raise c.fail(f"{key}.colleagues", "only a text question offers saved colleagues")
    hide: dict[str, When] = {}
    for cid, when in c.mapping(spec.get("hide", {}), f"{key}.hide").items():
        if cid not in choices:
            raise c.fail(f"{key}.hide.{cid}", f"not a choice of {qid!r}")
        hide[cid] = _when(c, when, f"{key}.hide.{cid}", all_questions)
        if not hide[cid]:
            raise c.fail(f"{key}.hide.{cid}", "needs at least one condition")
    if choices and all(cid in hide for cid in choices):
        raise c.fail(f"{key}.hide", "at least one choice must always be offered")

    def target(raw: Any, tkey: str, conditional: bool) -> Target:
        raw = c.mapping(raw, tkey)
        c.keys(raw, tkey, ("ask", "outcome", "when") if conditional else ("ask", "outcome"))
        kinds = [k for k in ("ask", "outcome") if k in raw]
        if len(kinds) != 1:
            raise c.fail(tkey, "needs exactly one of 'ask' or 'outcome'")
        tkind: Literal["ask", "outcome"] = "ask" if kinds[0] == "ask" else "outcome"
        tid = c.string(raw[tkind], f"{tkey}.{tkind}")
        if tkind == "ask" and tid not in all_questions:
            raise c.fail(f"{tkey}.ask", f"unknown question {tid!r}")
        if tkind == "outcome" and tid not in outcomes:
            raise c.fail(f"{tkey}.outcome", f"unknown outcome {tid!r}")
        return Target(tkind, tid, _when(c, raw.get("when", {}), f"{tkey}.when", all_questions))

    def branch(raw: Any, bkey: str) -> Branch:
        if isinstance(raw, list):
            if not raw:
                raise c.fail(bkey, "an empty branch leads nowhere")
            targets = tuple(target(t, f"{bkey}[{i}]", True) for i, t in enumerate(raw))
            if targets[-1].when:
                raise c.fail(
                    bkey,
                    "the last target of a branch needs no 'when', so it always ends somewhere",
                )
            return targets
        return (target(raw, bkey, False),)

    raw_next = spec["next"]
    if kind == "choice":
        raw_next = c.mapping(raw_next, f"{key}.next")
        # An optional choice question needs somewhere to go when it is skipped.
        branches = (*choices, SKIP) if optional else choices
        for cid in raw_next:
            if cid not in branches:
                raise c.fail(
                    f"{key}.next.{cid}", f"not a choice of {qid!r} (choices: {list(branches)})"
                )
        missing = [cid for cid in branches if cid not in raw_next]
        if missing:
            raise c.fail(f"{key}.next", f"no branch for choice(s) {missing}")
        nxt = {cid: branch(raw_next[cid], f"{key}.next.{cid}") for cid in branches}
    else:
        nxt = {"*": branch(raw_next, f"{key}.next")}
    return Question(
        qid,
        kind,
        choices,
        optional,
        progress,
        skip_if_known,
        nxt,
        hide,
        name,
        money,
        journal,
        colleagues,
    )


def _when(c: _Checker, raw: Any, key: str, all_questions: Mapping[str, Any]) -> When:
    """``{QUESTION: ANSWER or [ANSWERS]}``: a condition on answers given earlier on the path."""
    when: list[tuple[str, frozenset[str]]] = []
    for cq, values in c.mapping(raw, key).items():
        if cq not in all_questions:
            raise c.fail(f"{key}.{cq}", f"unknown question {cq!r}")
        allowed = values if isinstance(values, list) else [values]
        spec = all_questions[cq]
        cq_choices = spec.get("choices") if isinstance(spec, dict) else None
        for v in allowed:
            if not isinstance(cq_choices, list) or v not in cq_choices:
                raise c.fail(f"{key}.{cq}", f"{v!r} is not a choice of {cq!r}")
        when.append((cq, frozenset(allowed)))
    return tuple(when)


def _check_reachability(
    c: _Checker, start: str, questions: Mapping[str, Question], outcomes: Mapping[str, Outcome]
) -> None:
    def successors(q: Question) -> Iterable[Target]:
        for br in q.next.values():
            yield from br

    seen: set[str] = set()
    reached_outcomes: set[str] = set()
    todo = [start]
    while todo:
        qid = todo.pop()
        if qid in seen:
            continue
        seen.add(qid)
        for t in successors(questions[qid]):
            if t.kind == "ask":
                todo.append(t.id)
            else:
                reached_outcomes.add(t.id)
    for qid in questions:
        if qid not in seen:
            raise c.fail(f"questions.{qid}", f"unreachable from start {start!r}")
    # Every question must have a way to an outcome (no loop that never ends).
    ends: set[str] = set()
    changed = True
    while changed:
        changed = False
        for qid, q in questions.items():
            if qid not in ends and any(t.kind == "outcome" or t.id in ends for t in successors(q)):
                ends.add(qid)
                changed = True
    for qid in questions:
        if qid not in ends:
            raise c.fail(f"questions.{qid}.next", "no way from here to an outcome")
    for oid in outcomes:
        if oid not in reached_outcomes:
            raise c.fail(f"outcomes.{oid}", "no branch leads to this outcome")


def _build_language(path: Path, lang: str, q: Questionnaire) -> Language:
    raw = _read(path)
    c = _Checker(path.name)
    c.keys(
        raw,
        "",
        ("lang", "language_name", "ui", "questions", "outcomes", "followups"),
        ("lang", "language_name", "ui", "questions", "outcomes", "followups"),
    )
    if raw["lang"] != lang:
        raise c.fail("lang", f"expected {lang!r}, got {raw['lang']!r}")
    name = c.string(raw["language_name"], "language_name")

    ui = c.mapping(raw["ui"], "ui")
    core_keys = [*UI_KEYS, *UI_MAPPINGS, "tones", "journal", "journal_repeat", "profile"]
    platform_keys = [k for k in ui if isinstance(k, str) and k.startswith(PLATFORM_PREFIXES)]
    c.keys(ui, "ui", [*core_keys, *platform_keys], core_keys)
    for key, allowed in UI_KEYS.items():
        _check_fields(c, f"ui.{key}", c.string(ui[key], f"ui.{key}"), allowed)
    for key, ids in UI_MAPPINGS.items():
        m = c.mapping(ui[key], f"ui.{key}")
        c.keys(m, f"ui.{key}", ids, ids)
        for k in ids:
            if key == "commands":
                c.strings(m[k], f"ui.{key}.{k}")
            else:
                c.string(m[k], f"ui.{key}.{k}")
    tones = c.mapping(ui["tones"], "ui.tones")
    c.keys(tones, "ui.tones", q.tones, q.tones)
    for t in q.tones:
        c.string(tones[t], f"ui.tones.{t}")
    # The journal's line at a `journal: true` question: one per outcome, and "other" for an
    # outcome recorded before it left the questionnaire; `journal_repeat` when the same
    # request was seen before (by the outcome decided then).
    for group in ("journal", "journal_repeat"):
        lines = c.mapping(ui[group], f"ui.{group}")
        outcome_lines = (*q.outcomes, "other")
        c.keys(lines, f"ui.{group}", outcome_lines, outcome_lines)
        for oid in outcome_lines:
            line = c.string(lines[oid], f"ui.{group}.{oid}")
            _check_fields(c, f"ui.{group}.{oid}", line, {"client", "date"})

    profile = c.mapping(ui["profile"], "ui.profile")
    c.keys(profile, "ui.profile", [*PROFILE_WORDS, "words"], [*PROFILE_WORDS, "words"])
    for key, allowed in PROFILE_WORDS.items():
        _check_fields(c, f"ui.profile.{key}", c.string(profile[key], f"ui.profile.{key}"), allowed)
    words = c.mapping(profile["words"], "ui.profile.words")
    c.keys(words, "ui.profile.words", PROFILE_COMMANDS, PROFILE_COMMANDS)
    for command in PROFILE_COMMANDS:
        c.strings(words[command], f"ui.profile.words.{command}")

    questions = c.mapping(raw["questions"], "questions")
    c.keys(questions, "questions", q.questions, q.questions)
    for qid, question in q.questions.items():
        key = f"questions.{qid}"
        spec = c.mapping(questions[qid], key)
        is_choice = question.input == "choice"
        keys = ("text", "hint", "choices", "summary", "words") if is_choice else ("text", "hint")
        c.keys(spec, key, keys, ("text", "choices", "summary") if is_choice else ("text",))
        if "words" in spec:
            _check_words(c, spec["words"], f"{key}.words", question.choices)
        _check_fields(c, f"{key}.text", c.string(spec["text"], f"{key}.text"), set())
        if "hint" in spec:
            _check_fields(c, f"{key}.hint", c.string(spec["hint"], f"{key}.hint"), set())
        for part in ("choices", "summary") if is_choice else ():
            m = c.mapping(spec[part], f"{key}.{part}")
            c.keys(m, f"{key}.{part}", question.choices, question.choices)
            for cid in question.choices:
                _check_fields(
                    c, f"{key}.{part}.{cid}", c.string(m[cid], f"{key}.{part}.{cid}"), set()
                )

    template_fields = set(q.context) | {
        qid for qid, qq in q.questions.items() if qq.input != "choice"
    }
    outcomes = c.mapping(raw["outcomes"], "outcomes")
    c.keys(outcomes, "outcomes", q.outcomes, q.outcomes)
    for oid, outcome in q.outcomes.items():
        key = f"outcomes.{oid}"
        spec = c.mapping(outcomes[oid], key)
        if outcome.draft:
            variant_ids = [vid for vid, _ in outcome.variants]
            parts = ("title", "advice", "templates", "variants")
            c.keys(spec, key, parts, parts if variant_ids else parts[:3])
            _check_templates(c, spec["templates"], f"{key}.templates", q.tones, template_fields)
            variants = c.mapping(spec.get("variants", {}), f"{key}.variants")
            c.keys(variants, f"{key}.variants", variant_ids, variant_ids)
            for vid in variant_ids:
                vkey = f"{key}.variants.{vid}"
                vspec = c.mapping(variants[vid], vkey)
                c.keys(vspec, vkey, ("title", "advice", "templates"), ("templates",))
                _check_templates(
                    c, vspec["templates"], f"{vkey}.templates", q.tones, template_fields
                )
                for part in ("title", "advice"):
                    if part in vspec:
                        _check_fields(
                            c, f"{vkey}.{part}", c.string(vspec[part], f"{vkey}.{part}"), set()
                        )
        else:
            c.keys(spec, key, ("title", "advice"), ("title", "advice"))
        for part in ("title", "advice"):
            _check_fields(c, f"{key}.{part}", c.string(spec[part], f"{key}.{part}"), set())
    followups = _check_followups(c, raw["followups"], q)
    return Language(lang, name, ui, questions, outcomes, followups)


def _check_followups(c: _Checker, raw: Any, q: Questionnaire) -> dict[str, Any]:
    """The ``followups:`` section: every text of :data:`FOLLOWUP_TEXTS` with only its own
    placeholders, and every draft of :data:`FOLLOWUP_DRAFTS` with a title, advice and one
    template per tone; a draft's ``variants`` are named after the outcome variants of
    ``flow.yaml`` (the entry's path picks one, as it picked the outcome's wording)."""
    key = "followups"
    spec = c.mapping(raw, key)
    c.keys(spec, key, (*FOLLOWUP_TEXTS, "drafts"), (*FOLLOWUP_TEXTS, "drafts"))
    for group, texts in FOLLOWUP_TEXTS.items():
        gkey = f"{key}.{group}"
        given = c.mapping(spec[group], gkey)
        c.keys(given, gkey, texts, texts)
        for tid, allowed in texts.items():
            _check_template(c, f"{gkey}.{tid}", c.string(given[tid], f"{gkey}.{tid}"), allowed)
    drafts = c.mapping(spec["drafts"], f"{key}.drafts")
    c.keys(drafts, f"{key}.drafts", FOLLOWUP_DRAFTS, FOLLOWUP_DRAFTS)
    variant_ids = {vid for outcome in q.outcomes.values() for vid, _ in outcome.variants}
    fields = set(FOLLOWUP_FIELDS)
    for did in FOLLOWUP_DRAFTS:
        dkey = f"{key}.drafts.{did}"
        draft = c.mapping(drafts[did], dkey)
        parts = ("title", "advice", "templates")
        c.keys(draft, dkey, (*parts, "variants"), parts)
        variants = c.mapping(draft.get("variants", {}), f"{dkey}.variants")
        for vid in variants:
            if vid not in variant_ids:
                raise c.fail(
                    f"{dkey}.variants.{vid}",
                    f"not an outcome variant of {FLOW_FILE} (known: {sorted(variant_ids)})",
                )
        for wording, wkey in [(draft, dkey)] + [
            (c.mapping(v, f"{dkey}.variants.{vid}"), f"{dkey}.variants.{vid}")
            for vid, v in variants.items()
        ]:
            if wording is not draft:
                c.keys(wording, wkey, parts, ())
            for part in ("title", "advice"):
                if part in wording:
                    text = c.string(wording[part], f"{wkey}.{part}")
                    _check_template(c, f"{wkey}.{part}", text, fields)
            if "templates" in wording:
                _check_templates(c, wording["templates"], f"{wkey}.templates", q.tones, fields)
    return spec


def _check_templates(
    c: _Checker, raw: Any, key: str, tones: tuple[str, ...], known: set[str]
) -> None:
    tmpl = c.mapping(raw, key)
    c.keys(tmpl, key, tones, tones)
    for tone in tones:
        tkey = f"{key}.{tone}"
        _check_template(c, tkey, c.string(tmpl[tone], tkey), known)


def _check_template(c: _Checker, key: str, text: str, known: set[str] | frozenset[str]) -> None:
    """A template (``[[…||…]]`` sections allowed) using only ``known`` placeholders."""
    try:
        names = templates.placeholders(text)
    except templates.TemplateError as exc:
        raise c.fail(key, str(exc)) from None
    unknown = names - set(known)
    if unknown:
        raise c.fail(key, f"unknown placeholder(s) {sorted(unknown)}; known: {sorted(known)}")


def _check_words(c: _Checker, value: Any, key: str, choices: tuple[str, ...]) -> None:
    """A question's typed words: per choice, a list of words, none of them (as compared)
    meaning two choices."""
    from core.text import fold

    words = c.mapping(value, key)
    c.keys(words, key, choices)
    seen: dict[str, str] = {}
    for cid, listed in words.items():
        for i, word in enumerate(c.strings(listed, f"{key}.{cid}")):
            folded = fold(word)
            if not folded:
                raise c.fail(f"{key}.{cid}[{i}]", "a word with no letters or digits")
            if seen.get(folded, cid) != cid:
                raise c.fail(f"{key}.{cid}[{i}]", f"{word!r} also means {seen[folded]!r}")
            seen[folded] = cid


def _check_fields(c: _Checker, key: str, text: str, allowed: set[str] | frozenset[str]) -> None:
    try:
        names = templates.fields(text)
    except templates.TemplateError as exc:
        raise c.fail(key, str(exc)) from None
    unknown = names - set(allowed)
    if unknown:
        raise c.fail(
            key, f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed) or 'none'}"
        )


def _check_same_keys(texts: Mapping[str, Language], languages: tuple[str, ...]) -> None:
    """Structure is checked per file above; this catches keys one language has and another lacks
    (for example a hint given in English only)."""

    def flatten(value: Any, prefix: str) -> set[str]:
        if isinstance(value, Mapping):
            return set().union(
                *(flatten(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in value.items())
            ) | {prefix}
        return {prefix}

    keys = {
        lang: flatten(
            {
                "ui": t.ui,
                "questions": t.questions,
                "outcomes": t.outcomes,
                "followups": t.followups,
            },
            "",
        )
        for lang, t in texts.items()
    }
    for lang in languages:
        for other in languages:
            missing = sorted(keys[other] - keys[lang])
            if missing:
                raise InvalidDefinition(
                    f"{lang}.yaml", missing[0], f"missing translation (present in {other}.yaml)"
                )


def _build_commands(
    texts: Mapping[str, Language], path: tuple[str, ...] = ("commands",)
) -> dict[str, str]:
    """Folded word → command, for the word lists under ``ui.<path>`` in every language."""
    from core.text import fold

    commands: dict[str, str] = {}
    for lang, t in texts.items():
        table: Any = t.ui
        for part in path:
            table = table[part]
        for command, words in table.items():
            for word in words:
                folded = fold(word)
                if commands.get(folded, command) != command:
                    raise InvalidDefinition(
                        f"{lang}.yaml",
                        f"ui.{'.'.join(path)}.{command}",
                        f"{word!r} already means {commands[folded]!r}",
                    )
                commands[folded] = command
    return commands
