"""Discord in, core events through the session, rendered replies out.

How it treats Discord:

* Every interaction gets exactly one first response, within Discord's 3 seconds. Whatever
  touches the store defers first, then edits the original response or follows up; what
  needs no store (a click by someone else, opening the answer form, help) answers at once.
* The questions are asked in the user's DMs. From a server, a group DM or someone else's
  DM (the app installed on the user) the command answers ephemerally and carries on in
  the bot's DM; in the bot's DM it runs right there.
* One conversation per Discord user, keyed ``("discord", "dm", user id)`` whatever server
  the command came from: every question lands in the same DM channel, where typed answers
  could not tell two conversations apart.
* Nothing is kept in memory between events: a button carries its step (``core.controls``).
* A next step (on a result, a reminder DM or the history) goes to the session like any
  click; what it shows goes to the DM, or privately when clicked outside it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, assert_never

import discord

from bots.discord import render, text
from bots.discord.render import NO_MENTIONS, WORDS, Outgoing, Renderer
from core import controls
from core.controls import AppAction, NextStep, Refusal
from core.events import Answer, Start
from core.ports import ConversationKey, StoreError
from core.profile import UserProfile, page_language
from core.session import Session
from core.turn import Effect, Source, Turn

log = logging.getLogger("should_i_take_it.discord")

Interaction = discord.Interaction[Any]


PLATFORM = "discord"


def conversation_key(user_id: int) -> ConversationKey:
    return ConversationKey(PLATFORM, "dm", str(user_id))


def locale_lang(languages: Sequence[str], locale: discord.Locale) -> str | None:
    """The questionnaire language for a Discord locale (``fr``, ``en-GB`` → ``fr``, ``en``)."""
    code = locale.value.split("-")[0]
    return code if code in languages else None


class DiscordAdapter:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.q = session.questionnaire
        self.q.check_words(WORDS)
        self.render = Renderer(self.q)

    # --- entry points --------------------------------------------------------------
    async def start(
        self, interaction: Interaction, *, lang: str | None = None, request: str | None = None
    ) -> None:
        """The slash command or the message menu."""
        async with self._apology(interaction):
            user = interaction.user
            # With a conversation under way the core asks whether to continue or start over
            # (on the new request, if there is one). The interaction's locale only picks the
            # language of a new conversation.
            event = Start(
                today=self._today(),
                lang=lang,
                # The whole locale: "en-GB" also says how dates are written.
                locale=interaction.locale.value,
                request=request,
                signature=user.global_name,
            )
            key = conversation_key(user.id)
            if interaction.context.dm_channel:
                await interaction.response.defer(thinking=True)
                turn = await self.session.handle(key, event)
                await self._reply(
                    interaction, self.render.turn(turn.actions, user.id, turn.lang, request=request)
                )
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            turn = await self.session.handle(key, event)
            notice_lang = turn.lang
            if turn.effect is Effect.FAILED:
                await self._tell(interaction, self.q.ui(notice_lang, "error"))
                return
            try:
                channel = await user.create_dm()
                first = await self._post(
                    channel, self.render.turn(turn.actions, user.id, turn.lang, request=request)
                )
            except discord.Forbidden:  # DMs closed for this server or this app
                await self._tell(interaction, self.q.ui(notice_lang, "dm_failed"))
                return
            notice = self.q.ui(notice_lang, "continue_in_dm")
            await self._tell(interaction, f"{notice}\n{first.jump_url}" if first else notice)

    async def typed(self, message: discord.Message) -> None:
        """A message in the bot's DM: an answer, or a typed command the core understands."""
        async with self._apology(message.channel):
            turn = await self.session.handle(
                conversation_key(message.author.id),
                # Signs the reply if this message starts a conversation.
                Answer(message.content, today=self._today(), signature=message.author.global_name),
                delivery_id=f"discord:message:{message.id}",
            )
            await self._post(
                message.channel, self.render.turn(turn.actions, message.author.id, turn.lang)
            )

    async def click(self, interaction: Interaction, custom_id: str, typed: str = "") -> None:
        """A button, or the answer form sent (``typed``: what was written in it)."""
        async with self._apology(interaction):
            user = str(interaction.user.id)
            meant = controls.read(custom_id, user, self._today(), typed)
            if meant is None:
                return
            if isinstance(meant, Refusal):
                await interaction.response.send_message(
                    self.q.ui(self._lang(interaction), meant),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
                return
            if meant is AppAction.OPEN_FORM:
                ref = controls.decode(custom_id)
                assert ref is not None
                await interaction.response.send_modal(self.render.modal(ref))
                return
            if meant is AppAction.START:
                # Drawn on Slack's App Home only, today; clicked here, it does what the
                # command does (and answers the interaction its own way).
                await self.start(interaction)
                return
            await interaction.response.defer()
            match meant:
                case AppAction.FORGET:
                    ref = controls.decode(custom_id)
                    version = ref.version if ref is not None else -1
                    key = conversation_key(interaction.user.id)
                    # Read before the profile goes with the rest: the confirmation's language.
                    lang = await self._own_lang(interaction)
                    count = await self.session.forget_confirmed(key, version)
                    done = (
                        self.q.ui(lang, "forget_stale")
                        if count is None
                        else self.q.ui(lang, "forgotten", count=count)
                    )
                    await self._tell(interaction, done)
                case AppAction.KEEP:
                    await self._tell(
                        interaction, self.q.ui(await self._own_lang(interaction), "kept")
                    )
                case AppAction.OPEN_FORM | AppAction.START:
                    pass  # answered above, before the deferral
                case _:
                    key = conversation_key(interaction.user.id)
                    turn = await self.session.handle(key, meant, locale=interaction.locale.value)
                    await self._show(interaction, turn)
                    if isinstance(meant, NextStep):
                        await self._redraw_steps(interaction, meant.ref, turn)

    async def help(self, interaction: Interaction) -> None:
        async with self._apology(interaction):
            await interaction.response.send_message(
                self.render.help(await self._own_lang(interaction)),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    async def history(self, interaction: Interaction) -> None:
        async with self._apology(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            user = interaction.user.id
            decisions = await self.session.history(conversation_key(user))
            lang = await self._own_lang(interaction)
            drawn = self.render.history(lang, decisions, user, self.session.clock())
            await interaction.edit_original_response(**drawn.fields(replacing=True))

    async def profile(self, interaction: Interaction, change: str | None = None) -> None:
        """Show the saved profile, or make the one change ``change`` asks for (the edit
        grammar of :mod:`core.profile`); only the user sees the answer."""
        async with self._apology(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            key = conversation_key(interaction.user.id)
            if change:
                shown = await self.session.edit_profile(key, change)
            else:
                shown = await self.session.profile(key)
            saved = shown if isinstance(shown, UserProfile) else None
            lang = await self._own_lang(interaction, saved)
            drawn = self.render.profile(lang, shown, changed=bool(change))
            await self._tell(interaction, drawn)

    async def forget(self, interaction: Interaction) -> None:
        """Ask first (the decisions cannot be brought back); the button does the deleting."""
        async with self._apology(interaction):
            user = interaction.user.id
            version = await self.session.forget_version(conversation_key(user))
            lang = await self._own_lang(interaction)
            confirm = self.render.forget_confirmation(lang, user, version)
            await interaction.response.send_message(**confirm.fields(), ephemeral=True)

    async def send_reminder(self, channel: discord.abc.Messageable, owner: int, turn: Turn) -> None:
        """A due follow-up reminder, in ``owner``'s DM with the bot (``channel``); its
        buttons answer ``owner`` only."""
        await self._post(channel, self.render.turn(turn.actions, owner, turn.lang))

    # --- after a click or a form -----------------------------------------------------
    async def _show(self, interaction: Interaction, turn: Turn) -> None:
        """Draw ``turn``: privately to whoever clicked, or into the DM, after doing to the
        clicked message what the turn says (freeze it, note the answer, replace it)."""
        replacement = turn.replacement
        if replacement is not None:
            drawn = self.render.result(replacement, interaction.user.id)
            await interaction.edit_original_response(**drawn.fields(replacing=True))
            await self._privately(interaction, [text.inert(say.text) for say in turn.notices])
            return
        messages = self.render.turn(turn.actions, interaction.user.id, turn.lang)
        match turn.source:
            case Source.ANSWERED if interaction.message is not None and turn.answered:
                content = self.render.answered(interaction.message.content, turn.answered)
                await interaction.edit_original_response(
                    content=content, view=None, allowed_mentions=NO_MENTIONS
                )
            case Source.FREEZE | Source.ANSWERED | Source.REPLACE:
                await interaction.edit_original_response(view=None)
            case Source.KEEP:
                pass
            case _:
                assert_never(turn.source)
        if turn.private:
            await self._privately(interaction, [m.content for m in messages])
        else:
            # Outside the bot's DM (a next step clicked in the history, shown in a server)
            # what a click shows is for the clicker alone: a draft never lands in a channel.
            alone = not interaction.context.dm_channel
            await self._follow_up(interaction, messages, ephemeral=alone)

    async def _redraw_steps(self, interaction: Interaction, ref: int, turn: Turn) -> None:
        """The clicked message (a result, a reminder, a history) with its entry's buttons
        as the turn says they stand now: the steps still open, or, when none is, what was
        answered below it, so no button is left that can only say "no longer open"."""
        message = interaction.message
        if message is None or turn.open_steps is None:
            return
        if turn.effect in (Effect.FAILED, Effect.DUPLICATE):
            return
        owner = interaction.user.id
        if render.is_history(message):  # every line may have moved on: drawn afresh
            lang = await self._own_lang(interaction)
            decisions = await self.session.history(conversation_key(owner))
            page = self.render.history(lang, decisions, owner, self.session.clock())
            await interaction.edit_original_response(**page.fields(replacing=True))
            return
        drawn = render.next_steps(message, ref, turn.open_steps, owner)
        if drawn is None:
            return
        content = message.content
        if not turn.open_steps and turn.answered:
            content = self.render.answered(content, turn.answered)
        await interaction.edit_original_response(
            content=content, view=drawn if drawn.children else None, allowed_mentions=NO_MENTIONS
        )

    @staticmethod
    async def _privately(interaction: Interaction, notes: Sequence[str]) -> None:
        if notes:
            await interaction.followup.send(
                "\n\n".join(notes), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    # --- helpers -------------------------------------------------------------------
    @staticmethod
    async def _tell(interaction: Interaction, content: str) -> None:
        """Put ``content`` in place of the response: "thinking…", or the clicked message."""
        await interaction.edit_original_response(
            content=content, view=None, allowed_mentions=NO_MENTIONS
        )

    @staticmethod
    async def _reply(interaction: Interaction, messages: Sequence[Outgoing]) -> None:
        """Replace a deferred response with the first message; follow up with the rest."""
        first, *rest = messages  # a start always says something
        await interaction.edit_original_response(**first.fields(replacing=True))
        await DiscordAdapter._follow_up(interaction, rest)

    @staticmethod
    async def _follow_up(
        interaction: Interaction, messages: Sequence[Outgoing], *, ephemeral: bool = False
    ) -> None:
        for outgoing in messages:
            await interaction.followup.send(**outgoing.fields(), ephemeral=ephemeral, wait=True)

    @staticmethod
    async def _post(
        channel: discord.abc.Messageable, messages: Sequence[Outgoing]
    ) -> discord.Message | None:
        sent = [await channel.send(**outgoing.fields()) for outgoing in messages]
        return sent[0] if sent else None

    def _today(self) -> date:
        return self.session.clock().date()

    def _lang(self, interaction: Interaction) -> str:
        return locale_lang(self.q.languages, interaction.locale) or self.q.languages[0]

    async def _own_lang(self, interaction: Interaction, saved: UserProfile | None = None) -> str:
        """The language of the user's own pages: the one they saved, else Discord's (see
        ``core.profile.page_language``). ``saved``: their profile, when already read."""
        if saved is None:
            key = conversation_key(interaction.user.id)
            try:
                saved = await self.session.profile(key)
            except StoreError:
                saved = UserProfile()
        return page_language(self.q, saved, locale_lang(self.q.languages, interaction.locale))

    @asynccontextmanager
    async def _apology(self, where: Interaction | discord.abc.Messageable) -> AsyncIterator[None]:
        """Log a failure and tell the user, rather than leave them with "interaction failed"."""
        try:
            yield
        except Exception:
            log.exception("could not handle a Discord event")
            lang = (
                self._lang(where) if isinstance(where, discord.Interaction) else self.q.languages[0]
            )
            apology = self.q.ui(lang, "error")
            try:
                if not isinstance(where, discord.Interaction):
                    await where.send(apology, allowed_mentions=NO_MENTIONS)
                elif (
                    where.response.type is discord.InteractionResponseType.deferred_channel_message
                ):
                    await self._tell(where, apology)
                elif where.response.is_done():
                    await where.followup.send(apology, ephemeral=True, allowed_mentions=NO_MENTIONS)
                else:
                    await where.response.send_message(
                        apology, ephemeral=True, allowed_mentions=NO_MENTIONS
                    )
            except discord.HTTPException:
                log.warning("could not tell the user about the failure either")
