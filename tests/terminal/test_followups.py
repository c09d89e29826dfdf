"""Follow-through on the terminal: the result says which command takes the next step;
``history`` shows where each request stands and its steps; ``next N STEP`` prints the
step's draft and records it once; a follow-up that came due is shown at the next start
("Follow-ups due since last time: 1"), once. ``main`` runs in this process on one shared
store, as the SQLite file is shared between runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bots.terminal import local_key
from core.memory_store import MemoryStore
from core.ports import Reminder, Step

FEE = "Acme\nyes\nyes\nno\nfee\n4500 EUR\n\n"  # ends asking Acme for a higher fee


def test_the_result_names_the_command_for_the_next_step(cli: Any) -> None:
    status, out, _ = cli(["--fresh"], FEE)
    assert status == 0
    assert "should-i-take-it next 1 STEP (STEP: agreed, couldnt, wait 3, wait 5, stop)" in out
    # The next steps are not offered as words to type into the conversation.
    assert "[agreed]" not in out


def test_history_shows_where_it_stands_and_next_records_the_step_once(cli: Any) -> None:
    cli(["--fresh"], FEE)
    status, out, _ = cli(["history"])
    assert status == 0
    assert "(Acme) · waiting for their answer · reminder on " in out
    assert "should-i-take-it next 1 STEP" in out

    status, out, err = cli(["next", "1", "couldnt"])
    assert (status, err) == (0, "")
    assert "Hi Acme," in out  # the thank-you draft
    status, again, _ = cli(["next", "1", "couldnt"])
    assert status == 0 and "Hi Acme," in again  # shown again, recorded once
    status, out, _ = cli(["history"])
    assert "(Acme) · they couldn't" in out
    assert "should-i-take-it next 1" not in out  # settled: nothing left to do

    status, _, err = cli(["next", "1", "agreed"])
    assert status == 1 and 'Decision 1 doesn\'t offer "agreed" at this stage.' in err


def test_next_on_a_decision_that_does_not_exist_says_what_to_do(cli: Any) -> None:
    status, out, err = cli(["next", "3", "agreed"])
    assert status == 1 and out == ""
    assert "There is no decision number 3" in err and "should-i-take-it history" in err


def test_next_with_a_word_that_is_no_step_lists_the_steps_open(cli: Any) -> None:
    cli(["--fresh"], FEE)
    status, out, err = cli(["next", "1", "dance"])
    assert status == 1 and out == ""
    assert 'There is no step called "dance".' in err
    assert "should-i-take-it next 1 STEP (STEP: agreed, couldnt, wait 3, wait 5, stop)" in err
    cli(["next", "1", "couldnt"])
    status, out, err = cli(["next", "1", "dance", "--lang", "fr"])
    assert status == 1
    assert "Il n’y a pas d’étape «\u00a0dance\u00a0». La décision 1 n’a plus d’étape" in err


async def _make_due(store: MemoryStore) -> None:
    (entry,) = await store.decisions(local_key())
    past = datetime.now(UTC) - timedelta(hours=1)
    await store.follow_up(
        local_key(),
        entry.ref,
        Step("snoozed", past),
        reschedule=True,
        reminder=Reminder("answer", past),
    )


def test_a_due_follow_up_is_shown_once_at_the_next_start(cli: Any, store: MemoryStore) -> None:
    import asyncio

    cli(["--fresh"], FEE)
    asyncio.run(_make_due(store))
    _, out, _ = cli(["--fresh"], "")
    assert "Follow-ups due since last time: 1." in out
    assert "Acme" in out.split("Follow-ups due since last time: 1.")[1]
    assert "should-i-take-it next 1 STEP" in out
    _, later, _ = cli(["--fresh"], "")
    assert "Follow-ups due" not in later
    # Recorded on the entry, as a Slack or Discord reminder is: when it was brought up.
    (entry,) = asyncio.run(store.decisions(local_key()))
    assert [s.name for s in entry.steps][-1] == "reminded"


def test_in_french_the_steps_are_french_words(cli: Any) -> None:
    cli(["--fresh"], FEE)
    _, out, _ = cli(["history", "--lang", "fr"])
    assert "(ÉTAPE\u00a0: accord, refus, attendre 3, attendre 5, arrêt)" in out
    status, out, _ = cli(["next", "1", "refus", "--lang", "fr"])
    assert status == 0 and "Hi Acme," in out  # the draft speaks the entry's language
    _, out, _ = cli(["history"])
    assert "(Acme) · they couldn't" in out


def test_the_saved_language_is_the_pages_language_unless_lang_says(cli: Any) -> None:
    cli(["--fresh"], FEE)
    assert cli(["profile", "language", "fr"])[0] == 0
    _, out, _ = cli(["history"])
    assert "Vos décisions récentes" in out and "(ÉTAPE\u00a0: accord, refus" in out
    _, out, _ = cli(["history", "--lang", "en"])
    assert "Your recent decisions" in out
    status, _, err = cli(["next", "1", "dance"])
    assert status == 1 and "Il n’y a pas d’étape" in err


def test_history_json_names_each_step_as_next_takes_it(cli: Any) -> None:
    import json

    cli(["--fresh"], FEE)
    _, out, _ = cli(["history", "--json"])
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry["next"] == ["agreed", "couldnt", "wait 3", "wait 5", "stop"]
    assert entry["status"] is None
    assert entry["stands"].startswith("waiting for their answer · reminder on ")
    cli(["next", "1", "couldnt"])
    _, out, _ = cli(["history", "--json"])
    entry = json.loads(out)
    assert (entry["status"], entry["stands"], entry["next"]) == ("couldnt", "they couldn't", [])


def test_a_step_without_one_of_its_values_says_which_it_takes(cli: Any) -> None:
    cli(["--fresh"], FEE)
    for value in ([], ["7"], ["abc"]):
        status, out, err = cli(["next", "1", "wait", *value])
        assert status == 1 and out == ""
        assert 'After "wait", give one of these values: 3, 5.' in err
    status, out, _ = cli(["next", "1", "attendre", "5", "--lang", "fr"])
    assert status == 0 and "Noted. I'll check in with you on " in out  # the entry speaks English


def test_json_results_give_each_next_step_as_next_takes_it(cli: Any) -> None:
    import json

    _, out, _ = cli(["--fresh", "--json"], FEE)
    (result,) = [m for m in map(json.loads, out.splitlines()) if m.get("type") == "result"]
    steps = [c["step"] for c in result["controls"] if c["kind"] == "next"]
    assert steps == ["agreed", "couldnt", "wait 3", "wait 5", "stop"]


def test_a_step_this_decision_never_offers_is_said_so_in_the_pages_language(cli: Any) -> None:
    cli(["--fresh", "--lang", "fr"], "Acme\nyes\nno\nno\nyes\nSam Lee\n\n")  # a referral
    status, out, err = cli(["next", "1", "agreed", "--lang", "en"])
    assert status == 1 and out == ""
    assert '"agreed" is not a step of decision 1.' in err
    assert "should-i-take-it next 1 STEP" in err


def test_history_says_when_there_are_more_than_it_shows(cli: Any) -> None:
    for _ in range(3):
        cli(["--fresh"], FEE)
    _, out, _ = cli(["history", "--limit", "2"])
    assert out.count("(Acme)") == 2
    assert out.rstrip().endswith("There are more: raise --limit (now 2) to see them.")
    _, out, _ = cli(["history", "--limit", "3"])
    assert "There are more" not in out


def test_a_step_not_open_yet_or_given_a_value_it_does_not_take_says_so(cli: Any) -> None:
    cli(["--fresh"], "Acme\nyes\nno\nno\nyes\nskip\n\n")  # a referral, nobody named
    status, _, err = cli(["next", "1", "headsup"])  # waits for the introduction
    assert status == 1 and 'Decision 1 doesn\'t offer "headsup" at this stage.' in err
    assert "(STEP: intro)" in err
    status, _, err = cli(["next", "1", "intro", "please"])
    assert status == 1 and '"intro" takes no value.' in err
    assert cli(["next", "1", "intro"])[0] == 0
    status, out, _ = cli(["next", "1", "intro"])  # taken: its draft shown again
    assert status == 0 and "Hi Acme," in out
