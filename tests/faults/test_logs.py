"""What a ``web`` process logs: at LOG_LEVEL=DEBUG one ``turn platform=slack ...`` line per
turn with its latency, and never a token, the signing secret or anything a person typed,
not even in a request refused for its signature."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest

from core.questionnaire import Questionnaire
from tests.faults.conftest import StartWeb
from tests.faults.harness import (
    TOKEN,
    RemoteSlack,
    answer,
    asked,
    log_records,
    plan,
    signed,
    turn,
    unexpected_errors,
    users,
)
from tests.slack.conftest import SECRET

CLIENT = "Zyxwvut Client"  # typed by the people below: must never reach the log
SECRETS = (TOKEN, SECRET, "xoxb-", "Zyxwvut", "Qwertz", "Plover")
TURN = re.compile(
    r" INFO should_i_take_it\.turn turn platform=slack event=\w+ at=\S+ "
    r"effect=[a-z]+ latency_ms=\d+\.\d$"
)


@pytest.mark.postgres
async def test_one_line_per_turn_and_nothing_secret(
    start_web: StartWeb, slack: RemoteSlack, questionnaire: Questionnaire
) -> None:
    web = start_web(log_level="DEBUG")
    slack.point_at(web.url)
    turns = 0
    texts = {"fee_proposal": "Qwertz €900 per day", "colleague": "Plover Sam"}

    async def conversation(user: str, outcome: str) -> None:
        nonlocal turns
        await turn(slack, user, slack.command(f"{CLIENT} wants a new logo", user=user))
        turns += 1
        chosen = plan(questionnaire, outcome) | texts | {"client": CLIENT}
        while (question := asked(slack.question(user))) is not None:
            await answer(slack, user, chosen[question], typed=question in texts)
            turns += 1

    people = users(3, "UL")
    outcomes = ["negotiate_fee", "refer", "accept"]
    await asyncio.gather(*(conversation(u, o) for u, o in zip(people, outcomes, strict=True)))
    await turn(slack, people[0], slack.dm("back", user=people[0]))  # one more, after the end
    turns += 1
    web.terminate()
    assert await asyncio.to_thread(web.process.wait, 10) == 0  # type: ignore[union-attr]

    log = web.log()
    lines = [line for line in log.splitlines() if "turn platform=" in line]
    assert len(lines) == turns
    assert all(TURN.search(line) for line in lines), lines
    assert log_records(log, "DEBUG"), "LOG_LEVEL=DEBUG is respected"
    for secret in SECRETS:
        assert secret not in log, secret
    assert unexpected_errors(log) == []


@pytest.mark.postgres
async def test_a_request_with_a_bad_signature_is_not_logged_with_its_text(
    start_web: StartWeb, http: aiohttp.ClientSession
) -> None:
    web = start_web()
    body = (
        '{"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": '
        f'{{"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", '
        f'"text": "{CLIENT} wants a logo"}}}}'
    ).encode()
    stale = signed(body, stamp=int(time.time()) - 6 * 60)
    async with http.post(
        f"{web.url}/slack/events",
        data=body,
        headers={**stale, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 401
    await asyncio.sleep(0.2)
    # A dyno whose clock is 5 minutes off refuses everything; its log must not fill up
    # with what people typed (Bolt's own verifier logs the whole body at INFO).
    assert CLIENT not in web.log()
