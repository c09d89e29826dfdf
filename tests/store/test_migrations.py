"""The schema is created on first open and migrated on later ones, keeping every row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from core.ports import ConversationKey, ConversationWrite, Decision, Reminder, Step
from core.store import SqlStore, connect_store, database_url, open_store
from core.store.migrate import alembic_config, head_revision, migrate, run_locked, upgrade
from core.store.schema import conversations, metadata

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)
ALICE = ConversationKey("slack", "T001", "U_ALICE")


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def revision_and_tables(store: SqlStore) -> tuple[str | None, set[str]]:
    async with store.engine.connect() as connection:
        revision = await connection.run_sync(current_revision)
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    return revision, tables


async def test_a_database_from_the_first_release_is_upgraded_keeping_its_conversations(
    blank_url: str,
) -> None:
    # What the first release left behind: schema 0001 and a conversation in progress.
    old = connect_store(database_url(blank_url))
    await upgrade(old.engine, "0001")
    assert await revision_and_tables(old) == (
        "0001",
        {"alembic_version", "conversations", "deliveries"},
    )
    # Written through SQLAlchemy, as the first release did: the store reads its time format.
    async with old.engine.begin() as connection:
        await connection.execute(
            conversations.insert().values(
                key=ALICE.as_string(),
                platform=ALICE.platform,
                workspace=ALICE.workspace,
                user_id=ALICE.user,
                data='{"step": "refer"}',
                version=3,
                expires_at=EXPIRES,
            )
        )
    await old.close()

    store = await open_store(blank_url)
    try:
        assert await revision_and_tables(store) == (
            head_revision(),
            {
                "alembic_version",
                "conversations",
                "deliveries",
                "decisions",
                "inbox",
                "outbox",
                "reminders",
                "profiles",
            },
        )
        stored = await store.load(ALICE)
        assert stored is not None
        assert (stored.data, stored.version, stored.expires_at) == ('{"step": "refer"}', 3, EXPIRES)
        decision = Decision("accept", EXPIRES, "en", "slack")
        assert await store.save(ConversationWrite(ALICE, "{}", 4, 3, None, decision))
        assert await store.decisions(ALICE) == [decision]
    finally:
        await store.close()


async def test_a_journal_from_schema_0003_is_kept_each_entry_getting_its_row_id_as_ref(
    blank_url: str,
) -> None:
    old = connect_store(database_url(blank_url))
    await upgrade(old.engine, "0003")
    bob = ConversationKey("discord", "G1", "U_BOB")
    rows = [
        (ALICE, "decline", datetime(2029, 11, 3, 10, 0, tzinfo=UTC), "Acme"),
        (bob, "accept", datetime(2029, 11, 4, 10, 0, tzinfo=UTC), None),
        (ALICE, "negotiate_fee", datetime(2029, 12, 1, 9, 30, tzinfo=UTC), "Zoë"),
    ]
    # As the 0003 code wrote them: no ref, details, status or steps.
    async with old.engine.begin() as connection:
        for key, outcome, at, client in rows:
            await connection.execute(
                text(
                    "INSERT INTO decisions (key, platform, workspace, user_id, outcome,"
                    " decided_at, lang, client) VALUES (:k, :p, :w, :u, :o, :at, 'en', :c)"
                ),
                {"k": key.as_string(), "p": key.platform, "w": key.workspace, "u": key.user}
                | {"o": outcome, "at": at, "c": client},
            )
        ids = (await connection.execute(text("SELECT id FROM decisions ORDER BY id"))).scalars()
        alice_ids = [i for i, row in zip(ids, rows, strict=True) if row[0] == ALICE]
    await old.close()

    store = await open_store(blank_url)
    try:
        journal = await store.decisions(ALICE)
        assert journal == [
            Decision("negotiate_fee", rows[2][2], "en", "slack", "Zoë", ref=alice_ids[1]),
            Decision("decline", rows[0][2], "en", "slack", "Acme", ref=alice_ids[0]),
        ]
        assert [d.outcome for d in await store.decisions(bob)] == ["accept"]
        # An old entry takes follow-ups like a new one.
        step = Step("snoozed", EXPIRES)
        reminder = Reminder("answer", EXPIRES)
        after = await store.follow_up(ALICE, alice_ids[1], step, reschedule=True, reminder=reminder)
        assert after is not None and (after.steps, after.reminder) == ((step,), reminder)
    finally:
        await store.close()


async def test_opening_an_up_to_date_database_changes_nothing(blank_url: str) -> None:
    first = await open_store(blank_url)
    await first.save(ConversationWrite(ALICE, "kept", 1, None, EXPIRES))
    await first.close()

    second = await open_store(blank_url)
    try:
        assert (await revision_and_tables(second))[0] == head_revision()
        stored = await second.load(ALICE)
        assert stored is not None and stored.data == "kept"
    finally:
        await second.close()


async def test_processes_starting_at_once_migrate_one_after_the_other(blank_url: str) -> None:
    # Separate engines, so separate connections racing for the migration lock.
    stores = await asyncio.gather(*(open_store(blank_url) for _ in range(4)))
    try:
        for store in stores:
            assert (await revision_and_tables(store))[0] == head_revision()
    finally:
        for store in stores:
            await store.close()


def test_the_command_line_entry_point_migrates(blank_url: str) -> None:
    migrate(blank_url)
    migrate(blank_url)

    async def check() -> None:
        store = await open_store(blank_url)
        try:
            assert (await revision_and_tables(store))[0] == head_revision()
        finally:
            await store.close()

    asyncio.run(check())


async def test_the_migrations_build_exactly_the_schema_the_code_uses(blank_url: str) -> None:
    store = await open_store(blank_url)
    try:
        async with store.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
        assert differences == []
    finally:
        await store.close()


async def test_the_migrations_can_be_walked_back_and_forth(blank_url: str) -> None:
    store = await open_store(blank_url)
    await store.save(ConversationWrite(ALICE, "kept", 1, None, EXPIRES))
    config = alembic_config()

    def downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    try:
        await run_locked(store.engine, downgrade)
        assert await revision_and_tables(store) == (
            "0001",
            {"alembic_version", "conversations", "deliveries"},
        )
        await upgrade(store.engine)
        assert (await revision_and_tables(store))[0] == head_revision()
        assert await store.load(ALICE) is not None
    finally:
        await store.close()


def test_the_schema_head_known_without_alembic_is_alembics_head() -> None:
    from core.store import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD
