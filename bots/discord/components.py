"""The one persistent button handler: every button the bot sends is a ``ConversationButton``.

It is a ``DynamicItem``: discord.py matches a click's ``custom_id`` against the template
and rebuilds the button from the message, so clicks are handled without any view kept in
memory, including after a restart (``client.add_dynamic_items`` registers it at start-up).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol, cast

import discord

from core import controls

if TYPE_CHECKING:
    from bots.discord.adapter import DiscordAdapter


class _HasAdapter(Protocol):
    adapter: DiscordAdapter


class ConversationButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=controls.BUTTONS):
    def __init__(self, button: discord.ui.Button[Any], *, row: int | None = None) -> None:
        super().__init__(button, row=row)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ConversationButton:
        return cls(cast(discord.ui.Button[Any], item))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await cast(_HasAdapter, interaction.client).adapter.click(interaction, self.custom_id)
