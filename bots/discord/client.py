"""The discord.py client: intents, mentions, the command tree, and the two events the
adapter needs besides commands and buttons (DMs, and the answer form being sent).

It is an ``AutoShardedClient``: one process runs every shard by default, or only
``shard_ids`` out of ``shard_count`` so the bot can be split into shard processes sharing
one database (DMs always arrive on shard 0).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import discord
from discord import app_commands

from bots.discord.adapter import PLATFORM, DiscordAdapter
from bots.discord.commands import PromptTranslator, register
from bots.discord.components import ConversationButton
from bots.discord.render import ANSWER_FIELD, NO_MENTIONS
from bots.reminders import ReminderSender
from core import controls
from core.actions import ControlKind
from core.ports import DueReminder
from core.session import Session
from core.turn import Turn

log = logging.getLogger("should_i_take_it.discord")

_TYPED = (discord.MessageType.default, discord.MessageType.reply)


class DiscordBot(discord.AutoShardedClient):
    def __init__(
        self,
        adapter: DiscordAdapter,
        *,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        # The bot never joins voice: no warning about the voice libraries it lacks.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = False  # DM text arrives without this privileged intent
        intents.dm_messages = True
        super().__init__(
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            shard_count=shard_count,
            # None (every shard) is discord.py's own default; its type hints omit it.
            shard_ids=list(shard_ids) if shard_ids is not None else None,  # type: ignore[arg-type]
        )
        self.adapter = adapter
        self.tree: app_commands.CommandTree[DiscordBot] = app_commands.CommandTree(self)
        register(self.tree, adapter)
        # Follow-up reminders go out as DMs through the REST API (any shard process can).
        self.reminders = ReminderSender(adapter.session, PLATFORM, self._send_reminder)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ConversationButton)
        await self.tree.set_translator(PromptTranslator(self.adapter.q))
        self.reminders.start()

    async def close(self) -> None:
        await self.reminders.close()
        await super().close()

    async def _send_reminder(self, reminder: DueReminder, turn: Turn) -> bool:
        """Post a due reminder in the user's DM with the bot; False to try again later.

        The DM channel is opened from the user id alone (no user lookup first). What
        Discord refuses for this user (DMs closed, the account gone) would be refused
        again: the reminder counts as done rather than being retried forever; only
        Discord's own failures are retried, after the lease."""
        user_id = int(reminder.key.user)
        try:
            channel = await self.create_dm(discord.Object(id=user_id))
            await self.adapter.send_reminder(channel, user_id, turn)
        except discord.DiscordServerError:
            log.warning("reminder not delivered, Discord failed; retried later")
            return False
        except discord.HTTPException as refused:
            # Forbidden (50007: DMs closed to this app), NotFound, Invalid Recipient...
            log.warning(
                "reminder undeliverable, given up status=%s code=%s", refused.status, refused.code
            )
        return True

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is not None or message.author.bot or message.type not in _TYPED:
            return
        if message.content:  # a sticker or a file alone says nothing
            await self.adapter.typed(message)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        # The answer form is handled here rather than by a Modal object, which would only
        # live in this process: a form opened before a restart is still answered after it.
        if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        ref = controls.decode(custom_id)
        if ref is not None and ref.kind is ControlKind.SUBMIT:
            answer = next(_values(interaction.data.get("components", [])), "")
            await self.adapter.click(interaction, custom_id, answer)


def create_bot(
    session: Session, *, shard_count: int | None = None, shard_ids: Sequence[int] | None = None
) -> DiscordBot:
    return DiscordBot(DiscordAdapter(session), shard_count=shard_count, shard_ids=shard_ids)


def _values(components: Any) -> Iterator[str]:
    """The answer field's value in a submitted form, wherever Discord nests it (an action
    row, or a label in newer forms)."""
    for component in components:
        if component.get("custom_id") == ANSWER_FIELD and "value" in component:
            yield str(component["value"])
        for key in ("components", "component"):
            inner = component.get(key)
            if inner:
                yield from _values(inner if isinstance(inner, list) else [inner])
