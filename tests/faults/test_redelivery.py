"""A redelivery storm: every event arrives four times at once (Slack's original delivery
and its three retries, same ``event_id``, ``X-Slack-Retry-Num`` 1..3) and every click
twice at once (a double click). Each turn still happens exactly once: one answer posted,
one question frozen, one save, one journal entry; a redelivered event is dropped silently
(by the inbox, before its ack) and the second click of a double click gets the private
"no longer open" notice.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core.actions import ControlKind as Kind
from core.ports import Store
from core.questionnaire import Questionnaire
from tests.core.paths import PATHS
from tests.faults.conftest import StartWeb
from tests.faults.harness import (
    RemoteSlack,
    asked,
    expected_end,
    key,
    plan,
    state_of,
    turn,
    unexpected_errors,
    until,
    users,
)
from tests.slack.conftest import refs

USERS = 10
RETRIES = (None, 1, 2, 3)  # the first delivery, then Slack's retries


@pytest.mark.postgres
async def test_redelivered_events_and_double_clicks_advance_once(
    start_web: StartWeb,
    slack: RemoteSlack,
    store: Store,
    questionnaire: Questionnaire,
    pg_url: str,
) -> None:
    q = questionnaire
    web = start_web()
    slack.point_at(web.url)
    people = users(USERS, "US")
    outcomes = {u: list(PATHS)[i % len(PATHS)] for i, u in enumerate(people)}
    plans = {u: plan(q, outcomes[u]) for u in people}
    typist = {u: i % 2 == 0 for i, u in enumerate(people)}  # half type, half click
    turns = dict.fromkeys(people, 0)
    clicks = dict.fromkeys(people, 0)
    duplicates = 0  # event deliveries the session must recognise and drop

    async def storm(user: str, n: int) -> None:
        question = slack.question(user)
        value = plans[user][asked(question) or ""]
        buttons = {
            action: r
            for action, r in refs(question).items()
            if r.kind is Kind.DATE or (r.kind is Kind.ANSWER and r.value == value)
        }
        nonlocal duplicates
        if typist[user] or not buttons:
            event_id = f"Ev{slack.tag}{user}.{n}"
            sends = [slack.dm(value, user=user, event_id=event_id, retry=r) for r in RETRIES]
            duplicates += len(sends) - 1
        else:
            ((action, ref),) = buttons.items()
            picked = value if ref.kind is Kind.DATE else None
            sends = [
                slack.click(question, action, user=user, selected_date=picked) for _ in range(2)
            ]
            clicks[user] += 1
        before = slack.posts(user)
        responses = await asyncio.gather(*sends)
        assert [r.status for r in responses] == [200] * len(sends)
        await until(lambda: slack.posts(user) > before, what=f"the answer to {user}")
        turns[user] += 1

    async def conversation(user: str) -> None:
        await turn(slack, user, slack.command(user=user))
        turns[user] += 1
        n = 0
        while asked(slack.question(user)) is not None:
            n += 1
            await storm(user, n)

    await asyncio.gather(*(conversation(u) for u in people))
    await asyncio.sleep(0.5)  # a late duplicate would show up by now
    stale = q.ui("en", "stale")
    for user in people:
        state = state_of(await store.load(key(user)))
        end = expected_end(q, plans[user])
        assert (state.status, state.outcome, state.answers) == ("done", end.outcome, end.answers)
        assert state.version == end.version  # one save per turn
        assert slack.posts(user) == turns[user]  # one answer per turn
        updates = [c for c in slack.api.to("chat.update") if c.args["channel"] == f"D{user}"]
        assert len(updates) == clicks[user]  # each clicked question frozen once
        assert len(await store.decisions(key(user))) == 1
    # The second click of a double click is told, privately, that nothing changed.
    notices = [c for c in slack.api.to("respond") if c.args.get("text") == stale]
    assert len(notices) == sum(clicks.values())
    # Each redelivery was dropped by the inbox, before the ack: one row per event.
    assert web.log().count("effect=duplicate") == 0
    connection = await asyncpg.connect(pg_url)
    try:
        events = await connection.fetchval(
            "SELECT count(*) FROM inbox WHERE delivery_id LIKE $1", f"slack:event:%{slack.tag}%"
        )
    finally:
        await connection.close()
    assert events == duplicates // (len(RETRIES) - 1)
    assert unexpected_errors(web.log()) == []
