"""The durable set-ups: a conversation kept in a real SQLite store, and the multi-workspace
OAuth install, whose installations and OAuth states live in the same database."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from bots.slack.credentials import bot_scopes
from core.store import open_store
from tests.fakes.slack_api import FakeSlackApi
from tests.slack.conftest import USER, ErrorLog, open_slack
from tests.slack.test_conversation import assert_result, reach

CLIENT_ID = "1111.2222"
SLACK_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")
NOT_INSTALLED = (
    "Although the app should be installed into this workspace, the AuthorizeResult "
    "(returned value from authorize) for it was not found."
)


async def test_a_whole_conversation_on_sqlite(api: FakeSlackApi, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sit.sqlite3'}"
    store = await open_store(url)
    slack, client = await open_slack(api, store, database_url=url)
    try:
        await reach(slack, "negotiate_timeline")
        assert_result(slack, "negotiate_timeline", "en")
        await slack.command("history")
        assert "Ask if the timeline can flex" in str(api.to("respond")[-1].args["blocks"])
    finally:
        await client.close()
        await store.close()


async def install_and_talk(api: FakeSlackApi, url: str, errors: ErrorLog) -> None:
    store = await open_store(url)
    slack, client = await open_slack(
        api,
        store,
        database_url=url,
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret="client-secret",
    )
    try:
        page = await client.get("/slack/install")
        assert page.status == 200
        html = await page.text()
        state = page.cookies["slack-app-oauth-state"].value
        assert f"client_id={CLIENT_ID}" in html and "scope=" + ",".join(bot_scopes()) in html

        forged = await client.get(
            "/slack/oauth_redirect?code=c0de&state=not-the-state",
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        assert forged.status == 400 and not api.to("oauth.v2.access")

        done = await client.get(
            f"/slack/oauth_redirect?code=c0de&state={state}",
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        assert done.status == 200, await done.text()
        (exchange,) = api.to("oauth.v2.access")
        assert exchange.args["code"] == "c0de"

        # The installed workspace now talks to the bot with the token it was given.
        api.clear()
        await slack.command(team="T0002", user="U0002")
        posted = api.to("chat.postMessage")
        assert posted and {c.token for c in posted} == {"xoxb-installed-token"}
        assert re.search("Who is this request from", posted[0].args["text"])
        # A workspace that never installed the app is turned away.
        api.clear()
        await slack.command(team="T0404", user=USER)
        assert not api.to("chat.postMessage")
        assert [r.getMessage() for r in errors.records] == [NOT_INSTALLED]
        errors.records.clear()  # Bolt's own, expected, error log
    finally:
        await client.close()
        await slack.bot.close()
        await store.close()


async def test_oauth_install_on_sqlite(
    api: FakeSlackApi, tmp_path: Path, bolt_errors: ErrorLog
) -> None:
    await install_and_talk(api, f"sqlite:///{tmp_path / 'sit.sqlite3'}", bolt_errors)


@pytest.mark.postgres
async def test_oauth_install_on_postgresql(
    api: FakeSlackApi, pg_url: str, bolt_errors: ErrorLog
) -> None:
    """slack_sdk's async SQLAlchemy stores run on the store's asyncpg engine: no second
    (synchronous) PostgreSQL driver is needed."""
    try:
        await install_and_talk(api, pg_url, bolt_errors)
    finally:  # the database is shared with the store's tests, which expect only their tables
        connection = await asyncpg.connect(pg_url, timeout=5)
        try:
            await connection.execute(f"DROP TABLE IF EXISTS {', '.join(SLACK_TABLES)}")
            await connection.execute(
                "TRUNCATE conversations, deliveries, decisions, reminders, profiles, inbox, outbox"
            )
        finally:
            await connection.close()
