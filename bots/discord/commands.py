"""The application commands, usable in servers, in DMs and as a user-installed app:

* ``/should-i-take-it [language] [note]`` starts (or offers to resume) a conversation;
* ``/should-i-take-it-help``, ``-history`` and ``-forget`` (separate commands, because a
  command with sub-commands cannot itself be run with options);
* ``/should-i-take-it-profile [change]`` shows the saved profile, or makes one change in it
  (``tone formal``, ``colleague add Sam Lee``: :mod:`core.profile`'s grammar);
* the "Should I take it?" message menu, which starts about that message.

Names and descriptions are the ``discord_*`` keys of ``prompts/<lang>.yaml``: the first
language is what Discord shows by default, :class:`PromptTranslator` localises the rest.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str

from bots.discord.adapter import DiscordAdapter, Interaction, locale_lang
from core.questionnaire import Questionnaire

NOTE_MAX = 1000  # a summary; whole messages come through the message menu
CHANGE_MAX = 200  # one change: a command word or two and a signature or a name


class PromptTranslator(app_commands.Translator):
    """Finds a command string in ``prompts/``: every string names its ``ui`` key."""

    def __init__(self, q: Questionnaire) -> None:
        self.q = q

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        lang = locale_lang(self.q.languages, locale)
        if key is None or lang is None or lang == self.q.languages[0]:
            return None  # not ours, or Discord's default already says it
        return self.q.ui(lang, key)


def register(tree: app_commands.CommandTree[Any], adapter: DiscordAdapter) -> None:
    q = adapter.q

    def word(key: str) -> locale_str:
        return locale_str(q.ui(q.languages[0], key), key=key)

    everywhere = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    any_install = app_commands.allowed_installs(guilds=True, users=True)

    @tree.command(
        name=word("discord_command_name"), description=word("discord_command_description")
    )
    @app_commands.rename(language=word("discord_language_option"), note=word("discord_note_option"))
    @app_commands.describe(
        language=word("discord_language_description"), note=word("discord_note_description")
    )
    @app_commands.choices(
        language=[app_commands.Choice(name=q.texts[code].name, value=code) for code in q.languages]
    )
    @everywhere
    @any_install
    async def start(
        interaction: Interaction,
        language: str | None = None,
        note: app_commands.Range[str, 1, NOTE_MAX] | None = None,
    ) -> None:
        await adapter.start(interaction, lang=language, request=note)

    @tree.command(name=word("discord_help_name"), description=word("discord_help_description"))
    @everywhere
    @any_install
    async def help_(interaction: Interaction) -> None:
        await adapter.help(interaction)

    @tree.command(
        name=word("discord_history_name"), description=word("discord_history_description")
    )
    @everywhere
    @any_install
    async def history(interaction: Interaction) -> None:
        await adapter.history(interaction)

    @tree.command(
        name=word("discord_profile_name"), description=word("discord_profile_description")
    )
    @app_commands.rename(change=word("discord_profile_option"))
    @app_commands.describe(change=word("discord_profile_option_description"))
    @everywhere
    @any_install
    async def profile(
        interaction: Interaction, change: app_commands.Range[str, 1, CHANGE_MAX] | None = None
    ) -> None:
        await adapter.profile(interaction, change)

    @tree.command(name=word("discord_forget_name"), description=word("discord_forget_description"))
    @everywhere
    @any_install
    async def forget(interaction: Interaction) -> None:
        await adapter.forget(interaction)

    @tree.context_menu(name=word("discord_context_menu"))
    @everywhere
    @any_install
    async def about_message(interaction: Interaction, message: discord.Message) -> None:
        await adapter.start(interaction, request=message.content or None)
