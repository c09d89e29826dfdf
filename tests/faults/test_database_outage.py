"""PostgreSQL goes away in the middle of a run and comes back: the same ``web`` process
keeps acking, apologises for the turns it cannot save, reports 503 on /healthz while the
database is gone, and picks up again by itself (no restart) with no conversation lost.

"Gone" is real: the database refuses new connections and every open one is terminated,
so the process's pooled connections die under it.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import make_url

from core.ports import Store
from core.questionnaire import Questionnaire
from tests.conftest import PG_ADMIN_DSN
from tests.core.paths import PATHS
from tests.faults.conftest import StartWeb
from tests.faults.harness import (
    RemoteSlack,
    WebProcess,
    answer,
    asked,
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


async def set_reachable(pg_url: str, reachable: bool) -> None:
    """Let the test database take connections, or refuse them and drop every open one."""
    name = make_url(pg_url).database
    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {reachable}')
        if not reachable:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
    finally:
        await admin.close()


async def health(web: WebProcess) -> int | None:
    return await asyncio.to_thread(web.health)


@pytest.mark.postgres
async def test_database_outage_is_survived_without_a_restart(
    start_web: StartWeb,
    slack: RemoteSlack,
    store: Store,
    pg_url: str,
    questionnaire: Questionnaire,
) -> None:
    q = questionnaire
    apology = q.ui("en", "error")
    web = start_web()
    slack.point_at(web.url)
    people = users(USERS, "UO")
    outcomes = {u: list(PATHS)[i % len(PATHS)] for i, u in enumerate(people)}
    plans = {u: plan(q, outcomes[u]) for u in people}

    async def opening(user: str) -> None:
        await turn(slack, user, slack.command(user=user))
        await answer(slack, user, "skip")
        await answer(slack, user, plans[user][asked(slack.question(user)) or ""])

    await asyncio.gather(*(opening(u) for u in people))
    before = {u: state_of(await store.load(key(u))) for u in people}

    try:
        # The cut lands while a burst of typed answers is being served.
        burst = [
            asyncio.create_task(turn(slack, u, slack.dm(plans[u][before[u].step], user=u)))
            for u in people
        ]
        await set_reachable(pg_url, False)
        await asyncio.gather(*burst)  # acked, and answered (next question, or an apology)

        await until_status(web, 503)
        for user in people:  # typed while the database is away: a friendly apology
            await turn(slack, user, slack.dm("yes", user=user))
            assert apology in slack.api.shown(f"D{user}")[-1]["text"]
        # A click: acked in time, and the apology goes only to the clicker.
        user = people[0]
        question = slack.question(user)
        action = next(iter(refs(question)))
        sorry = len([c for c in slack.api.to("respond") if c.args.get("text") == apology])
        response = await slack.click(question, action, user=user)
        assert response.status == 200
        await until(
            lambda: (
                len([c for c in slack.api.to("respond") if c.args.get("text") == apology]) > sorry
            ),
            what="the apology for the click",
        )
    finally:
        await set_reachable(pg_url, True)

    await until_status(web, 200)
    assert web.process is not None and web.process.poll() is None  # the same process

    async def resume(user: str) -> None:
        while (state := state_of(await store.load(key(user)))).status != "done":
            value = plans[user][state.step]
            # The apologies left the question on screen; a lost typed answer is typed again.
            await answer(slack, user, value, typed=asked(slack.question(user)) != state.step)

    await asyncio.gather(*(resume(u) for u in people))
    for user in people:
        state = state_of(await store.load(key(user)))
        assert (state.status, state.outcome) == ("done", outcomes[user])
        for question, value in before[user].answers.items():  # nothing saved was lost
            assert state.answers[question] == value
        assert len(await store.decisions(key(user))) == 1
    assert unexpected_errors(web.log()) == []


async def until_status(web: WebProcess, status: int, timeout: float = 15) -> None:
    for _ in range(int(timeout / 0.1)):
        if await health(web) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/healthz never answered {status}")
