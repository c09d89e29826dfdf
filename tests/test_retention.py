"""Retention that runs (issue 12): the periodic sweep and ``should-i-take-it sweep``
delete expired conversations, old delivery ids and unused Slack OAuth states, on a real
SQLite database, and leave what is still live."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from bots.bootstrap import App, bootstrap
from bots.cli import main
from bots.config import Settings
from bots.retention import Sweeper, sweep
from core.events import Start
from core.ports import ConversationKey, ConversationWrite, Decision, Reminder
from core.store.schema import metadata
from tests.conftest import REPO, TODAY

TABLES = ("conversations", "deliveries", "slack_oauth_states")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings(data_dir=tmp_path, conversation_ttl=timedelta(seconds=1))
    opened = await bootstrap(settings, clock=lambda: datetime.now(UTC))
    yield opened
    await opened.close()


async def count(app: App) -> dict[str, int]:
    async with app.database().connect() as conn:
        return {
            t: (await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


async def fill(app: App, *, users: int, short: bool) -> None:
    """``users`` conversations, as many delivery ids and OAuth states; expiring within
    about a second when ``short``, else in an hour."""
    states = AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=1 if short else 3600, engine=app.database()
    )
    await states.create_tables()
    session = app.session
    if not short:
        session = type(session)(app.questionnaire, app.store, clock=session.clock)
    now = datetime.now(UTC)
    keep = timedelta(seconds=1 if short else 3600)
    prefix = "s" if short else "l"
    for n in range(users):
        key = ConversationKey("test", "T1", f"{prefix}{n}")
        await session.handle(key, Start(today=TODAY))
        await app.store.remember_delivery(f"{prefix}{n}", now=now, keep_until=now + keep)
        await states.async_issue()


async def test_the_periodic_sweep_deletes_expired_rows_and_keeps_live_ones(app: App) -> None:
    await fill(app, users=20, short=True)
    await fill(app, users=5, short=False)
    before = await count(app)
    assert before == {t: 25 for t in TABLES}
    await asyncio.sleep(1.1)  # the short ones have expired
    ticks = itertools.cycle([0.5])
    async with Sweeper(app, interval=timedelta(seconds=0.2), rng=lambda: next(ticks)) as sweeper:
        for _ in range(50):
            if sweeper.passes:
                break
            await asyncio.sleep(0.05)
    after = await count(app)
    print(f"\nsweep: rows before {before}, after {after}")
    assert after == {t: 5 for t in TABLES}


async def test_the_sweep_deletes_reminders_sent_over_30_days_ago_and_keeps_the_rest(
    app: App,
) -> None:
    now = datetime.now(UTC)
    sent = {"long ago": now - timedelta(days=31), "lately": now - timedelta(days=1)}
    due = {**{k: at - timedelta(hours=1) for k, at in sent.items()}, "pending": now}
    for n, (name, at) in enumerate(due.items()):
        key = ConversationKey("slack", "T1", name)
        decision = Decision("negotiate_fee", at, "en", "slack", client=name, ref=n + 1)
        write = ConversationWrite(
            key, "{}", 1, None, now + timedelta(hours=1), decision, reminder=Reminder("answer", at)
        )
        assert await app.store.save(write)
    for at in sent.values():
        [claimed] = await app.store.reminders_claim("slack", at, claim_until=at, limit=1)
        await app.store.reminders_sent([claimed.id], now=at)

    assert (await sweep(app, oauth_states=False)).rows == 1
    async with app.database().connect() as conn:
        left = await conn.execute(
            sa.text(
                "SELECT d.client, r.sent_at IS NOT NULL FROM reminders AS r"
                " JOIN decisions AS d ON d.id = r.decision_id ORDER BY d.client"
            )
        )
        assert [tuple(row) for row in left] == [("lately", 1), ("pending", 0)]
    assert len(await app.store.decisions(ConversationKey("slack", "T1", "long ago"))) == 1
    [pending] = await app.store.reminders_claim("slack", now, claim_until=now)
    assert pending.entry.client == "pending"
    assert (await sweep(app, oauth_states=False)).rows == 0


def test_the_readme_says_how_long_every_table_is_kept() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Where your data lives", 1)[1].split("\n## ", 1)[0]
    listed = {
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.strip().startswith("| `")
    }
    assert set(metadata.tables) <= listed, set(metadata.tables) - listed


async def test_a_sweep_without_oauth_tables_sweeps_the_rest(app: App) -> None:
    key = ConversationKey("test", "T1", "U1")
    await app.session.handle(key, Start(today=TODAY))
    await asyncio.sleep(1.1)
    assert (await sweep(app)).rows == 1
    assert await app.store.load(key) is None


async def test_the_sweeper_survives_a_database_outage(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from core.ports import StoreError

    calls = 0

    async def flaky(now: datetime) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("down")
        return 0

    monkeypatch.setattr(app.store, "sweep", flaky)
    async with Sweeper(app, interval=timedelta(seconds=0.05), oauth_states=False) as sweeper:
        for _ in range(100):
            if sweeper.passes:
                break
            await asyncio.sleep(0.02)
    assert calls >= 2 and sweeper.passes >= 1
    assert "retention sweep failed" in caplog.text


def test_waits_are_jittered_around_the_interval(app: App) -> None:
    low = Sweeper(app, interval=timedelta(seconds=100), rng=lambda: 0.0).next_wait()
    high = Sweeper(app, interval=timedelta(seconds=100), rng=lambda: 1.0).next_wait()
    assert 70 <= low < 100 < high <= 130


async def test_the_sweep_command(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(app, users=3, short=True)
    await asyncio.sleep(1.1)
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    status = await asyncio.to_thread(main, ["sweep"])
    out = capsys.readouterr().out
    assert status == 0
    assert "deleted 6 expired row(s)" in out and "3 Slack install state(s)" in out
    assert await count(app) == {t: 0 for t in TABLES}
