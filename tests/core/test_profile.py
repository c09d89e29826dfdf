"""The saved profile: reading it forgivingly, changing it with one grammar in every language,
refusing bad values with words from prompts/, and the conversation using it (default tone
and language, the signature, the colleagues offered at the question that asks for one)."""

from __future__ import annotations

import json
import re

import pytest

from core import profile as p
from core.actions import Ask, ControlKind, Result
from core.engine import step
from core.events import Answer, Restart, Start
from core.profile import ProfileError, UserProfile, edit, from_form
from core.questionnaire import Questionnaire
from core.state import ConversationState
from tests.conftest import TODAY
from tests.core.paths import PATHS

FULL = UserProfile(
    signature="Camille Martin",
    tone="formal",
    lang="fr",
    tz="Europe/Paris",
    wait=5,
    colleagues=("Marie Dupont", "Sam Lee (sam@example.com)"),
)


# --- stored as JSON ---------------------------------------------------------------------


def test_a_profile_round_trips_through_json(questionnaire: Questionnaire) -> None:
    for profile in (FULL, UserProfile(), UserProfile(wait=1), UserProfile(colleagues=("Zoé",))):
        assert UserProfile.from_json(profile.to_json(), questionnaire) == profile
    assert json.loads(UserProfile().to_json()) == {"schema": p.SCHEMA}  # nothing set, nothing kept


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, UserProfile()),
        ("", UserProfile()),
        ("not json", UserProfile()),
        ("[1, 2]", UserProfile()),
        # A newer version's field, and an older version's shape of a known one, are dropped.
        ('{"schema": 9, "tone": "brief", "mood": "sunny"}', UserProfile(tone="brief")),
        ('{"colleagues": "Sam Lee"}', UserProfile()),
        # Values that no longer fit the questionnaire or the rules go, one field at a time.
        ('{"tone": "shouty", "lang": "de", "signature": "Ana"}', UserProfile(signature="Ana")),
        ('{"tz": "Mars/Olympus_Mons", "wait": 0}', UserProfile()),
        ('{"tz": "../../etc/passwd", "wait": true}', UserProfile()),
        ('{"wait": 50, "signature": 12}', UserProfile()),
        ('{"wait": "4", "tz": "europe/paris"}', UserProfile(tz="Europe/Paris", wait=4)),
        (json.dumps({"signature": "x" * 81}), UserProfile()),
        # Colleagues: a bad name goes, repeats go, the rest up to the limit stay.
        (
            json.dumps({"colleagues": ["A", "a", 7, "x" * 61, "B", "C", "D", "E", "F"]}),
            UserProfile(colleagues=("A", "B", "C", "D", "E")),
        ),
    ],
)
def test_reading_keeps_what_fits_and_never_fails(
    questionnaire: Questionnaire, stored: str | None, expected: UserProfile
) -> None:
    assert UserProfile.from_json(stored, questionnaire) == expected


