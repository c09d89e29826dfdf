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
* Nothing is kept in memory between events: a button carries its step (``custom_ids``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import discord

from bots.discord import text
from bots.discord.custom_ids import ComponentId, Kind
from bots.discord.render import NO_MENTIONS, Outgoing, Renderer, turn_lang
from core.actions import Ask, Result, Say
from core.events import (
    Answer,
    Back,
    Cancel,
    ChangeLanguage,
    ChangeTone,
    Event,
    Help,
    Restart,
    Start,
)
from core.ports import ConversationKey
from core.session import Session, Turn

log = logging.getLogger("should_i_take_it.discord")

Interaction = discord.Interaction[Any]

_EVENTS: dict[Kind, Callable[[ComponentId, date], Event]] = {
    Kind.ANSWER: lambda cid, today: Answer(
        cid.value, today=today, question=cid.question, version=cid.version
    ),
    # The result's Back names no question: it goes back from the result, at its version.
    Kind.BACK: lambda cid, today: Back(question=cid.question or None, version=cid.version),
    Kind.RESTART: lambda cid, today: Restart(version=cid.version),
    Kind.CANCEL: lambda cid, today: Cancel(version=cid.version),
    Kind.HELP: lambda cid, today: Help(),
    Kind.TONE: lambda cid, today: ChangeTone(cid.value),
    Kind.LANGUAGE: lambda cid, today: ChangeLanguage(cid.value),
}
# Every button carries its message's version, so the core finds the second of a double
# click stale (or, for cancel, finds nothing left to cancel): no delivery id is needed.
# Say kinds that mean "nothing happened" ("nothing to cancel" is a notice): shown only to
# the clicker, the conversation stays.
_UNCHANGED = ("stale", "error", "notice")


def conversation_key(user_id: int) -> ConversationKey:
    return ConversationKey("discord", "dm", str(user_id))


def locale_lang(languages: Sequence[str], locale: discord.Locale) -> str | None:
    """The questionnaire language for a Discord locale (``fr``, ``en-GB`` → ``fr``, ``en``)."""
    code = locale.value.split("-")[0]
    return code if code in languages else None


class DiscordAdapter:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.q = session.questionnaire
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
                locale=locale_lang(self.q.languages, interaction.locale),
                request=request,
                signature=user.global_name,
            )
            key = conversation_key(user.id)
            if interaction.context.dm_channel:
                await interaction.response.defer(thinking=True)
                turn = await self.session.handle(key, event)
                await self._reply(
                    interaction, self.render.turn(turn.actions, user.id, request=request)
                )
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            turn = await self.session.handle(key, event)
            notice_lang = turn_lang(turn.actions, lang or self.q.languages[0])
            if turn.failed:
                await self._tell(interaction, self.q.ui(notice_lang, "error"))
                return
            try:
                channel = await user.create_dm()
                first = await self._post(
                    channel, self.render.turn(turn.actions, user.id, request=request)
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
            await self._post(message.channel, self.render.turn(turn.actions, message.author.id))

    async def click(self, interaction: Interaction, cid: ComponentId, label: str) -> None:
        async with self._apology(interaction):
            if not await self._owned(interaction, cid):
                return
            if cid.kind is Kind.TYPE:
                await interaction.response.send_modal(self.render.modal(cid))
                return
            await interaction.response.defer()
            if cid.kind is Kind.FORGET:
                count = await self.session.forget(conversation_key(cid.owner))
                await self._tell(
                    interaction, self.q.ui(self._lang(interaction), "forgotten", count=count)
                )
                return
            event = _EVENTS[cid.kind](cid, self._today())
            await self._advance(interaction, cid, event, label)

    async def submitted(self, interaction: Interaction, cid: ComponentId, answer: str) -> None:
        """The answer form was sent."""
        async with self._apology(interaction):
            if not await self._owned(interaction, cid):
                return
            await interaction.response.defer()
            event = Answer(answer, today=self._today(), question=cid.question, version=cid.version)
            await self._advance(interaction, cid, event, text.inert(text.one_line(answer)))

    async def help(self, interaction: Interaction) -> None:
        async with self._apology(interaction):
            await interaction.response.send_message(
                self.render.help(self._lang(interaction)),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    async def history(self, interaction: Interaction) -> None:
        async with self._apology(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            decisions = await self.session.history(conversation_key(interaction.user.id))
            await self._tell(interaction, self.render.history(self._lang(interaction), decisions))

    async def forget(self, interaction: Interaction) -> None:
        """Ask first (the decisions cannot be brought back); the button does the deleting."""
        async with self._apology(interaction):
            confirm = self.render.forget_confirmation(self._lang(interaction), interaction.user.id)
            await interaction.response.send_message(**confirm.fields(), ephemeral=True)

    # --- after a click or a form -----------------------------------------------------
    async def _advance(
        self, interaction: Interaction, cid: ComponentId, event: Event, answer: str
    ) -> None:
        turn = await self.session.handle(conversation_key(cid.owner), event)
        if _unchanged(turn):
            if any(a.kind == "stale" for a in turn.actions if isinstance(a, Say)):
                await interaction.edit_original_response(view=None)  # its buttons are stale too
            await interaction.followup.send(
                "\n\n".join(a.text for a in turn.actions if isinstance(a, Say)),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        result = next((a for a in turn.actions if isinstance(a, Result)), None)
        # A tone or language change rewrites the reply where it stands, provided the click
        # came from the latest reply (its version, or the one before the change).
        if (
            result is not None
            and cid.kind in (Kind.TONE, Kind.LANGUAGE)
            and 0 <= result.version - cid.version <= 1
        ):
            rewritten = self.render.result(result, cid.owner)
            await interaction.edit_original_response(**rewritten.fields(replacing=True))
            return
        message = interaction.message
        if cid.kind in (Kind.ANSWER, Kind.SUBMIT) and _took_answer(turn, cid.version):
            if message is not None:
                lang = turn_lang(turn.actions, self._lang(interaction))
                await interaction.edit_original_response(
                    content=self.render.answered(message.content, answer, lang),
                    view=None,
                    allowed_mentions=NO_MENTIONS,
                )
        elif not _reprompted(turn):
            await interaction.edit_original_response(view=None)
        # A re-prompt leaves the question as it was: it is still open, its buttons with it.
        await self._follow_up(interaction, self.render.turn(turn.actions, cid.owner))

    # --- helpers -------------------------------------------------------------------
    async def _owned(self, interaction: Interaction, cid: ComponentId) -> bool:
        if interaction.user.id == cid.owner:
            return True
        await interaction.response.send_message(
            self.q.ui(self._lang(interaction), "not_yours"),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return False

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
    async def _follow_up(interaction: Interaction, messages: Sequence[Outgoing]) -> None:
        for outgoing in messages:
            await interaction.followup.send(**outgoing.fields(), wait=True)

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


def _unchanged(turn: Turn) -> bool:
    return bool(turn.actions) and all(
        isinstance(a, Say) and a.kind in _UNCHANGED for a in turn.actions
    )


def _reprompted(turn: Turn) -> bool:
    return any(isinstance(a, Say) and a.kind == "reprompt" for a in turn.actions)


def _took_answer(turn: Turn, version: int) -> bool:
    """Whether an answer given at ``version`` moved the conversation on: not a re-prompt
    (same version), nor a conversation that had expired (it ends without going anywhere)."""
    return (
        turn.state is not None
        and turn.state.version > version
        and not _reprompted(turn)
        and any(isinstance(a, Ask | Result) for a in turn.actions)
    )
