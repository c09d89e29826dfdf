"""kill -9 of a ``web`` process in the middle of many conversations, then a new process on
the same database: every conversation resumes where the store says it is, with the
answers given so far, and reaches the outcome its answers lead to.

A turn in flight at the kill is replayed from the inbox, and a saved turn's messages are
sent from the outbox, by the new process (``test_kill_counts.py`` counts that nothing
acknowledged is lost); either way the store is the truth and nothing it holds is lost or
doubled.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from core.ports import Store
from core.questionnaire import Questionnaire
from tests.core.paths import PATHS
from tests.faults.conftest import StartWeb
from tests.faults.harness import (
    RemoteSlack,
    answer,
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

USERS = 20
KILL_AFTER = USERS  # turns completed under load before the kill (about one per user)


@pytest.mark.postgres
async def test_kill_9_under_load_then_restart_resumes_every_conversation(
    start_web: StartWeb, slack: RemoteSlack, store: Store, questionnaire: Questionnaire
) -> None:
    q = questionnaire
    web = start_web()
    slack.point_at(web.url)
    people = users(USERS, "UK")
    outcomes = {u: list(PATHS)[i % len(PATHS)] for i, u in enumerate(people)}
    plans = {u: plan(q, outcomes[u]) for u in people}
    final = {u: expected_end(q, plans[u]).answers for u in people}
    confirmed: dict[str, dict[str, str]] = {u: {} for u in people}
    pending: dict[str, tuple[str, str]] = {}  # user → (question, answer) sent, not confirmed
    done_under_load = 0

    async def next_answer(user: str) -> None:
        question = asked(slack.question(user))
        assert question is not None
        value = plans[user][question]
        pending[user] = (question, value)
        await answer(slack, user, value)
        confirmed[user][question] = value
        del pending[user]

    async def opening(user: str) -> None:
        await turn(slack, user, slack.command(user=user))
        await next_answer(user)  # who it is from: skipped

    async def under_load(user: str) -> None:
        nonlocal done_under_load
        await asyncio.sleep(random.random() * 0.2)  # spread the users out
        while asked(slack.question(user)) is not None:
            await next_answer(user)
            done_under_load += 1

    await asyncio.gather(*(opening(u) for u in people))
    tasks = [asyncio.create_task(under_load(u)) for u in people]
    await until(lambda: done_under_load >= KILL_AFTER, what="turns under load")
    in_flight = len(pending)
    web.kill()
    await asyncio.sleep(0.2)  # let the users notice: their connections are gone
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert in_flight > 0, "the kill should land while turns are in flight"

    # What the dead process left: every conversation, every confirmed answer, nothing else.
    ended_in_flight: set[str] = set()  # finished by the turn the kill interrupted
    for user in people:
        state = state_of(await store.load(key(user)))
        if user in pending and state.status == "done":
            ended_in_flight.add(user)
        for question, value in confirmed[user].items():
            assert state.answers.get(question) == final[user][question], (user, question, value)
        extra = set(state.answers) - set(confirmed[user])
        assert extra <= {pending[user][0]} if user in pending else not extra, (user, extra)

    web.start()
    web.wait_healthy()
    clicked = 0

    async def resume(user: str) -> None:
        nonlocal clicked
        while True:
            state = state_of(await store.load(key(user)))
            if state.status == "done":
                return
            value = plans[user][state.step]
            # The question on screen is clicked again (a lost click can be repeated); one
            # saved whose next question was never posted is answered by typing.
            if asked(slack.question(user)) == state.step:
                await answer(slack, user, value)
                clicked += 1
            else:
                await answer(slack, user, value, typed=True)

    await asyncio.gather(*(resume(u) for u in people))
    assert clicked > 0
    for user in people:
        state = state_of(await store.load(key(user)))
        assert (state.status, state.outcome) == ("done", outcomes[user])
        assert state.answers == final[user]
        assert len(await store.decisions(key(user))) == 1  # decided once: not lost, not twice
        if user not in ended_in_flight:  # (those may have died before posting the result)
            assert slack.q.outcome_text("en", outcomes[user], "title") in str(slack.last(user))
    assert unexpected_errors(web.log()) == []


@pytest.mark.postgres
async def test_a_click_whose_turn_died_with_the_process_is_replayed_by_the_next_one(
    start_web: StartWeb, slack: RemoteSlack, store: Store, pg_url: str
) -> None:
    web = start_web()
    slack.point_at(web.url)
    (user,) = users(1, "UR")
    await turn(slack, user, slack.command(user=user))
    await answer(slack, user, "skip")
    question = slack.question(user)
    assert asked(question) == "respond"
    yes = next(a for a, r in refs(question).items() if r.value == "yes")

    # Hold the conversations table: the click's turn blocks on it, and dies there.
    blocker = await asyncpg.connect(pg_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")
        response = await slack.click(question, yes, user=user)
        assert response.status == 200  # acked before any work
        pid = await _until_waiting_on_lock(blocker)
        web.kill()
        await blocker.execute("SELECT pg_terminate_backend($1)", pid)
        await transaction.rollback()
    finally:
        await blocker.close()
    assert state_of(await store.load(key(user))).step == "respond"  # the turn died

    before = slack.posts(user)
    web.start()
    web.wait_healthy()
    # The click was in the inbox before its ack: the new process replays it at start-up.
    await until(lambda: slack.posts(user) > before, what="the replayed click's answer")
    assert state_of(await store.load(key(user))).step == "time"
    assert asked(slack.question(user)) == "time"
    # Clicking Yes again on the same message changes nothing: it is no longer open.
    await slack.click(question, yes, user=user)
    await asyncio.sleep(0.5)
    assert state_of(await store.load(key(user))).step == "time"


async def _until_waiting_on_lock(connection: asyncpg.Connection) -> int:
    """The process id of the bot's database session once it waits for our lock."""
    for _ in range(250):
        pid = await connection.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1"
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never reached the locked table")


@pytest.mark.postgres
async def test_the_last_answer_and_its_decision_survive_a_kill_together_or_not_at_all(
    start_web: StartWeb, slack: RemoteSlack, store: Store, pg_url: str
) -> None:
    web = start_web()
    slack.point_at(web.url)
    (user,) = users(1, "UD")
    await turn(slack, user, slack.command(user=user))
    for value in ("skip", "yes", "yes"):
        await answer(slack, user, value)
    question = slack.question(user)
    assert asked(question) == "terms"
    yes = next(a for a, r in refs(question).items() if r.value == "yes")

    # Hold the journal: the last answer's save reaches it and waits; then the process dies.
    blocker = await asyncpg.connect(pg_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE")
        await slack.click(question, yes, user=user)
        pid = await _until_waiting_on_lock(blocker)
        web.kill()
        # The dead process's connection goes with it, mid-transaction.
        await blocker.execute("SELECT pg_terminate_backend($1)", pid)
        await transaction.rollback()
    finally:
        await blocker.close()
    # Neither a finished conversation without its journal entry, nor the reverse.
    assert state_of(await store.load(key(user))).step == "terms"
    assert await store.decisions(key(user)) == []

    before = slack.posts(user)
    web.start()
    web.wait_healthy()
    # Replayed from the inbox by the new process: the answer and its decision land together.
    await until(lambda: slack.posts(user) > before, what="the replayed click's answer")
    assert state_of(await store.load(key(user))).status == "done"
    assert len(await store.decisions(key(user))) == 1
    assert slack.q.outcome_text("en", "accept", "title") in str(slack.last(user))