# --- the edit grammar -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "changed"),
    [
        ("signature Camille Martin", {"signature": "Camille Martin"}),
        ("sign   Camille  Martin ", {"signature": "Camille Martin"}),
        ("tone formal", {"tone": "formal"}),
        ("set tone Brief", {"tone": "brief"}),
        ("ton chaleureux", {"tone": "warm"}),  # French words, French tone label
        ("language fr", {"lang": "fr"}),
        ("langue Français", {"lang": "fr"}),
        ("timezone Europe/Paris", {"tz": "Europe/Paris"}),
        ("time zone america/new_york", {"tz": "America/New_York"}),
        ("fuseau horaire Paris", {"tz": "Europe/Paris"}),  # an unambiguous city
        ("tz New York", {"tz": "America/New_York"}),
        ("tz utc", {"tz": "UTC"}),
        ("wait 5", {"wait": 5}),
        ("délai 3 jours ouvrés", {"wait": 3}),
        ("colleague add Zoé Martin", {"colleagues": ("Marie Dupont", "Sam Lee", "Zoé Martin")}),
        ("collègues ajouter Zoé", {"colleagues": ("Marie Dupont", "Sam Lee", "Zoé")}),
        ("colleague remove marie dupont", {"colleagues": ("Sam Lee",)}),
        ("collègue retirer SAM LEE", {"colleagues": ("Marie Dupont",)}),
        ("clear signature", {"signature": None}),
        ("effacer ton", {"tone": None}),
        ("clear colleagues", {"colleagues": ()}),
        ("unset time zone", {"tz": None}),
    ],
)
def test_one_line_changes_one_thing(
    questionnaire: Questionnaire, typed: str, changed: dict[str, object]
) -> None:
    before = UserProfile(
        signature="Sam", tone="warm", tz="UTC", colleagues=("Marie Dupont", "Sam Lee")
    )
    after = edit(questionnaire, before, typed)
    assert isinstance(after, UserProfile), after
    assert {k: getattr(after, k) for k in changed} == changed
    untouched = [f for f in p.FIELDS if f not in changed]
    assert [getattr(after, f) for f in untouched] == [getattr(before, f) for f in untouched]


@pytest.mark.parametrize(
    ("typed", "field", "key"),
    [
        ("", None, "unknown"),
        ("colour blue", None, "unknown"),
        ("clear", None, "needs_value"),
        ("clear everything", None, "unknown"),
        ("signature", "signature", "needs_value"),
        ("signature " + "x" * 81, "signature", "signature_too_long"),
        ("tone shouty", "tone", "unknown_tone"),
        ("language de", "lang", "unknown_language"),
        ("timezone Mars/Olympus_Mons", "tz", "unknown_timezone"),
        ("timezone Springfield", "tz", "unknown_timezone"),
        ("wait 0", "wait", "bad_wait"),
        ("wait 21", "wait", "bad_wait"),
        ("wait soon", "wait", "bad_wait"),
        ("wait ５", "wait", "bad_wait"),  # a digit, but not one int() should be trusted with
        ("colleague", "colleagues", "colleague_usage"),
        ("colleague invite Zoé", "colleagues", "colleague_usage"),
        ("colleague add", "colleagues", "needs_value"),
        ("colleague add " + "x" * 61, "colleagues", "colleague_too_long"),
        ("colleague add MARIE  dupont", "colleagues", "duplicate_colleague"),
        ("colleague remove Zoé", "colleagues", "no_such_colleague"),
    ],
)
def test_a_refused_change_says_what_is_wrong_in_each_language(
    questionnaire: Questionnaire, typed: str, field: str | None, key: str
) -> None:
    before = UserProfile(colleagues=("Marie Dupont",))
    refused = edit(questionnaire, before, typed)
    assert isinstance(refused, ProfileError)
    assert (refused.field, refused.key) == (field, key)
    for lang in questionnaire.languages:
        text = refused.text(questionnaire, lang)
        assert text == p.word(
            questionnaire,
            lang,
            key,
            value=refused.value[: p.SHOWN_VALUE] + ("…" if len(refused.value) > 40 else ""),
            options=p._options(questionnaire, lang, key),
            min=p.MIN_WAIT,
            max=p._LIMITS.get(key, 0),
        )
        assert "{" not in text


