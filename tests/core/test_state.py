"""The conversation state round-trips through JSON exactly, and refuses what it cannot read."""

from __future__ import annotations

import pytest

from core.state import SCHEMA_VERSION, ConversationState, StateError

FULL = ConversationState(
    lang="fr",
    tone="brief",
    step="free_from",
    status="active",
    version=7,
    history=("client", "time", "not_yet"),
    answers={"client": 'Zoë 🙂 "quoted"', "time": "no"},
    context={"request": "Logo <!channel> & site"},
    outcome=None,
    pending="resume",
)


@pytest.mark.parametrize("state", [FULL, ConversationState(lang="en", tone="warm", step="client")])
def test_round_trip_is_exact(state: ConversationState) -> None:
    text = state.to_json()
    assert ConversationState.from_json(text) == state
    assert ConversationState.from_json(text).to_json() == text
    assert f'"schema":{SCHEMA_VERSION}' in text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        '{"schema": 99}',
        FULL.to_json().replace('"version":7', '"version":-1'),
        FULL.to_json().replace('"status":"active"', '"status":"paused"'),
        FULL.to_json().replace('"lang":"fr",', ""),
        FULL.to_json().replace('"time":"no"', '"time":3'),
        FULL.to_json().replace('"version":7', '"version":true'),
    ],
)
def test_unreadable_states_raise_state_error(text: str) -> None:
    with pytest.raises(StateError):
        ConversationState.from_json(text)


def test_a_small_value() -> None:
    assert len(FULL.to_json().encode()) < 400
