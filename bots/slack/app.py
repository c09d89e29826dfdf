"""The Slack adapter on Bolt's asyncio app: listeners that translate a payload into a core
event (:mod:`bots.slack.translate`), hand it to the session, and render the actions as
Block Kit (:mod:`bots.slack.blocks`).

Rules every listener follows:

* **Ack first, then work**: Slack's 3-second deadline never depends on the store or the
  Web API. The work after the ack is counted in :attr:`SlackBot.work`, so a shutdown waits
  for it.
* **Exactly once**: an event's ``event_id`` and a click's message and button are the
  session's delivery id, so a redelivery or a double click advances nothing twice (a
  click on a question already answered gets the core's friendly "stale" notice).
* **Only the owner clicks**: every button carries its conversation's owner; anyone else
  is told politely, privately, that it is not theirs.
* A Web API failure is logged (its error code only, never a token or text) and the
  listener carries on: the conversation itself is safe in the store.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from datetime import date, timedelta
from importlib import resources
from typing import Any

import aiohttp
import yaml
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.bootstrap import App
from bots.config import Settings
from bots.slack import blocks
from bots.slack.credentials import uses_oauth
from bots.slack.ids import ActionRef, BlockRef, Kind
from bots.slack.inflight import InFlight
from bots.slack.translate import (
    Profile,
    click_event,
    click_label,
    conversation_key,
    dm_link,
    is_user_dm,
    message_text,
    parse_command,
    profile_from,
)
from core.actions import Action, Ask, Result, Say
from core.dates import format_date
from core.events import Answer, Start
from core.ports import ConversationKey, StoreError
from core.session import Turn

log = logging.getLogger("should_i_take_it.slack")

SHORTCUT_CALLBACK = "should_i_take_it_message"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_STATE_SECONDS = 600
RATE_LIMIT_RETRIES = 3
HISTORY_LIMIT = 20
FEEDBACK_KINDS = ("stale", "error")  # notices about a click, shown only to the clicker
_OURS = re.compile(r"^sit:")

# Profiles (language, name) are looked up again after this many seconds, for this many users.
PROFILE_TTL = 600.0
PROFILES_KEPT = 4096


def bot_scopes() -> list[str]:
    """The bot scopes declared in manifest.yaml: what an OAuth install asks for."""
    manifest = yaml.safe_load((resources.files("bots.slack") / "manifest.yaml").read_text("utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


def build_app(
    app: App, settings: Settings, *, http_session: aiohttp.ClientSession | None = None
) -> AsyncApp:
    """The Bolt app with every listener registered (see :class:`SlackBot`)."""
    return SlackBot(app, settings, http_session=http_session).bolt


class SlackBot:
    """The adapter: owns the Bolt app, its Web API client and, for multi-workspace
    installs, the installation and OAuth state stores (on the conversation database)."""

    def __init__(
        self, app: App, settings: Settings, *, http_session: aiohttp.ClientSession | None = None
    ) -> None:
        self.app = app
        self.q = app.questionnaire
        self.session = app.session
        self.work = InFlight()
        self._profiles: OrderedDict[str, tuple[float, Profile]] = OrderedDict()
        self.oauth = uses_oauth(settings)
        # HTTP mode checks signatures before Bolt parses anything (see server.web_app).
        self.signing_secret = settings.slack_signing_secret or ""
        self._own_engine: AsyncEngine | None = None
        self._stores: (
            tuple[AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore] | None
        ) = None
        client = AsyncWebClient(
            token=None if self.oauth else settings.slack_bot_token,
            base_url=_api_url(settings.slack_api_url),
            session=http_session,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ],
        )
        # Bolt copies this logger's level to each of its own: at INFO and below they would
        # log whole request bodies (people's answers), so they stay at WARNING.
        bolt_logger = logging.getLogger("should_i_take_it.slack.bolt")
        bolt_logger.setLevel(logging.WARNING)
        self.bolt = AsyncApp(
            name="should-i-take-it",
            logger=bolt_logger,
            # Socket Mode needs no signing secret (Bolt skips the check for its requests).
            signing_secret=settings.slack_signing_secret or "",
            client=client,
            oauth_settings=self._oauth_settings(settings) if self.oauth else None,
        )
        self._register()

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Create the installation and OAuth state tables when installs are multi-workspace."""
        if self._stores is not None:
            for store in self._stores:
                await store.create_tables()

    async def close(self) -> None:
        if self._own_engine is not None:
            await self._own_engine.dispose()

    def _oauth_settings(self, settings: Settings) -> AsyncOAuthSettings:
        assert settings.slack_client_id and settings.slack_client_secret
        engine = getattr(self.app.store, "engine", None)
        if not isinstance(engine, AsyncEngine):
            # A store without a database (tests, --memory): open the configured one.
            from core.store import database_url
            from core.store.sql import make_engine

            engine = self._own_engine = make_engine(
                database_url(settings.database_url, data_dir=settings.data_dir)
            )
        installations = AsyncSQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=engine, logger=log
        )
        states = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=OAUTH_STATE_SECONDS, engine=engine, logger=log
        )
        self._stores = (installations, states)
        return AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=bot_scopes(),
            installation_store=installations,
            state_store=states,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
        )

    def _register(self) -> None:
        bolt = self.bolt
        bolt.command(blocks.COMMAND)(self._on_command)
        bolt.shortcut(SHORTCUT_CALLBACK)(self._on_shortcut)
        bolt.block_action(_OURS)(self._on_click)
        bolt.event("message")(self._on_message)
        bolt.event("app_home_opened")(self._on_home_opened)
        if self.oauth:
            bolt.enable_token_revocation_listeners()
        else:  # subscribed in the manifest for OAuth installs; nothing to clean up here
            bolt.event("app_uninstalled")(self._ignore)
            bolt.event("tokens_revoked")(self._ignore)

    # --- listeners ----------------------------------------------------------------------

    async def _on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        async with self.work:
            await ack()
            user = command["user_id"]
            key = conversation_key(context.team_id, context.enterprise_id, user)
            request = parse_command(self.q, command.get("text") or "")
            if request.kind == "start":
                await self._start_in_dm(
                    client,
                    respond,
                    key,
                    here=command.get("channel_id"),
                    lang=request.lang,
                    request=request.request,
                )
                return
            lang = request.lang or (await self._profile(client, user)).lang or self.q.languages[0]
            if request.kind == "help":
                await self._respond(respond, blocks.render_help(self.q, lang))
            elif request.kind == "history":
                await self._respond(respond, await self._history(key, lang))
            else:
                await self._respond(respond, blocks.render_forget_confirm(self.q, lang, user))

    async def _on_shortcut(
        self,
        ack: AsyncAck,
        shortcut: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        async with self.work:
            await ack()
            user = shortcut["user"]["id"]
            await self._start_in_dm(
                client,
                respond,
                conversation_key(context.team_id, context.enterprise_id, user),
                here=(shortcut.get("channel") or {}).get("id"),
                request=message_text(shortcut.get("message") or {}) or None,
            )

    async def _on_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        async with self.work:
            if not is_user_dm(event):
                return
            user = event["user"]
            key = conversation_key(context.team_id, context.enterprise_id, user)
            event_id = body.get("event_id")
            # Language and signature, in case this message starts a conversation.
            profile = await self._profile(client, user)
            answer = Answer(
                message_text(event),
                today=self._today(user),
                locale=profile.lang,
                signature=profile.name,
            )
            turn = await self.session.handle(
                key,
                answer,
                delivery_id=f"slack:event:{event_id}" if event_id else None,
            )
            if not turn.duplicate:
                await self._post(client, event["channel"], self._render(turn.actions, user))

    async def _on_click(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        async with self.work:
            await ack()
            ref = ActionRef.decode(action["action_id"])
            block = BlockRef.decode(action.get("block_id"))
            user = body["user"]["id"]
            lang = (
                block.lang
                if block is not None and block.lang in self.q.languages
                else self.q.languages[0]
            )
            if ref is None:
                return
            if block is not None and block.owner != user:
                await self._respond(respond, blocks.render_notice(self.q.ui(lang, "not_yours")))
                return
            key = conversation_key(context.team_id, context.enterprise_id, user)
            if ref.kind is Kind.START:
                await self._start_in_dm(client, None, key, here=None)
            elif ref.kind is Kind.FORGET:
                try:
                    count = await self.session.forget(key)
                    done = blocks.render_notice(self.q.ui(lang, "forgotten", count=count))
                except StoreError:
                    done = blocks.render_notice(self.q.ui(lang, "error"))
                await self._respond(respond, done, replace=True)
            elif ref.kind is Kind.KEEP:
                await self._respond(
                    respond, blocks.render_notice(self.q.ui(lang, "slack_kept")), replace=True
                )
            else:
                await self._step_on_click(client, respond, key, body, action, ref, lang)

    async def _on_home_opened(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        async with self.work:
            if event.get("tab") != "home":
                return
            user = event["user"]
            key = conversation_key(context.team_id, context.enterprise_id, user)
            lang = (await self._profile(client, user)).lang or self.q.languages[0]
            try:
                decisions = await self.session.history(key, blocks.HISTORY_ON_HOME)
            except StoreError:
                log.warning("history unavailable for the App Home")
                decisions = []
            await self._call(
                client.views_publish,
                user_id=user,
                view=blocks.render_home(self.q, lang, user, decisions),
            )

    async def _ignore(self) -> None:
        return None

    # --- conversation steps -------------------------------------------------------------

    async def _start_in_dm(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond | None,
        key: ConversationKey,
        *,
        here: str | None,
        lang: str | None = None,
        request: str | None = None,
    ) -> None:
        """Open the DM and start the conversation there (quoting the request it is about),
        and tell the channel it was started from where it went. ``lang`` wins over the
        user's Slack locale; the reply is signed with their Slack name."""
        profile, opened = await asyncio.gather(
            self._profile(client, key.user),
            self._call(client.conversations_open, users=key.user),
        )
        shown = lang or profile.lang or self.q.languages[0]
        dm = opened and (opened.get("channel") or {}).get("id")
        if not dm:
            if respond is not None:
                await self._respond(respond, blocks.render_notice(self.q.ui(shown, "dm_failed")))
            return
        # An explicit `fr`/`en` wins; the Slack locale only picks a new conversation's language.
        start = Start(
            today=self._today(key.user),
            lang=lang,
            locale=profile.lang,
            request=request,
            signature=profile.name,
        )
        steps = [self._begin(client, key, dm, start, shown)]
        if respond is not None and here != dm:
            link = dm_link(key.workspace, dm)
            steps.append(self._respond(respond, blocks.render_continue(self.q, shown, link)))
        await asyncio.gather(*steps)

    async def _begin(
        self, client: AsyncWebClient, key: ConversationKey, dm: str, start: Start, lang: str
    ) -> None:
        turn = await self.session.handle(key, start)
        lead: list[blocks.Block] = []
        lead_text = ""
        if start.request and not turn.failed:
            lang = _lang_of(turn.actions) or lang
            lead, lead_text = blocks.request_quote(self.q, lang, start.request)
        await self._post(
            client, dm, self._render(turn.actions, key.user, lead=lead, lead_text=lead_text)
        )

    async def _step_on_click(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond,
        key: ConversationKey,
        body: dict[str, Any],
        action: dict[str, Any],
        ref: ActionRef,
        lang: str,
    ) -> None:
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts")
        # No delivery id: Slack never redelivers a click, and a button carries the version
        # it was shown at, so a double click finds the conversation moved on (stale). A
        # click whose turn died with the process can then simply be clicked again.
        event = click_event(ref, action, self._today(key.user))
        assert event is not None
        turn = await self.session.handle(key, event)
        await self._render_click(
            client, respond, key.user, turn, body.get("message"), channel, ts, action, ref, lang
        )

    async def _render_click(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond,
        owner: str,
        turn: Turn,
        message: dict[str, Any] | None,
        channel: str | None,
        ts: str | None,
        action: dict[str, Any],
        ref: ActionRef,
        lang: str,
    ) -> None:
        """Show what a click did. Notices about the click itself (stale, error) go only to
        the clicker and leave the message alone; a tone or language switch re-renders the
        reply in place; anything else freezes the clicked message (buttons removed, the
        answer noted) and posts what comes next."""
        actions = turn.actions
        feedback = [a for a in actions if isinstance(a, Say) and a.kind in FEEDBACK_KINDS]
        if actions and len(feedback) == len(actions):
            for say in feedback:
                await self._respond(
                    respond, blocks.render_notice(say.text, trimmed=self.q.ui(lang, "trimmed"))
                )
            return
        lang = _lang_of(actions) or lang
        in_place = ref.kind in (Kind.TONE, Kind.LANG)
        result = next((a for a in actions if isinstance(a, Result)), None)
        if in_place and result is not None and channel and ts:
            await self._call(
                client.chat_update,
                channel=channel,
                ts=ts,
                **blocks.render_result(self.q, result, owner).payload(),
            )
            for say in (a for a in actions if isinstance(a, Say)):
                await self._respond(
                    respond, blocks.render_notice(say.text, trimmed=self.q.ui(lang, "trimmed"))
                )
            return
        steps = []
        if message is not None and channel and ts:
            answered = ref.kind in (Kind.ANSWER, Kind.DATE) and not any(
                isinstance(a, Say) and a.kind == "reprompt" for a in actions
            )
            note = (
                blocks.answered_note(self.q, lang, self._answer_label(action, ref, lang))
                if answered
                else None
            )
            frozen = blocks.render_frozen(message, note).payload()
            steps.append(self._call(client.chat_update, channel=channel, ts=ts, **frozen))
        if channel:
            steps.append(self._post(client, channel, self._render(actions, owner)))
        await asyncio.gather(*steps)

    # --- helpers ------------------------------------------------------------------------

    def _render(
        self,
        actions: tuple[Action, ...],
        owner: str,
        *,
        lead: list[blocks.Block] | None = None,
        lead_text: str = "",
    ) -> list[blocks.Message]:
        return blocks.render_turn(
            self.q, actions, owner, lang=self.q.languages[0], lead=lead or [], lead_text=lead_text
        )

    def _answer_label(self, action: dict[str, Any], ref: ActionRef, lang: str) -> str:
        if ref.kind is Kind.DATE:
            try:
                return format_date(date.fromisoformat(str(action.get("selected_date"))), lang)
            except ValueError:
                return str(action.get("selected_date") or "")
        return click_label(action)

    async def _history(self, key: ConversationKey, lang: str) -> blocks.Message:
        try:
            decisions = await self.session.history(key, HISTORY_LIMIT)
        except StoreError:
            return blocks.render_notice(self.q.ui(lang, "error"))
        return blocks.render_history(self.q, lang, decisions)

    async def _profile(self, client: AsyncWebClient, user: str) -> Profile:
        """The user's Slack language and name, looked up at most every PROFILE_TTL seconds:
        a DM that starts a conversation needs them, and users.info on every message would
        cost a Web API call per turn. (A cache of profiles, not of conversations.)"""
        now = time.monotonic()
        cached = self._profiles.get(user)
        if cached is not None and now - cached[0] < PROFILE_TTL:
            return cached[1]
        response = await self._call(client.users_info, user=user, include_locale=True)
        profile = profile_from((response or {}).get("user") or {}, self.q.languages)
        if response is not None:
            self._profiles[user] = (now, profile)
            self._profiles.move_to_end(user)
            while len(self._profiles) > PROFILES_KEPT:
                self._profiles.popitem(last=False)
        return profile

    async def _post(
        self, client: AsyncWebClient, channel: str, messages: list[blocks.Message]
    ) -> None:
        for message in messages:
            await self._call(client.chat_postMessage, channel=channel, **message.payload())

    async def _respond(
        self, respond: AsyncRespond, message: blocks.Message, *, replace: bool = False
    ) -> None:
        """An ephemeral answer through the interaction's response_url (works in channels
        the bot is not a member of)."""
        try:
            await respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url failed: %s", type(exc).__name__)

    async def _call(self, method: Any, **kwargs: Any) -> dict[str, Any] | None:
        """A Web API call whose failure is logged by error code and otherwise ignored."""
        try:
            response = await method(**kwargs)
        except SlackApiError as exc:
            log.warning("%s failed: %s", method.__name__, exc.response.get("error"))
            return None
        return dict(response.data) if isinstance(response.data, dict) else None

    def _today(self, user: str | None = None) -> date:
        """The user's calendar day when their profile is known (a date typed as today must
        not be "already past" because the server runs on UTC), else the server's."""
        now = self.session.clock()
        cached = self._profiles.get(user) if user else None
        if cached is not None and cached[1].tz_offset is not None:
            now += timedelta(seconds=cached[1].tz_offset)
        return now.date()


def _lang_of(actions: tuple[Action, ...]) -> str | None:
    return next((a.lang for a in actions if isinstance(a, Ask | Result)), None)


def _api_url(url: str | None) -> str:
    if not url:
        return AsyncWebClient.BASE_URL
    return url if url.endswith("/") else url + "/"