def test_errors_name_what_to_type_instead(questionnaire: Questionnaire) -> None:
    q = questionnaire
    tone = edit(q, UserProfile(), "tone shouty")
    assert isinstance(tone, ProfileError)
    assert tone.text(q, "en") == '"shouty" is not one of the tones: Warm, Formal, Brief.'
    assert "Chaleureux, Formel, Concis" in tone.text(q, "fr")
    unknown = edit(q, UserProfile(), "colour blue")
    assert isinstance(unknown, ProfileError)
    assert unknown.text(q, "fr").endswith(
        "signature, ton, langue, fuseau, délai, collègue, effacer."
    )
    assert "en (English), fr (Français)" in edit(q, UserProfile(), "lang de").text(q, "en")  # type: ignore[union-attr]
    full = UserProfile(colleagues=tuple("ABCDE"))
    too_many = edit(q, full, "colleague add F")
    assert isinstance(too_many, ProfileError)
    assert str(p.MAX_COLLEAGUES) in too_many.text(q, "en")
    long = edit(q, UserProfile(), "tone " + "y" * 100)
    assert isinstance(long, ProfileError) and "y" * 40 + "…" in long.text(q, "en")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_example_the_help_gives_works(questionnaire: Questionnaire, lang: str) -> None:
    """The editor's own help ("To change it, write for example …") only shows lines that
    the grammar accepts, each changing the profile (applied in the order shown)."""
    how = p.word(questionnaire, lang, "how")
    examples = [a or b for a, b in re.findall(r'"([^"]+)"|«\u00a0([^»]+)\u00a0»', how)]
    assert len(examples) == 8
    profile = UserProfile()
    for example in examples:
        changed = edit(questionnaire, profile, example)
        assert isinstance(changed, UserProfile), (example, changed)
        assert changed != profile, example
        profile = changed


def test_the_colleagues_are_a_short_list(questionnaire: Questionnaire) -> None:
    profile = UserProfile()
    for name in "ABCDE":
        added = edit(questionnaire, profile, f"colleague add {name}")
        assert isinstance(added, UserProfile)
        profile = added
    assert profile.colleagues == tuple("ABCDE")
    assert isinstance(edit(questionnaire, profile, "colleague add F"), ProfileError)
    fewer = edit(questionnaire, profile, "colleague remove c")
    assert isinstance(fewer, UserProfile) and fewer.colleagues == tuple("ABDE")


# --- the form (every field at once) -------------------------------------------------------


def test_a_form_gives_a_whole_profile(questionnaire: Questionnaire) -> None:
    given = from_form(
        questionnaire,
        signature="  Camille Martin ",
        tone="formal",
        lang="fr",
        tz="europe/paris",
        wait="5",
        colleagues="Marie Dupont\n\n  Sam Lee (sam@example.com)\nmarie dupont\n",
    )
    assert given == FULL
    assert from_form(questionnaire) == UserProfile()  # every field empty: nothing set


def test_a_form_reports_every_refused_field(questionnaire: Questionnaire) -> None:
    errors = from_form(
        questionnaire,
        signature="x" * 81,
        tone="shouty",
        lang="fr",
        tz="Nowhere",
        wait="0",
        colleagues="\n".join("ABCDEF"),
    )
    assert isinstance(errors, dict)
    assert {f: e.key for f, e in errors.items()} == {
        "signature": "signature_too_long",
        "tone": "unknown_tone",
        "tz": "unknown_timezone",
        "wait": "bad_wait",
        "colleagues": "too_many_colleagues",
    }


# --- shown ------------------------------------------------------------------------------------


def test_the_profile_reads_the_same_everywhere(questionnaire: Questionnaire) -> None:
    assert p.lines(questionnaire, "en", FULL) == [
        "Signature: Camille Martin",
        "Default tone: Formal",
        "Default language: Français",
        "Time zone: Europe/Paris",
        "Wait before a reminder: 5 working days",
        "Colleagues to refer to: Marie Dupont · Sam Lee (sam@example.com)",
    ]
    nbsp = "\u00a0"
    assert p.lines(questionnaire, "fr", UserProfile(wait=1))[3:5] == [
        f"Fuseau horaire{nbsp}: à définir",
        f"Délai avant un rappel{nbsp}: 1 jour ouvré",
    ]
    assert p.label(questionnaire, "en", "tz") == "Time zone"


# --- the conversation uses it -------------------------------------------------------------


def start(
    q: Questionnaire,
    saved: UserProfile | None,
    state: ConversationState | None = None,
    **given: object,
) -> tuple[ConversationState, list]:
    new, actions = step(q, state, Start(today=TODAY, profile=saved, **given))  # type: ignore[arg-type]
    assert new is not None
    return new, actions


def answer(
    q: Questionnaire, state: ConversationState, *texts: str
) -> tuple[ConversationState, list]:
    actions: list = []
    for text in texts:
        new, actions = step(q, state, Answer(text, today=TODAY))
        assert new is not None
        state = new
    return state, actions


def only_ask(actions: list) -> Ask:
    (ask,) = [a for a in actions if isinstance(a, Ask)]
    return ask


def only_result(actions: list) -> Result:
    (result,) = [a for a in actions if isinstance(a, Result)]
    return result


def test_the_saved_tone_and_language_start_a_conversation(questionnaire: Questionnaire) -> None:
    q = questionnaire
    state, actions = start(q, UserProfile(tone="brief", lang="fr"), locale="en-US")
    assert (state.lang, state.tone) == ("fr", "brief")  # beats the platform's locale
    assert only_ask(actions).lang == "fr"
    # Asked for explicitly at the start (a command's language, --tone): that wins.
    state, _ = start(q, UserProfile(tone="brief", lang="fr"), lang="en", tone="formal")
    assert (state.lang, state.tone) == ("en", "formal")
    # Nothing saved: as before.
    state, _ = start(q, UserProfile(), locale="fr-FR")
    assert (state.lang, state.tone) == ("fr", "warm")


def test_a_conversation_under_way_keeps_its_own_language(questionnaire: Questionnaire) -> None:
    q = questionnaire
    state, _ = start(q, None, lang="en")
    state, _ = answer(q, state, "Acme", "yes")
    resumed, actions = start(q, UserProfile(lang="fr", tone="brief"), state)
    assert (resumed.lang, resumed.tone) == ("en", "warm")
    assert only_ask(actions).question == "resume" and only_ask(actions).lang == "en"
    # A fresh start is a new conversation: the saved defaults apply again.
    fresh, _ = start(q, UserProfile(lang="fr", tone="brief"), state, fresh=True)
    assert (fresh.lang, fresh.tone) == ("fr", "brief")


def test_the_saved_signature_signs_the_reply(questionnaire: Questionnaire) -> None:
    q = questionnaire
    state, _ = start(q, UserProfile(signature="Camille Martin"), signature="cam_92")
    _, actions = answer(q, state, "Anna", *PATHS["accept"])
    draft = only_result(actions).draft or ""
    assert draft.rstrip().endswith("Camille Martin") and "cam_92" not in draft
    # Without one saved, the platform's name signs it, as before.
    state, _ = start(q, UserProfile(), signature="cam_92")
    _, actions = answer(q, state, "Anna", *PATHS["accept"])
    assert (only_result(actions).draft or "").rstrip().endswith("cam_92")


def at_colleague(
    q: Questionnaire, saved: UserProfile | None, lang: str = "en"
) -> tuple[ConversationState, Ask]:
    state, _ = start(q, saved, lang=lang)
    state, actions = answer(q, state, "Anna", *PATHS["refer"][:-1])
    ask = only_ask(actions)
    assert ask.question == "colleague"
    return state, ask


def test_saved_colleagues_are_offered_beside_someone_else(questionnaire: Questionnaire) -> None:
    q = questionnaire
    _, ask = at_colleague(q, UserProfile(colleagues=("Marie Dupont", "Sam Lee")))
    assert [(c.id, c.label) for c in ask.choices] == [
        ("saved1", "Marie Dupont"),
        ("saved2", "Sam Lee"),
    ]
    answers = [c for c in ask.controls if c.kind is ControlKind.ANSWER]
    assert [(c.value, c.label, c.word) for c in answers] == [
        ("saved1", "Marie Dupont", "1"),
        ("saved2", "Sam Lee", "2"),
        ("skip", "Skip", "skip"),
    ]
    assert all(c.version == ask.version and c.question == "colleague" for c in ask.controls)
    (typed,) = [c for c in ask.controls if c.kind is ControlKind.TYPE]
    assert typed.label == "Someone else: type a name"
    _, french = at_colleague(q, UserProfile(colleagues=("Marie Dupont",)), "fr")
    assert [c.label for c in french.controls if c.kind is ControlKind.TYPE] == [
        "Quelqu’un d’autre\u00a0: saisir un nom"
    ]


