"""The Discord tests' harness: a user's side of the conversation with a real discord.py
client logged in against the fake Discord (slash commands, clicks, forms and DMs, fed as
raw gateway payloads), and waiting for the handlers discord.py starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bots.discord.adapter import conversation_key
from bots.discord.client import DiscordBot
from bots.discord.render import ANSWER_FIELD
from core import controls
from core.actions import ControlKind as Kind
from core.ports import ConversationKey, Decision
from core.questionnaire import Questionnaire
from core.session import Session
from core.state import ConversationState
from tests.conftest import TODAY
from tests.fakes.discord_api import EPHEMERAL, LOADING, FakeDiscord

NOON = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
ALICE, BOB = 990000000000001001, 990000000000001002
# discord.py names the tasks it starts for a command, a button, a form or an event.
HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-", "discord.py: ")

Message = dict[str, Any]


async def settle() -> None:
    """Wait until every handler discord.py started has finished."""
    me = asyncio.current_task()
    while pending := [
        t
        for t in asyncio.all_tasks()
        if t is not me and not t.done() and t.get_name().startswith(HANDLER_TASKS)
    ]:
        await asyncio.wait(pending)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class User:
    """One Discord user talking to the bot through the fake."""

    def __init__(self, harness: Harness, payload: dict[str, Any]) -> None:
        self.h = harness
        self.payload = payload
        self.id = int(payload["id"])

    @property
    def key(self) -> ConversationKey:
        return conversation_key(self.id)

    async def slash(
        self, *, in_guild: bool = False, locale: str = "en-US", **options: str
    ) -> dict[str, Any]:
        name = self.h.q.ui("en", "discord_command_name")
        payload = self.h.fake.slash(self.payload, name, in_guild=in_guild, locale=locale, **options)
        await self.h.interact(payload)
        return payload

    async def command(
        self, key: str, *, in_guild: bool = False, locale: str = "en-US"
    ) -> dict[str, Any]:
        payload = self.h.fake.slash(
            self.payload, self.h.q.ui("en", key), in_guild=in_guild, locale=locale
        )
        await self.h.interact(payload)
        return payload

    async def type(self, text: str) -> None:
        message = self.h.fake.direct_message(self.payload, text)
        self.h.bot._connection.parse_message_create(message)  # type: ignore[arg-type]
        await settle()

    async def click(
        self, message: Message, custom_id: str, *, in_guild: bool = False, locale: str = "en-US"
    ) -> dict[str, Any]:
        payload = self.h.fake.click(
            self.payload, message, custom_id, in_guild=in_guild, locale=locale
        )
        await self.h.interact(payload)
        return payload

    async def submit(self, message: Message, custom_id: str, answer: str) -> dict[str, Any]:
        payload = self.h.fake.submit(self.payload, message, custom_id, {ANSWER_FIELD: answer})
        await self.h.interact(payload)
        return payload

    # --- what the user sees in their DM with the bot ---------------------------------
    def messages(self) -> list[Message]:
        """The DM's messages everyone can see (not ephemeral, not still "thinking")."""
        channel = self.h.fake.dm_channel(self.id)
        return [
            m
            for m in self.h.fake.channel_messages(channel)
            if not m["flags"] & (EPHEMERAL | LOADING)
        ]

    def last(self) -> Message:
        return self.messages()[-1]

    def with_buttons(self) -> Message:
        return next(m for m in reversed(self.messages()) if m["components"])

    async def answer_with_buttons(self, answer: str) -> None:
        """Click the choice ``answer``, or open the form and send ``answer`` through it."""
        message = self.with_buttons()
        ids = [controls.decode(b["custom_id"]) for b in buttons(message)]
        choice = next((c for c in ids if c and c.kind is Kind.ANSWER and c.value == answer), None)
        if choice is not None:
            await self.click(message, controls.encode(choice, choice.owner))
            return
        opener = next(c for c in ids if c and c.kind is Kind.TYPE)
        opened = await self.click(message, controls.encode(opener, opener.owner))
        assert self.h.fake.interactions[opened["token"]].responses == [9]  # the form
        await self.submit(message, self.h.fake.modals[-1]["custom_id"], answer)

    async def decisions(self) -> list[Decision]:
        return await self.h.session.history(self.key)

    async def conversation(self) -> ConversationState:
        """The conversation as stored (where it stands, whatever the messages show)."""
        stored = await self.h.session.store.load(self.key)
        assert stored is not None, "no conversation stored"
        return ConversationState.from_json(stored.data)


class Harness:
    def __init__(self, fake: FakeDiscord, bot: DiscordBot, session: Session) -> None:
        self.fake = fake
        self.bot = bot
        self.session = session
        self.q: Questionnaire = session.questionnaire

    def user(self, user_id: int, name: str, global_name: str | None = None) -> User:
        return User(self, self.fake.user(user_id, name, global_name=global_name))

    async def interact(self, payload: dict[str, Any]) -> None:
        self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await settle()
        responses = self.fake.interactions[payload["token"]].responses
        assert len(responses) == 1, f"interaction answered {len(responses)} times"

    def reply(self, payload: dict[str, Any]) -> Message:
        """The message an interaction's response made or edited (its "original response")."""
        original = self.fake.interactions[payload["token"]].original
        assert original is not None, "the interaction has no response message"
        return self.fake.messages[original]

    def followups(self, payload: dict[str, Any]) -> list[Message]:
        return [self.fake.messages[i] for i in self.fake.interactions[payload["token"]].followups]


StartBot = Callable[..., Awaitable[Harness]]


def buttons(message: Message) -> list[dict[str, Any]]:
    return [b for row in message["components"] for b in row["components"]]


def button(message: Message, kind: Kind, value: str | None = None) -> str:
    """The custom_id of the button of ``kind`` (with ``value``) on ``message``."""
    for b in buttons(message):
        cid = controls.decode(b["custom_id"])
        if cid and cid.kind is kind and (value is None or cid.value == value):
            return str(b["custom_id"])
    raise AssertionError(f"no {kind.name} button {value or ''} on {message['content'][:80]!r}")
