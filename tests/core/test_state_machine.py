"""Property test: random events (answers, garbage, back, restart, cancel, language and tone
switches, stale clicks) never make the engine raise, always produce something to show, and
leave a state that round-trips through JSON and still fits the questionnaire."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.actions import Action, Ask, Result
from core.engine import is_consistent, step
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
from core.questionnaire import load_questionnaire
from core.state import ConversationState
from tests.conftest import TODAY

Q = load_questionnaire()
QUESTION_IDS = [*sorted(Q.questions), "resume", "nope"]
CHOICE_WORDS = sorted(
    {c for q in Q.questions.values() for c in q.choices} | {"skip", "continue", "start_over"}
)
LABELS = sorted(
    {
        Q.choice_label(lang, qid, c)
        for lang in Q.languages
        for qid, q in Q.questions.items()
        for c in q.choices
    }
)
WORDS = [
    "back",
    "retour",
    "restart",
    "cancel",
    "annuler",
    "help",
    "aide",
    "?",
    "fr",
    "en",
    "formal",
    "concis",
    "skip",
    "passer",
]
DATES = ["2027-03-15", "15/03/2027", "March 15", "15 mars", "2020-01-01", "31/02/2027", "tomorrow"]

typed = st.one_of(
    st.sampled_from(CHOICE_WORDS + LABELS + WORDS + DATES),
    st.integers(min_value=-2, max_value=6).map(str),
    st.text(alphabet=st.characters(categories=("Nd", "No")), min_size=1, max_size=4),
    st.just("9" * 5000),
    st.sampled_from(
        ['"Back"', "«annuler»", "'fr'", "Anna,", "Sam Lee.", "\u202eevil", "👩\u200d💻"]
    ),
    st.text(max_size=40),
    st.text(min_size=290, max_size=320),
    st.just("x" * 5000),
)


class ConversationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state: ConversationState | None = None
        self.actions: list[Action] = []
        self.today = TODAY

    def apply(self, event: Event) -> None:
        before = self.state
        self.state, self.actions = step(Q, self.state, event)
        assert self.actions, f"{event} produced nothing to show"
        if before is not None and self.state is not None:
            assert self.state.version >= before.version
            if self.state is not before:
                assert self.state.version > before.version

    @rule(
        fresh=st.booleans(),
        lang=st.sampled_from([None, "en", "fr", "de"]),
        tone=st.sampled_from([None, "brief", "loud"]),
        client=st.one_of(st.none(), st.text(max_size=20)),
    )
    def start(self, fresh: bool, lang: str | None, tone: str | None, client: str | None) -> None:
        self.apply(Start(today=self.today, fresh=fresh, lang=lang, tone=tone, client=client))

    @rule(text=typed)
    def type_something(self, text: str) -> None:
        self.apply(Answer(text, today=self.today))

    @rule(question=st.sampled_from(QUESTION_IDS), choice=st.sampled_from(CHOICE_WORDS))
    def click(self, question: str, choice: str) -> None:
        self.apply(Answer(choice, today=self.today, question=question))

    @precondition(lambda self: self.state is not None and self.state.status == "active")
    @rule()
    def click_the_open_question_correctly(self) -> None:
        assert self.state is not None
        ask = next((a for a in reversed(self.actions) if isinstance(a, Ask)), None)
        if ask is not None and ask.choices:
            self.apply(Answer(ask.choices[0].id, today=self.today, question=ask.question))

    @rule(event=st.sampled_from([Back(), Restart(), Cancel(), Help(), Back(question="time")]))
    def command(self, event: Event) -> None:
        self.apply(event)

    @rule(lang=st.sampled_from(["en", "fr", "English", "français", "xx"]))
    def language(self, lang: str) -> None:
        self.apply(ChangeLanguage(lang))

    @rule(tone=st.sampled_from(["warm", "formal", "brief", "Chaleureux", "??"]))
    def tone(self, tone: str) -> None:
        self.apply(ChangeTone(tone))

    @rule(days=st.integers(min_value=0, max_value=400))
    def time_passes(self, days: int) -> None:
        self.today = TODAY + timedelta(days=days)

    @invariant()
    def ends_with_what_the_state_says(self) -> None:
        last = self.actions[-1] if self.actions else None
        if self.state is None or last is None:
            return
        if isinstance(last, Result):
            assert self.state.status == "done" and last.outcome == self.state.outcome
            assert last.version == self.state.version
        if isinstance(last, Ask):
            # The question shown is the one open, at the version a click must carry.
            assert self.state.status == "active"
            expected = "resume" if self.state.pending else self.state.step
            assert (last.question, last.version) == (expected, self.state.version)
            assert last.lang == self.state.lang

    @invariant()
    def round_trips_and_fits(self) -> None:
        if self.state is not None:
            assert ConversationState.from_json(self.state.to_json()) == self.state
            assert is_consistent(Q, self.state)
            if self.state.status == "done":
                assert self.state.outcome in Q.outcomes


ConversationMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConversation = ConversationMachine.TestCase