@pytest.mark.parametrize(
    ("answer_given", "button", "colleague"),
    [
        ("saved2", True, "Sam Lee"),  # the button
        ("2", False, "Sam Lee"),  # its number, typed
        ("Zoé Martin", False, "Zoé Martin"),  # someone else, typed
        ('"2"', False, "2"),  # quoted: taken as written
        ("saved2", False, "saved2"),  # a button's value typed is a name like any other
    ],
)
def test_a_saved_colleague_is_picked_by_button_or_number(
    questionnaire: Questionnaire, answer_given: str, button: bool, colleague: str
) -> None:
    q = questionnaire
    state, ask = at_colleague(q, UserProfile(colleagues=("Marie Dupont", "Sam Lee")))
    event = (
        Answer(answer_given, TODAY, question="colleague", version=ask.version)
        if button
        else Answer(answer_given, TODAY)
    )
    done, actions = step(q, state, event)
    assert done is not None and done.answers["colleague"] == colleague
    assert colleague in (only_result(actions).draft or "")


def test_without_saved_colleagues_the_question_is_as_before(questionnaire: Questionnaire) -> None:
    q = questionnaire
    _, plain = at_colleague(q, None)
    assert plain.choices == ()
    assert [c.label for c in plain.controls if c.kind is ControlKind.TYPE] == ["Type my answer"]
    state, _ = at_colleague(q, UserProfile(colleagues=("Marie Dupont",)))
    # A number with nothing saved under it is a name that looks like a slip: asked again.
    again, actions = step(q, state, Answer("3", TODAY))
    assert again is state and only_ask(actions).question == "colleague"


def test_only_the_colleague_question_picks_a_saved_colleague(
    questionnaire: Questionnaire,
) -> None:
    q = questionnaire
    state, actions = start(q, UserProfile(colleagues=("Marie Dupont",)))
    assert only_ask(actions).question == "client" and only_ask(actions).choices == ()
    # "1" at the who-is-it-from question is a doubtful name, never the saved colleague.
    again, actions = step(q, state, Answer("1", TODAY))
    assert again is state and only_ask(actions).question == "client"
    button = Answer("saved1", TODAY, question="client", version=state.version)
    named, _ = step(q, state, button)
    assert named is not None and named.answers["client"] == "saved1"


def test_each_user_sees_their_own_colleagues(questionnaire: Questionnaire) -> None:
    """The question's memoised parts are shared by every user; the colleagues are not."""
    q = questionnaire
    _, first = at_colleague(q, UserProfile(colleagues=("Marie Dupont",)))
    _, second = at_colleague(q, UserProfile(colleagues=("Sam Lee", "Zoé")))
    _, third = at_colleague(q, None)
    assert [c.label for c in first.choices] == ["Marie Dupont"]
    assert [c.label for c in second.choices] == ["Sam Lee", "Zoé"]
    assert third.choices == ()
    assert [c.label for c in third.controls if c.kind is ControlKind.ANSWER] == ["Skip"]


def test_starting_over_keeps_the_saved_colleagues(questionnaire: Questionnaire) -> None:
    q = questionnaire
    state, _ = at_colleague(q, UserProfile(colleagues=("Marie Dupont",)))
    restarted, _ = step(q, state, Restart())
    assert restarted is not None
    state, actions = answer(q, restarted, "Anna", *PATHS["refer"][:-1])
    assert [c.label for c in only_ask(actions).choices] == ["Marie Dupont"]
    # ...and the state that holds them still round-trips through the store's JSON.
    assert ConversationState.from_json(state.to_json()) == state
