"""``should-i-take-it profile``: show the saved profile, change one thing with the edit
grammar, be told why a change is refused; a conversation started afterwards uses it, and
``forget`` deletes it. The console script's ``main`` runs in this process, on one store
shared by every run (as the SQLite file is between runs)."""

from __future__ import annotations

import json
from typing import Any

from tests.core.paths import PATHS
from tests.terminal.test_terminal import lines

NBSP = "\u00a0"


def test_an_empty_profile_is_shown_with_how_to_change_it(cli: Any) -> None:
    status, out, err = cli(["profile"])
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "Your profile",
        "  Signature: not set",
        "  Default tone: not set",
        "  Default language: not set",
        "  Time zone: not set",
        "  Wait before a reminder: not set",
        "  Colleagues to refer to: not set",
        "",
        'To change it, write for example "tone formal", "language fr", "signature Camille '
        'Martin", "timezone Europe/Paris", "wait 5", "colleague add Sam Lee", "colleague '
        'remove Sam Lee" or "clear signature".',
    ]


def test_each_change_is_saved_and_shown(cli: Any) -> None:
    status, out, _ = cli(["profile", "tone", "formal"])
    assert status == 0
    assert out.splitlines()[:2] == ["Saved.", "Your profile"]
    assert "  Default tone: Formal" in out.splitlines()
    for change in (
        ["set", "signature", "Camille", "Martin"],
        ["timezone", "paris"],
        ["wait", "5"],
        ["colleague", "add", "Marie", "Dupont"],
        ["colleague", "add", "Sam", "Lee"],
        ["colleague", "remove", "sam", "lee"],
    ):
        assert cli(["profile", *change])[0] == 0, change
    status, out, _ = cli(["profile", "--json"])
    assert json.loads(out) == {
        "schema": 1,
        "signature": "Camille Martin",
        "tone": "formal",
        "tz": "Europe/Paris",
        "wait": 5,
        "colleagues": ["Marie Dupont"],
    }


def test_options_after_the_change_are_options_not_part_of_it(cli: Any) -> None:
    status, out, _ = cli(["profile", "signature", "Camille", "--json"])
    assert status == 0 and json.loads(out)["signature"] == "Camille"
    status, out, _ = cli(["profile", "tone", "formal", "--lang", "fr"])
    assert status == 0 and out.splitlines()[0] == "C’est enregistré."
    status, out, _ = cli(["profile", "colleague", "add", "Sam", "Lee", "--lang=en", "--json"])
    assert json.loads(out)["colleagues"] == ["Sam Lee"]
    status, _, err = cli(["profile", "tone", "brief", "--lang"])
    assert status == 2 and "argument --lang: expected one argument" in err


def test_a_refused_change_says_why_and_saves_nothing(cli: Any) -> None:
    cli(["profile", "wait", "4"])
    status, out, err = cli(["profile", "wait", "99"])
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        "The wait is a whole number of working days, from 1 to 20.",
        'To change it, write for example "tone formal", "language fr", "signature Camille '
        'Martin", "timezone Europe/Paris", "wait 5", "colleague add Sam Lee", "colleague '
        'remove Sam Lee" or "clear signature".',
    ]
    assert json.loads(cli(["profile", "--json"])[1])["wait"] == 4
    status, _, err = cli(["profile", "colour", "blue"])
    assert status == 2 and err.startswith('I can\'t change "colour". Start with one of: signature,')


def test_in_french_with_french_words(cli: Any) -> None:
    status, out, _ = cli(["profile", "ton", "chaleureux"], lang="fr_FR.UTF-8")
    assert status == 0
    assert out.splitlines()[:3] == [
        "C’est enregistré.",
        "Votre profil",
        f"  Signature{NBSP}: à définir",
    ]
    assert f"  Ton par défaut{NBSP}: Chaleureux" in out.splitlines()
    status, _, err = cli(["profile", "--lang", "fr", "fuseau", "Atlantide"])
    assert status == 2
    assert err.startswith(f"Je ne connais pas le fuseau horaire «{NBSP}Atlantide{NBSP}».")


def test_a_conversation_uses_the_profile_and_forget_deletes_it(cli: Any) -> None:
    for change in (
        "signature Camille Martin",
        "tone brief",
        "language fr",
        "colleague add Marie Dupont",
        "colleague add Sam Lee",
    ):
        assert cli(["profile", *change.split()])[0] == 0
    # The English terminal, a signature on the command line: what was saved wins, except
    # for what this run asks for explicitly (none here but --signature, which the profile
    # replaces).
    answers = ["Anna", *PATHS["refer"][:-1], "2"]
    status, out, _ = cli(["--json", "--signature", "Cam"], "\n".join(answers) + "\n")
    said = lines(out)
    (colleague,) = [s for s in said if s.get("question") == "colleague"]
    assert [c["label"] for c in colleague["choices"]] == ["Marie Dupont", "Sam Lee"]
    result = said[-1]
    assert status == 0 and result["type"] == "result"
    assert (result["lang"], result["tone"]) == ("fr", "brief")
    assert "Sam Lee" in result["draft"] and result["draft"].rstrip().endswith("Camille Martin")
    # --lang and --tone given for this run win over the saved defaults.
    status, out, _ = cli(["--json", "--fresh", "--lang", "en", "--tone", "warm"], "skip\nno\n")
    assert (lines(out)[-1]["lang"], lines(out)[-1]["tone"]) == ("en", "warm")

    assert cli(["forget", "--yes"])[0] == 0
    assert json.loads(cli(["profile", "--json"])[1]) == {"schema": 1}
