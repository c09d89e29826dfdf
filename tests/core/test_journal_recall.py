"""The method's fourth question served by the journal: at the triage question the bot says
what the user last decided about the same client (matched by a normalised name)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from core import journal
from core.actions import Ask
from core.engine import journal_client, step, with_journal
from core.events import Answer, Back, ChangeLanguage, Restart, Start
from core.followup import fingerprint
from core.names import match_key
from core.ports import Decision
from core.questionnaire import Questionnaire
from core.state import ConversationState
from tests.conftest import TODAY

NOV3 = datetime(2026, 11, 3, 15, 30, tzinfo=UTC)


def decided(outcome: str, client: str | None, when: datetime = NOV3) -> Decision:
    return Decision(outcome=outcome, decided_at=when, lang="en", platform="test", client=client)


def triage(
    q: Questionnaire, found: list[Decision], *answers: str, **start: object
) -> tuple[ConversationState, Ask]:
    """Start (and answer), then do what the session does when the triage question is next."""
    state, actions = step(q, None, Start(today=TODAY, **start))  # type: ignore[arg-type]
    for text in answers:
        state, actions = step(q, state, Answer(text, today=TODAY))
    assert state is not None
    if journal_client(q, state) is not None:
        state, actions = with_journal(q, state, actions, found)
    assert state is not None
    (ask,) = [a for a in actions if isinstance(a, Ask)]
    assert ask.question == "respond"
    return state, ask


@pytest.mark.parametrize(
    ("name", "same"),
    [
        ("Acme", "ACME"),
        ("Acme", "  acme  "),
        ("ACME, Inc.", "Acme"),
        ("Acme SAS", "acme sarl"),
        ("Élodie Crème", "elodie creme"),
        ("Mme Anne-Marie Dupont", "anne marie  DUPONT"),
        ("M. Martin", "Martin"),
        ("Mr John Smith", "john smith"),
        ("Madame Dupont", "Mme Dupont"),
    ],
)
def test_spellings_of_one_client_share_a_key(name: str, same: str) -> None:
    assert match_key(name) == match_key(same) != ""


@pytest.mark.parametrize(
    ("name", "other"),
    [("Acme", "Acme Studio"), ("Anna", "Anne"), ("Jean Martin", "Martin"), ("Co", "Inc")],
)
def test_different_clients_do_not(name: str, other: str) -> None:
    assert match_key(name) != match_key(other)


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        ("decline", "You declined Acme on November 3, 2026."),
        ("no_reply", "On November 3, 2026 you decided a message from Acme needed no reply."),
        ("accept", "You took on a request from Acme on November 3, 2026."),
        ("booked", "On November 3, 2026 you told Acme you were booked."),
        ("refer", "On November 3, 2026 you pointed Acme to a colleague."),
        (
            "negotiate_timeline",
            "You've been negotiating a timeline with Acme since November 3, 2026.",
        ),
        ("negotiate_fee", "You've been negotiating the fee with Acme since November 3, 2026."),
        ("gone_from_the_flow", "You decided on a request from Acme on November 3, 2026."),
    ],
)
def test_the_line_follows_the_latest_decision_outcome(
    questionnaire: Questionnaire, outcome: str, line: str
) -> None:
    _, ask = triage(questionnaire, [decided(outcome, "ACME inc.")], client="Acme")
    assert ask.hint.startswith(line)
    assert questionnaire.question_hint("en", "respond") in ask.hint  # the usual hint stays


def test_the_latest_matching_decision_wins(questionnaire: Questionnaire) -> None:
    found = [
        decided("accept", "Someone else", datetime(2026, 11, 20, tzinfo=UTC)),
        decided("negotiate_fee", "acme", datetime(2026, 11, 10, tzinfo=UTC)),
        decided("decline", "Acme", datetime(2026, 10, 1, tzinfo=UTC)),
    ]
    _, ask = triage(questionnaire, found, "Acme")  # typed at the client question
    assert ask.hint.startswith("You've been negotiating the fee with Acme since November 10, 2026.")


def test_no_line_for_a_client_the_journal_does_not_know(questionnaire: Questionnaire) -> None:
    found = [decided("decline", "Acme"), decided("accept", None)]
    state, ask = triage(questionnaire, found, client="Globex")
    assert ask.hint == questionnaire.question_hint("en", "respond")
    # What was found (nothing) is kept, so the journal is not read again for Globex.
    assert journal_client(questionnaire, state) is None


def test_no_lookup_without_a_client_name(questionnaire: Questionnaire) -> None:
    state, _ = step(questionnaire, None, Start(today=TODAY))
    assert journal_client(questionnaire, state) is None  # at the "who" question
    state, _ = step(questionnaire, state, Answer("skip", today=TODAY))
    assert state is not None and state.step == "respond"
    assert journal_client(questionnaire, state) is None


def test_french_wording_and_dates(questionnaire: Questionnaire) -> None:
    found = [decided("decline", "Mme Dupont", datetime(2026, 11, 1, tzinfo=UTC))]
    _, ask = triage(questionnaire, found, client="madame dupont", lang="fr")
    assert ask.hint.startswith("Vous avez dit non à Madame Dupont le 1er novembre 2026.")
    _, ask = triage(
        questionnaire, [decided("negotiate_timeline", "Acme")], client="Acme", lang="fr"
    )
    assert ask.hint.startswith("Vous négociez un délai avec Acme depuis le 3 novembre 2026.")


def test_the_date_follows_the_users_region(questionnaire: Questionnaire) -> None:
    _, ask = triage(questionnaire, [decided("decline", "Acme")], client="Acme", locale="en-GB")
    assert ask.hint.startswith("You declined Acme on 3 November 2026.")


def test_the_line_survives_back_and_a_language_change(questionnaire: Questionnaire) -> None:
    state, _ = triage(questionnaire, [decided("decline", "Acme")], client="Acme")
    state, _ = step(questionnaire, state, Answer("yes", today=TODAY))
    assert state is not None
    state, actions = step(questionnaire, state, Back())
    (ask,) = [a for a in actions if isinstance(a, Ask)]
    assert ask.hint.startswith("You declined Acme on November 3, 2026.")
    state, actions = step(questionnaire, state, ChangeLanguage("fr"))
    (ask,) = [a for a in actions if isinstance(a, Ask)]
    assert ask.hint.startswith("Vous avez dit non à Acme le 3 novembre 2026.")
    assert journal_client(questionnaire, state) is None  # no second read


def test_a_new_client_name_is_looked_up_again(questionnaire: Questionnaire) -> None:
    state, _ = triage(questionnaire, [], "Acme")
    state, _ = step(questionnaire, state, Back())
    state, _ = step(questionnaire, state, Answer("Globex", today=TODAY))
    assert journal_client(questionnaire, state) == "Globex"


def test_a_restart_reads_the_journal_afresh(questionnaire: Questionnaire) -> None:
    state, _ = triage(questionnaire, [], client="Acme")
    state, _ = step(questionnaire, state, Answer("no", today=TODAY))  # decided: no reply
    state, _ = step(questionnaire, state, Restart())
    assert journal_client(questionnaire, state) == "Acme"


def test_the_recalled_value_round_trips() -> None:
    found = journal.recall([decided("decline", "Acme Ltd")], "acme")
    assert found == journal.Recalled("acme", "decline", date(2026, 11, 3))
    assert journal.Recalled.decode(found.encode()) == found
    assert journal.Recalled.decode("acme") == journal.Recalled("acme")
    assert journal.Recalled.decode("a|b") is None
    assert journal.Recalled.decode("a|b|not a date") is None


# --- the same request seen before (a repeat) -------------------------------------------

REQUEST = "Hi! Could you build our online shop by Friday? We need it ASAP."


def decided_about(
    outcome: str, client: str, request: str | None, when: datetime = NOV3
) -> Decision:
    details = (("request", fingerprint(request)),) if request else ()
    return replace(decided(outcome, client, when), details=details)


def test_the_same_request_from_the_same_client_is_flagged(questionnaire: Questionnaire) -> None:
    found = [decided_about("decline", "ACME inc.", REQUEST)]
    # Pasted again, differently spaced and punctuated.
    again = "hi could you build our ONLINE shop by friday  we need it asap"
    _, ask = triage(questionnaire, found, client="Acme", request=again)
    assert ask.hint.startswith(
        "Acme sent you this same request on November 3, 2026, and you declined it. "
        + questionnaire.question_hint("en", "respond")
    )


def test_a_repeat_says_the_latest_decision_too_when_it_was_another(
    questionnaire: Questionnaire,
) -> None:
    found = [
        decided_about("no_reply", "Acme", REQUEST, datetime(2026, 10, 1, tzinfo=UTC)),
        decided_about("accept", "Acme", "A brand new logo", datetime(2026, 11, 20, tzinfo=UTC)),
    ]
    _, ask = triage(questionnaire, found, client="Acme", request=REQUEST, lang="fr")
    assert " ".join(ask.hint.split()).startswith(
        "Acme vous a déjà envoyé cette même demande le 1er octobre 2026, et vous avez choisi "
        "de ne pas y répondre. Vous avez dit oui à Acme le 20 novembre 2026."
    )


@pytest.mark.parametrize(
    ("found", "text"),
    [
        ([decided_about("decline", "Acme", "Another request entirely")], REQUEST),
        ([decided_about("decline", "Globex", REQUEST)], REQUEST),  # another client
        ([decided_about("decline", "Acme", REQUEST)], None),  # nothing to compare
        ([decided("decline", "Acme")], REQUEST),  # decided before fingerprints were kept
    ],
)
def test_no_repeat_without_the_same_request_from_the_same_client(
    questionnaire: Questionnaire, found: list[Decision], text: str | None
) -> None:
    _, ask = triage(questionnaire, found, client="Acme", request=text)
    assert "sent you this same request" not in ask.hint


def test_the_recalled_repeat_round_trips_and_old_encodings_still_read() -> None:
    found = journal.recall(
        [
            decided_about("decline", "Acme", REQUEST),
            decided_about("accept", "Acme", "other", datetime(2026, 11, 9, tzinfo=UTC)),
        ],
        "acme",
        REQUEST,
    )
    assert found == journal.Recalled(
        "acme", "accept", date(2026, 11, 9), "decline", date(2026, 11, 3)
    )
    assert journal.Recalled.decode(found.encode()) == found
    # What conversations saved before this change hold.
    assert journal.Recalled.decode("acme|decline|2026-11-03") == journal.Recalled(
        "acme", "decline", date(2026, 11, 3)
    )
    assert journal.Recalled.decode("acme|decline|2026-11-03|accept") is None
    assert journal.Recalled.decode("acme|decline|2026-11-03|accept|soon") is None
