"""A broken questionnaire file stops start-up with an error naming file, key and problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.questionnaire import InvalidDefinition, default_prompts_dir, load_questionnaire
from core.yaml_loading import load_yaml

Edit = Callable[[dict[str, Any]], None]


def broken(tmp_path: Path, file: str, edit: Edit) -> Path:
    for name in ("flow.yaml", "en.yaml", "fr.yaml"):
        shutil.copy(default_prompts_dir() / name, tmp_path / name)
    data = load_yaml((tmp_path / file).read_text(encoding="utf-8"))
    edit(data)
    (tmp_path / file).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path


def set_in(path: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[part]
        data[last] = value

    return edit


def delete(path: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            data = data[part]
        del data[last]

    return edit


def add_question(qid: str, spec: dict[str, Any]) -> Edit:
    return set_in(f"questions.{qid}", spec)


CASES = [
    (
        "unknown step",
        "flow.yaml",
        set_in("questions.time.next.yes", {"ask": "nowhere"}),
        "questions.time.next.yes.ask",
        "unknown question 'nowhere'",
    ),
    (
        "unknown outcome",
        "flow.yaml",
        set_in("questions.terms.next.yes", {"outcome": "party"}),
        "questions.terms.next.yes.outcome",
        "unknown outcome 'party'",
    ),
    (
        "unreachable step",
        "flow.yaml",
        add_question("orphan", {"input": "text", "next": {"outcome": "accept"}}),
        "questions.orphan",
        "unreachable",
    ),
    (
        "no way to an outcome",
        "flow.yaml",
        set_in("questions.colleague.next", {"ask": "colleague"}),
        "questions.colleague.next",
        "no way from here to an outcome",
    ),
    (
        "outcome nobody reaches",
        "flow.yaml",
        set_in("questions.respond.next.no", {"outcome": "decline"}),
        "outcomes.no_reply",
        "no branch leads to this outcome",
    ),
    (
        "conditional branch with no fallback",
        "flow.yaml",
        set_in(
            "questions.free_from.next",
            [{"when": {"what_would_work": "timeline"}, "outcome": "booked"}],
        ),
        "questions.free_from.next",
        "the last target of a branch needs no 'when'",
    ),
    (
        "condition on a value that is not a choice",
        "flow.yaml",
        set_in(
            "questions.free_from.next",
            [{"when": {"time": "maybe"}, "outcome": "booked"}, {"outcome": "booked"}],
        ),
        "questions.free_from.next[0].when.time",
        "'maybe' is not a choice of 'time'",
    ),
    (
        "choice without a branch",
        "flow.yaml",
        delete("questions.time.next.no"),
        "questions.time.next",
        "no branch for choice(s) ['no']",
    ),
    (
        "duplicate choice id",
        "flow.yaml",
        set_in("questions.time.choices", ["yes", "no", "yes"]),
        "questions.time.choices",
        "duplicate id 'yes'",
    ),
    (
        "unknown input kind",
        "flow.yaml",
        set_in("questions.time.input", "slider"),
        "questions.time.input",
        "expected one of",
    ),
    (
        "unknown key",
        "flow.yaml",
        set_in("questions.time.colour", "blue"),
        "questions.time.colour",
        "unknown key",
    ),
    (
        "missing translation",
        "fr.yaml",
        delete("questions.time.hint"),
        "questions.time.hint",
        "missing translation",
    ),
    (
        "missing question text",
        "en.yaml",
        delete("questions.refer.text"),
        "questions.refer.text",
        "missing",
    ),
    (
        "missing tone template",
        "fr.yaml",
        delete("outcomes.booked.templates.brief"),
        "outcomes.booked.templates.brief",
        "missing",
    ),
    (
        "missing choice label",
        "en.yaml",
        delete("questions.time.choices.no"),
        "questions.time.choices.no",
        "missing",
    ),
    ("missing ui text", "en.yaml", delete("ui.stale"), "ui.stale", "missing"),
    (
        "unknown template placeholder",
        "en.yaml",
        set_in("outcomes.accept.templates.warm", "Hi {budget}"),
        "outcomes.accept.templates.warm",
        "unknown placeholder(s) ['budget']",
    ),
    (
        "placeholder in a ui text that takes none",
        "fr.yaml",
        set_in("ui.stale", "Déjà {fait}"),
        "ui.stale",
        "unknown placeholder(s) ['fait']",
    ),
    (
        "broken template syntax",
        "en.yaml",
        set_in("outcomes.refer.templates.brief", "Hi [[{client}"),
        "outcomes.refer.templates.brief",
        "unbalanced",
    ),
    ("wrong language code", "fr.yaml", set_in("lang", "de"), "lang", "expected 'fr'"),
    # The follow-through's wording (followups:), checked the same way.
    (
        "follow-up draft missing",
        "en.yaml",
        delete("followups.drafts.thanks"),
        "followups.drafts.thanks",
        "missing",
    ),
    (
        "follow-up draft without a tone",
        "fr.yaml",
        delete("followups.drafts.intro.templates.formal"),
        "followups.drafts.intro.templates.formal",
        "missing",
    ),
    (
        "unknown placeholder in a follow-up draft",
        "en.yaml",
        set_in("followups.drafts.reach_back.templates.brief", "Hi {budget}"),
        "followups.drafts.reach_back.templates.brief",
        "unknown placeholder(s) ['budget']",
    ),
    (
        "a next-step button using a name it is not given",
        "fr.yaml",
        set_in("followups.steps.agreed", "{name} a dit oui"),
        "followups.steps.agreed",
        "unknown placeholder(s) ['name']",
    ),
    (
        "follow-up variant no outcome has",
        "en.yaml",
        set_in("followups.drafts.thanks.variants", {"someday": {"title": "Later"}}),
        "followups.drafts.thanks.variants.someday",
        "not an outcome variant",
    ),
    (
        "broken section in a reminder",
        "en.yaml",
        set_in("followups.reminders.late", "Due [[on {due}"),
        "followups.reminders.late",
        "unbalanced",
    ),
    (
        "follow-up text in one language only",
        "fr.yaml",
        delete("followups.drafts.confirm_timeline.variants"),
        "followups.drafts.confirm_timeline.variants",
        "missing translation",
    ),
    (
        "repeat line for an outcome missing",
        "en.yaml",
        delete("ui.journal_repeat.decline"),
        "ui.journal_repeat.decline",
        "missing",
    ),
    (
        "a command word meaning two things",
        "fr.yaml",
        set_in("ui.commands.help", ["aide", "annuler"]),
        "ui.commands.help",
        "already means",
    ),
    (
        "a typed word meaning two choices",
        "fr.yaml",
        set_in("questions.what_would_work.words", {"timeline": ["temps"], "fee": ["Temps"]}),
        "questions.what_would_work.words.timeline[0]",
        "also means 'fee'",
    ),
    (
        "typed words for a choice the question does not have",
        "en.yaml",
        set_in("questions.what_would_work.words", {"later": ["soon"]}),
        "questions.what_would_work.words.later",
        "unknown key",
    ),
    (
        "saved colleagues offered at a choice question",
        "flow.yaml",
        set_in("questions.refer.colleagues", True),
        "questions.refer.colleagues",
        "only a text question",
    ),
    ("missing profile text", "en.yaml", delete("ui.profile.saved"), "ui.profile.saved", "missing"),
    (
        "placeholder in a profile text that takes another",
        "fr.yaml",
        set_in("ui.profile.bad_wait", "De {min} à {plafond}."),
        "ui.profile.bad_wait",
        "unknown placeholder(s) ['plafond']",
    ),
    (
        "a profile word meaning two things",
        "fr.yaml",
        set_in("ui.profile.words.clear", ["effacer", "ton"]),
        "ui.profile.words.tone",
        "already means 'clear'",
    ),
]


@pytest.mark.parametrize(
    ("name", "file", "edit", "key", "problem"), CASES, ids=[c[0] for c in CASES]
)
def test_each_broken_file_gives_its_specific_error(
    tmp_path: Path, name: str, file: str, edit: Edit, key: str, problem: str
) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        load_questionnaire(broken(tmp_path, file, edit))
    assert (caught.value.file, caught.value.key) == (file, key), str(caught.value)
    assert problem in caught.value.problem, str(caught.value)
    assert str(caught.value).startswith(f"{file}: {key}: ")


def test_duplicate_ids_in_yaml_are_caught_with_their_line(tmp_path: Path) -> None:
    broken(tmp_path, "flow.yaml", lambda d: None)
    text = (tmp_path / "flow.yaml").read_text()
    (tmp_path / "flow.yaml").write_text(text + "\nstart: time\n")
    with pytest.raises(InvalidDefinition) as caught:
        load_questionnaire(tmp_path)
    assert caught.value.key == "start" and "duplicate id" in caught.value.problem


def test_invalid_yaml_and_missing_files_are_reported(tmp_path: Path) -> None:
    broken(tmp_path, "flow.yaml", lambda d: None)
    (tmp_path / "en.yaml").write_text("ui: [unclosed\n")
    with pytest.raises(InvalidDefinition, match=r"^en.yaml: -: not valid YAML"):
        load_questionnaire(tmp_path)
    (tmp_path / "en.yaml").unlink()
    with pytest.raises(InvalidDefinition, match=r"^en.yaml: -: file not found"):
        load_questionnaire(tmp_path)


def test_yaml_is_read_safely_and_yes_no_on_off_stay_strings() -> None:
    assert load_yaml("yes: no\non: off\nYes: true\nn: false\n") == {
        "yes": "no",
        "on": "off",
        "Yes": True,
        "n": False,
    }
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")


def test_the_shipped_questionnaire_has_the_stable_ids() -> None:
    q = load_questionnaire()
    assert {
        "time",
        "not_yet",
        "refer",
        "respond",
        "what_would_work",
        "free_from",
        "colleague",
    } <= set(q.questions)
    for qid in ("time", "not_yet", "refer", "respond"):
        assert q.questions[qid].choices == ("yes", "no")
    assert {"timeline", "fee"} <= set(q.questions["what_would_work"].choices)
    assert (q.questions["free_from"].input, q.questions["colleague"].input) == ("date", "text")
    assert set(q.outcomes) == {
        "accept",
        "booked",
        "negotiate_timeline",
        "negotiate_fee",
        "refer",
        "decline",
        "no_reply",
    }
    assert [o for o, spec in q.outcomes.items() if not spec.draft] == ["no_reply"]
    assert q.languages == ("en", "fr") and q.tones == ("warm", "formal", "brief")
