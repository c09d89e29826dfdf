"""The Slack adapter on Bolt's asyncio app: listeners that turn a payload into a core event
(typed text, a command, or a control decoded by :mod:`core.controls`), hand it to the
session, and draw the :class:`~core.turn.Turn` it returns (:mod:`bots.slack.blocks`).

Rules every listener follows:

* **Inbox, ack, then work**: every request is written to the store's inbox (one write)
  before the ack, so Slack's 3-second deadline depends on that write only, never on the
  turn or the Web API; a redelivery (same ``event_id`` or ``trigger_id``) is acked and
  dropped there. The work after the ack is counted in :attr:`SlackBot.work`, so a shutdown
  waits for it; a row whose process died is claimed and replayed (:meth:`catch_up`).
* **Outbox**: a turn is drawn before it is saved, and what it must show is queued with
  the save; the courier sends it and marks it sent, and :meth:`catch_up` sends what a dead
  process left unsent (at least once: see :mod:`bots.slack.outbox`).
* **Exactly once**: an inbox row settles in the turn's own transaction; a control carries
  its message's version, so a double click finds the conversation moved on (stale).
* **Only the owner clicks**: every control carries its conversation's owner; anyone else
  is told politely, privately, that it is not theirs.
* **The turn says what to do**: shown privately or posted, and what becomes of the clicked
  message — no listener looks at message kinds.
* A Web API failure is logged (its error code only, never a token or text) and the
  listener carries on: the conversation itself is safe in the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

import aiohttp
from cachetools import TTLCache
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bots.bootstrap import App
from bots.config import Settings
from bots.reminders import ReminderSender
from bots.slack import outbox as box
from bots.slack.blocks import COMMAND, PROFILE_EDIT, PROFILE_FORM, WORDS, Block, Drawer, Message
from bots.slack.credentials import oauth_settings, uses_oauth
from bots.slack.inflight import InFlight
from bots.slack.profiles import PROFILE_TTL, PROFILES_KEPT, Profiles
from bots.slack.translate import (
    PLATFORM,
    conversation_key,
    dm_link,
    form_values,
    installation_of,
    is_user_dm,
    message_text,
    parse_command,
)
from bots.slack.webapi import RATE_LIMIT_RETRIES, RESPOND_TIMEOUT, Reply, WebApi
from core import controls
from core.controls import AppAction, NextStep, Refusal
from core.events import Answer, Event, Start
from core.ports import ConversationKey, DueReminder, InboxRow, OutboxMessage, StoreError
from core.profile import FIELDS, UserProfile, from_form, page_language
from core.turn import Effect, Source, Turn

log = logging.getLogger("should_i_take_it.slack")

SHORTCUT_CALLBACK = "should_i_take_it_message"
HISTORY_LIMIT = 20
INBOX_TIMEOUT = 2.0  # seconds for the inbox write before the ack (Slack waits 3)
_OURS = re.compile(r"^sit:")


@dataclass(frozen=True, slots=True)
class Clicked:
    """The message a control was clicked on."""

    channel: str
    ts: str
    message: Mapping[str, Any]


def build_app(
    app: App, settings: Settings, *, http_session: aiohttp.ClientSession | None = None
) -> AsyncApp:
    """The Bolt app with every listener registered (see :class:`SlackBot`)."""
    return SlackBot(app, settings, http_session=http_session).bolt


class SlackBot:
    """The adapter: owns the Bolt app and its Web API client."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        *,
        http_session: aiohttp.ClientSession | None = None,
        durable: bool = True,
    ) -> None:
        """``durable=False``: no inbox and no outbox (ack, then work and send directly), to
        measure what they cost (``bench/slack_http.py``); never in production."""
        self.q = app.questionnaire
        self.durable = durable
        self.q.check_words(WORDS)
        self.session = app.session
        self.store = app.store
        self.draw = Drawer(self.q)
        self.work = InFlight()
        self.http = http_session  # shared by the Web API client and response_url posts
        self.oauth = oauth_settings(settings, app.database()) if uses_oauth(settings) else None
        # HTTP mode checks signatures before Bolt parses anything (see server.web_app).
        self.signing_secret = settings.slack_signing_secret or ""
        client = AsyncWebClient(
            token=None if self.oauth else settings.slack_bot_token,
            base_url=_api_url(settings.slack_api_url),
            session=http_session,
            logger=_quiet_logger("should_i_take_it.slack.web"),
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ],
        )
        # Our own calls (the outbox's, users.info, conversations.open): one request each.
        self.api = WebApi(
            _api_url(settings.slack_api_url),
            None if self.oauth else settings.slack_bot_token,
            http_session,
        )
        self.profiles = Profiles(self.q.languages, self._users_info)
        self._dms: TTLCache[str, str] = TTLCache(PROFILES_KEPT, PROFILE_TTL)  # see _open_dm
        self.lease = settings.redelivery_after
        self.courier = box.Courier(self.store, self.session.clock, self.api, self._token_for)
        # Inbox rows whose turn failed and was apologised for: settled, not replayed, once
        # the store is back (the person was told to try again).
        self._abandoned: set[int] = set()
        self._pump: asyncio.Task[None] | None = None
        self.reminders = ReminderSender(self.session, PLATFORM, self._send_reminder)
        self.bolt = AsyncApp(
            name="should-i-take-it",
            logger=_quiet_logger("should_i_take_it.slack.bolt"),
            # Socket Mode needs no signing secret (Bolt skips the check for its requests);
            # HTTP mode checks each request's on its raw bytes (see server.web_app), once.
            signing_secret=self.signing_secret,
            request_verification_enabled=False,
            client=client,
            oauth_settings=self.oauth,
            # Answer Slack when the listener returns, which is right after its ack: the
            # work goes on on our own tasks (self.work), not on Bolt's 10 ms ack polling.
            process_before_response=True,
            # No assistant threads here: no per-event assistant helpers to attach.
            attaching_conversation_kwargs_enabled=False,
        )
        bolt = self.bolt
        # Bolt tries listeners in this order, building every argument for each one's
        # matcher: the most frequent requests first (each kind matches one listener only).
        bolt.block_action(_OURS)(self._acked(self._on_click))
        bolt.event("message")(self._acked(self._on_message, keep=_from_a_person))
        bolt.command(COMMAND)(self._acked(self._on_command))
        bolt.shortcut(SHORTCUT_CALLBACK)(self._acked(self._on_shortcut))
        bolt.event("app_home_opened")(self._acked(self._on_home_opened))
        bolt.action(PROFILE_EDIT)(self._acked(self._on_profile_edit))
        # Not through the inbox: the ack itself answers (the form's errors, or closing it).
        bolt.view(PROFILE_FORM)(self._on_profile_submitted)
        if self.oauth:
            bolt.enable_token_revocation_listeners()
        else:  # subscribed in the manifest for OAuth installs; nothing to clean up here
            bolt.event("app_uninstalled")(self._ignore)
            bolt.event("tokens_revoked")(self._ignore)

    async def start(self) -> None:
        """Create the installation and OAuth state tables when installs are multi-workspace,
        and start catching up with the inbox and outbox (now, then every few seconds)."""
        if self.oauth is not None:
            await self.oauth.installation_store.create_tables()  # type: ignore[attr-defined]
            await self.oauth.state_store.create_tables()  # type: ignore[attr-defined]
        try:
            # Before serving: what a dead process left goes out before anything new for
            # the same conversation.
            await self.catch_up(takeover=True)
        except StoreError:
            log.warning("catching up at start-up skipped: store unavailable")
        self._pump = asyncio.create_task(self._catch_up_forever(), name="slack-catch-up")
        self.reminders.start()

    async def close(self) -> None:
        # The database engine and the HTTP session belong to whoever made them.
        await self.reminders.close()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None

    # --- the inbox and the outbox ---------------------------------------------------------

    async def _catch_up_forever(self) -> None:
        while True:
            try:
                await self.catch_up()
            except StoreError:
                log.warning("catching up skipped: store unavailable")
            except Exception:
                log.exception("catching up failed")
            # Jittered, so several processes do not claim in step.
            await asyncio.sleep(self.lease.total_seconds() / 4 * (0.5 + random.random()))

    async def catch_up(self, *, takeover: bool = False) -> int:
        """Send the outbox messages and replay the inbox rows whose claim ran out (their
        process died, or failed), in order per conversation, older messages first; returns
        how many. ``takeover`` (at start-up): also those still claimed, since a process
        that just started holds none, and waiting for a dead one's claims to run out would
        let new turns overtake them. (With several processes, a start-up can so take rows a
        live one is working on: the inbox still changes a conversation once; a message may
        go twice.)"""
        now = self.session.clock()
        for inbox_id in sorted(self._abandoned):
            await self.store.finish(inbox_id, (), now=now)
            self._abandoned.discard(inbox_id)
        due = now + self.lease if takeover else now
        unsent = await self.store.outbox_claim(due, claim_until=now + self.lease)
        by_conversation: dict[str, list[OutboxMessage]] = {}
        for message in unsent:
            by_conversation.setdefault(message.key, []).append(message)
        await asyncio.gather(
            *(self.courier.deliver(group, in_order=True) for group in by_conversation.values())
        )
        self.courier.resent += len(unsent)
        rows = await self.store.inbox_claim(due, claim_until=now + self.lease)
        by_key: dict[str, list[InboxRow]] = {}
        for row in rows:
            by_key.setdefault(row.key or f"#{row.id}", []).append(row)

        async def replay(group: list[InboxRow]) -> None:
            for row in group:
                await self._replay(row)

        await asyncio.gather(*(replay(group) for group in by_key.values()))
        if rows or unsent:
            log.info(
                "caught up: %d request(s) replayed, %d message(s) sent", len(rows), len(unsent)
            )
        return len(rows) + len(unsent)

    async def _send_reminder(self, reminder: DueReminder, turn: Turn) -> bool:
        """A due reminder, into the user's DM with the app (a user id as the channel), through
        the outbox like every turn."""
        key, now = reminder.key, self.session.clock()
        calls = self._plan(turn, key.user, key.user, None, None, None)
        team = installation_of(key)
        queued, wires = box.messages(key.as_string(), calls, team, now + self.lease)
        await self.store.finish(None, queued, now=now)
        # The team's own token with OAuth installs (None: the single one).
        await self.courier.deliver(queued, await self._token_for(team), wires)
        return True

    async def _replay(self, row: InboxRow) -> None:
        """Dispatch an inbox row through Bolt again, as the listener's work."""
        request = AsyncBoltRequest(
            body=row.payload, mode="socket_mode", context={box.INBOX: row.id, box.REPLAY: True}
        )
        try:
            async with self.work:
                await self.bolt.async_dispatch(request)
        except Exception:
            log.exception("replaying a request failed")
        if row.id not in self._abandoned:
            # Settled already by its turn, or by the listener; if no listener took it, here.
            await self.store.finish(row.id, (), now=self.session.clock())

    async def _token_for(self, call: dict[str, Any]) -> str | None:
        """The bot token for the team an outbox message is for (None: the single token)."""
        if self.oauth is None:
            return None
        bot = await self.oauth.installation_store.async_find_bot(
            enterprise_id=call.get("enterprise"), team_id=call.get("team")
        )
        return None if bot is None else bot.bot_token

    # --- listeners (each takes Bolt's ``args``: ack, body, client, context, respond, ...) ---

    def _acked(
        self,
        work: Callable[[AsyncArgs], Coroutine[Any, Any, None]],
        *,
        keep: Callable[[AsyncArgs], bool] | None = None,
    ) -> Any:
        """A Bolt listener that writes the request to the inbox, acks, then leaves ``work``
        running on its own task. ``keep``: whether the request is work at all (others are
        acked and dropped). A replayed row runs ``work`` at once, awaited."""

        async def listener(args: AsyncArgs) -> None:
            context = args.context
            if context.get(box.REPLAY):
                if args.ack is not None:  # unanswered, Bolt would log it as unhandled
                    await args.ack()
                await self._process(work, args, context.get(box.INBOX))
                return
            if (keep is not None and not keep(args)) or not self.durable:
                if args.ack is not None:
                    await args.ack()
                if self.durable:
                    return
                self.work.spawn(work(args))
                return
            inbox_id = None
            now = self.session.clock()
            try:
                # A timeout scope, not wait_for: no task per request.
                async with asyncio.timeout(INBOX_TIMEOUT):
                    item = box.inbox_item(args, now)
                    inbox_id = await self.store.inbox_put(item, claim_until=now + self.lease)
                if inbox_id is None:  # a redelivery
                    if args.ack is not None:
                        await args.ack()
                    return
            except (StoreError, TimeoutError):
                # Not durable: acked and worked on as before the inbox (the turn apologises
                # if the store is still away).
                log.warning("inbox write failed (store unavailable): working without it")
            if args.ack is not None:
                await args.ack()
            self.work.spawn(self._process(work, args, inbox_id))

        return listener

    async def _process(
        self,
        work: Callable[[AsyncArgs], Coroutine[Any, Any, None]],
        args: AsyncArgs,
        inbox_id: int | None,
    ) -> None:
        """Run ``work``; then settle its inbox row unless its turn did (work without a
        turn, such as help or a refused click, is at least once: harmless to repeat)."""
        if inbox_id is None:
            await work(args)
            return
        args.context[box.INBOX] = inbox_id
        try:
            await work(args)
        finally:
            if not args.context.get(box.SETTLED) and inbox_id not in self._abandoned:
                try:
                    await self.store.finish(inbox_id, (), now=self.session.clock())
                except StoreError:
                    log.warning("inbox row left open: store unavailable")

    async def _on_command(self, args: AsyncArgs) -> None:
        command = _part(args.command)
        if not await self._first(args, command.get("trigger_id"), "command"):
            return
        user, key = self._who(args, command["user_id"])
        request = parse_command(self.q, command.get("text") or "")
        if request.kind == "start":
            here = command.get("channel_id")
            await self._start_in_dm(args, key, here, request.lang, request.request)
            return
        lang = request.lang or await self._lang_of(user, await self._saved_profile(key))
        if request.kind == "help":
            shown = self.draw.help(lang)
        elif request.kind == "history":
            shown = await self._history(key, lang)
        else:
            shown = await self._forget_confirm(key, lang)
        await self._respond(args.respond, shown)

    async def _on_shortcut(self, args: AsyncArgs) -> None:
        shortcut = _part(args.shortcut)
        if not await self._first(args, shortcut.get("trigger_id"), "shortcut"):
            return
        _, key = self._who(args, shortcut["user"]["id"])
        here = (shortcut.get("channel") or {}).get("id")
        request = message_text(shortcut.get("message") or {}) or None
        await self._start_in_dm(args, key, here, None, request)

    async def _on_message(self, args: AsyncArgs) -> None:
        event = _part(args.event)
        if not is_user_dm(event):
            return
        user, key = self._who(args, event["user"])
        # Language and signature, in case this message starts a conversation.
        profile = await self.profiles.get(user)
        today = self.profiles.today(user, self.session.clock())
        answer = Answer(
            message_text(event), today, locale=profile.locale, signature=profile.name, tz=profile.tz
        )
        # The inbox recognises a redelivered event_id. Typed in the DM: everything is
        # answered there, nothing privately.
        await self._turn(args, key, answer, user, event["channel"], reply=False)

    async def _on_click(self, args: AsyncArgs) -> None:
        action, body = _part(args.action), _part(args.body)
        user, key = self._who(args, body["user"]["id"])
        lang = _block_lang(action.get("block_id"), self.q.languages)
        today = self.profiles.today(user, self.session.clock())
        picked = str(action.get("selected_date") or "")
        match controls.read(action["action_id"], user, today, picked):
            case None:
                return
            case Refusal() as refusal:
                await self._respond(args.respond, self.draw.notice(self.q.ui(lang, refusal), lang))
            case AppAction() as app_action:
                ref = controls.decode(action["action_id"])
                version = ref.version if ref is not None else -1
                await self._app_action(args, app_action, key, lang, version)
            case NextStep() as step:
                await self._next_step(args, key, step, lang)
            case meant:
                container = body.get("container") or {}
                channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
                ts, message = container.get("message_ts"), body.get("message")
                clicked = Clicked(channel, ts, message) if channel and ts and message else None
                await self._turn(args, key, meant, user, channel, clicked=clicked)

    async def _next_step(
        self, args: AsyncArgs, key: ConversationKey, step: NextStep, lang: str
    ) -> None:
        """A next step clicked on a result, a reminder, the history or the App Home: what it
        shows goes to the user's DM (a client's draft never goes to the channel the history
        was shown in), then where it was clicked is redrawn from the entry as it stands now
        (its buttons, or the history, or the App Home)."""
        body = _part(args.body)
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        in_dm = isinstance(channel, str) and channel.startswith("D")  # a DM's id starts with D
        dm = channel if in_dm else (await self._open_dm(args.client.token, key))[0]
        # Should the DM not open, the user id as the channel still posts into it.
        turn = await self._turn(args, key, step, key.user, dm or key.user)
        if turn.effect in (Effect.FAILED, Effect.DUPLICATE):
            return
        if container.get("type") == "view":  # the App Home
            await self._publish_home(args.client, key, await self._saved_profile(key))
        elif container.get("is_ephemeral"):  # the history, shown to the user alone
            await self._respond(args.respond, await self._history(key, lang), replace=True)
            if dm and not in_dm and not turn.private:
                link = dm_link(key.workspace, dm)
                await self._respond(args.respond, self.draw.continue_in_dm(lang, link))
        elif channel and container.get("message_ts") and body.get("message"):
            await self._redraw_steps(args, key, step, lang, turn, channel)

    async def _redraw_steps(
        self,
        args: AsyncArgs,
        key: ConversationKey,
        step: NextStep,
        lang: str,
        turn: Turn,
        channel: str,
    ) -> None:
        """The clicked message (a result, a reminder) with its entry's buttons as the turn
        says they stand now: the steps still open, or, when none is, what was answered in
        their place. Sent directly, not through the outbox: should it be lost, a button left
        there is only answered with a polite "no longer open"."""
        body = _part(args.body)
        shown = turn.open_steps
        if shown is None:
            return
        message = dict(body["message"])
        redrawn = self.draw.next_steps(message, step.ref, shown, key.user, lang, turn.answered)
        if redrawn is not None:
            ts = str((body.get("container") or {}).get("message_ts"))
            await self.courier.send([box.update(channel, ts, redrawn.payload())], args.client.token)

    async def _on_home_opened(self, args: AsyncArgs) -> None:
        event = _part(args.event)
        if event.get("tab") != "home":
            return
        _, key = self._who(args, event["user"])
        await self._publish_home(args.client, key, await self._saved_profile(key))

    async def _publish_home(
        self,
        client: AsyncWebClient,
        key: ConversationKey,
        saved: UserProfile,
        notice: str | None = None,
    ) -> None:
        """The App Home drawn afresh; ``notice``: what went wrong there, said at its top."""
        user = key.user
        lang = await self._lang_of(user, saved)
        try:
            decisions = await self.session.history(key, HISTORY_LIMIT)
        except StoreError:
            log.warning("history unavailable for the App Home")
            decisions = []
        home = self.draw.home(lang, user, decisions, saved, self.session.clock(), notice)
        await self._call(client.views_publish, user_id=user, view=home)

    async def _on_profile_edit(self, args: AsyncArgs) -> None:
        """The App Home's "Edit profile": the form, filled in with what is saved; when it
        cannot be opened, the App Home says so (a click that does nothing is a dead button)."""
        body = _part(args.body)
        _, key = self._who(args, body["user"]["id"])
        try:
            saved = await self.session.profile(key)
        except StoreError:
            log.warning("profile unavailable: its form was not opened")
            lang = await self._lang_of(key.user, UserProfile())
            await self._publish_home(args.client, key, UserProfile(), self.q.ui(lang, "error"))
            return
        lang = await self._lang_of(key.user, saved)
        form = self.draw.profile_form(lang, saved)
        opened = await self._call(
            args.client.views_open, trigger_id=body.get("trigger_id"), view=form
        )
        if opened is None:  # most often the click's trigger_id ran out (3 s)
            button = self.q.ui(lang, "slack_profile_edit")
            notice = self.q.ui(lang, "slack_form_failed", button=button)
            await self._publish_home(args.client, key, saved, notice)

    async def _on_profile_submitted(self, args: AsyncArgs) -> None:
        """The profile form sent: saved (the form closes, the App Home shows it), or sent
        back with what is wrong under each refused field (``response_action: errors``)."""
        assert args.ack is not None  # Bolt always gives a view listener one
        body, view = _part(args.body), _part(args.view)
        _, key = self._who(args, body["user"]["id"])
        lang = str(view.get("private_metadata") or "")
        lang = lang if lang in self.q.languages else self.q.languages[0]
        given = form_values(view)
        checked = from_form(self.q, **{name: given.get(name, "") for name in FIELDS})
        if isinstance(checked, dict):
            errors = {str(name): error.text(self.q, lang) for name, error in checked.items()}
            await args.ack(response_action="errors", errors=errors)
            return
        try:
            # Before the ack (Slack waits 3 s): a form that closes has been saved.
            await asyncio.wait_for(self.session.replace_profile(key, checked), INBOX_TIMEOUT)
        except (StoreError, TimeoutError):
            log.warning("profile not saved: store unavailable")
            await args.ack(response_action="errors", errors={FIELDS[0]: self.q.ui(lang, "error")})
            return
        await args.ack()
        self.work.spawn(self._publish_home(args.client, key, checked))

    async def _saved_profile(self, key: ConversationKey) -> UserProfile:
        try:
            return await self.session.profile(key)
        except StoreError:
            log.warning("saved profile unavailable: Slack's settings used instead")
            return UserProfile()

    async def _lang_of(self, user: str, saved: UserProfile) -> str:
        """The language to show the user's own pages in (see ``core.profile.page_language``):
        the one they saved, else Slack's."""
        return page_language(self.q, saved, (await self.profiles.get(user)).lang)

    async def _ignore(self) -> None:
        return None

    # --- conversation steps -------------------------------------------------------------

    async def _first(self, args: AsyncArgs, trigger_id: Any, kind: str) -> bool:
        """False for a command or shortcut already handled: Slack retried it, or its signed
        request was replayed (within the 5 minutes a signature is accepted). Its
        ``trigger_id`` is unique to one invocation. The inbox already dropped redeliveries
        of what it holds (and replays a row after a crash, which must not be refused here),
        so this is for requests that could not go through it. When the store cannot say, it
        is handled (showing something twice beats showing nothing)."""
        if box.INBOX in args.context or not isinstance(trigger_id, str) or not trigger_id:
            return True
        try:
            return await self.session.first_delivery(f"slack:{kind}:{trigger_id}")
        except StoreError:
            return True

    @staticmethod
    def _who(args: AsyncArgs, user: str) -> tuple[str, ConversationKey]:
        return user, conversation_key(args.context.team_id, args.context.enterprise_id, user)

    async def _app_action(
        self, args: AsyncArgs, action: AppAction, key: ConversationKey, lang: str, version: int
    ) -> None:
        match action:
            case AppAction.START:
                await self._start_in_dm(args, key, None, None, None, reply=False)
            case AppAction.FORGET:
                try:
                    count = await self.session.forget_confirmed(key, version)
                    done = (
                        self.q.ui(lang, "forget_stale")
                        if count is None
                        else self.q.ui(lang, "forgotten", count=count)
                    )
                except StoreError:
                    done = self.q.ui(lang, "error")
                await self._respond(args.respond, self.draw.notice(done, lang), replace=True)
            case AppAction.KEEP:
                kept = self.draw.notice(self.q.ui(lang, "kept"), lang)
                await self._respond(args.respond, kept, replace=True)
            case AppAction.OPEN_FORM:
                return  # never drawn on Slack: answers are typed in the DM
            case _:
                assert_never(action)

    async def _start_in_dm(
        self,
        args: AsyncArgs,
        key: ConversationKey,
        here: str | None,
        lang: str | None,
        request: str | None,
        *,
        reply: bool = True,
    ) -> None:
        """Open the DM and start the conversation there (quoting the request it is about),
        and tell the channel it was started from where it went (``reply``). ``lang`` wins
        over the user's Slack locale; the reply is signed with their Slack name."""
        client = args.client
        profile, (dm, scope) = await asyncio.gather(
            self.profiles.get(key.user), self._open_dm(client.token, key)
        )
        if not dm:
            # No conversation to speak its language: the user's own pages' language.
            saved = await self._saved_profile(key)
            shown = lang or await self._lang_of(key.user, saved)
            # A missing scope is the app's setup, not the user's privacy settings.
            text = self.q.ui(shown, "slack_dm_failed", scope=scope) if scope else ""
            text = text or self.q.ui(shown, "dm_failed")
            if reply:
                await self._respond(args.respond, self.draw.notice(text, shown))
            else:  # started from the App Home: said there
                await self._publish_home(args.client, key, saved, notice=text)
            return
        start = Start(
            today=self.profiles.today(key.user, self.session.clock()),
            lang=lang,
            locale=profile.locale,
            request=request,
            signature=profile.name,
            tz=profile.tz,
        )
        turn = await self._begin(args, key, dm, start)
        if reply and here != dm:
            # In the language the conversation speaks (the saved one, or the one resumed).
            link = dm_link(key.workspace, dm)
            await self._respond(args.respond, self.draw.continue_in_dm(turn.lang, link))

    async def _begin(self, args: AsyncArgs, key: ConversationKey, dm: str, start: Start) -> Turn:
        return await self._turn(args, key, start, key.user, dm, quote=start.request, reply=False)

    async def _turn(
        self,
        args: AsyncArgs,
        key: ConversationKey,
        event: Event | NextStep,
        owner: str,
        channel: str | None,
        *,
        clicked: Clicked | None = None,
        quote: str | None = None,
        reply: bool = True,
    ) -> Turn:
        """Hand ``event`` to the session with the request's inbox row and a drawer, so what
        the turn shows is queued with its save; then send that. A turn the store could not
        take is shown at once (its apology), not queued. Returns the turn."""
        respond = args.respond if reply and args.respond is not None else None
        url = respond.response_url if respond is not None else None
        context = args.context
        team = {"team": context.team_id, "enterprise": context.enterprise_id}
        drawn: list[tuple[Turn, list[OutboxMessage], list[box.Wire]]] = []

        def draw(turn: Turn) -> list[OutboxMessage]:
            calls = self._plan(turn, owner, channel, clicked, quote, url)
            held = self.session.clock() + self.lease
            drawn.append((turn, *box.messages(key.as_string(), calls, team, held)))
            return drawn[-1][1]

        inbox_id = context.get(box.INBOX)
        if not self.durable:
            turn = await self.session.handle(key, event)
            await self.courier.send(
                self._plan(turn, owner, channel, clicked, quote, url), args.client.token
            )
            return turn
        turn = await self.session.handle(key, event, inbox_id=inbox_id, draw=draw)
        context[box.SETTLED] = True
        if drawn and drawn[-1][0] is turn:
            await self.courier.deliver(drawn[-1][1], args.client.token, drawn[-1][2])
        elif turn.effect is Effect.FAILED:
            if inbox_id is not None:
                self._abandoned.add(inbox_id)
            await self.courier.send(
                self._plan(turn, owner, channel, clicked, None, url), args.client.token
            )
        return turn

    def _plan(
        self,
        turn: Turn,
        owner: str,
        channel: str | None,
        clicked: Clicked | None,
        quote: str | None,
        url: str | None,
    ) -> list[box.Payload]:
        """The Web API calls that show ``turn``: privately to whoever clicked (``url``: the
        interaction's response_url), or into the DM, after doing to the clicked message
        what the turn says (freeze it, note the answer, replace it). ``quote``: the
        request a new conversation is about, quoted before its first question."""
        replacement = turn.replacement
        if replacement is not None and clicked is not None:
            update = self.draw.result(replacement, owner).payload()
            calls = [box.update(clicked.channel, clicked.ts, update)]
            if url:
                calls += [
                    box.respond(url, self.draw.notice(say.text, turn.lang).payload())
                    for say in turn.notices
                ]
            return calls
        lead: tuple[Sequence[Block], str] = ((), "")
        if quote and turn.effect is not Effect.FAILED:
            lead = self.draw.request_quote(turn.lang, quote)
        messages = self.draw.turn(turn.actions, owner, turn.lang, lead=lead[0], lead_text=lead[1])
        calls = []
        if clicked is not None and turn.source is not Source.KEEP:
            frozen = self.draw.frozen(dict(clicked.message), turn.answered, turn.lang).payload()
            calls.append(box.update(clicked.channel, clicked.ts, frozen))
        if turn.private and url:
            calls += [box.respond(url, message.payload()) for message in messages]
        elif channel:
            calls += [box.post(channel, message.payload()) for message in messages]
        return calls

    # --- helpers ------------------------------------------------------------------------

    async def _forget_confirm(self, key: ConversationKey, lang: str) -> Message:
        try:
            version = await self.session.forget_version(key)
        except StoreError:
            return self.draw.notice(self.q.ui(lang, "error"), lang)
        return self.draw.forget_confirm(lang, key.user, version)

    async def _history(self, key: ConversationKey, lang: str) -> Message:
        try:
            decisions = await self.session.history(key, HISTORY_LIMIT)
        except StoreError:
            return self.draw.notice(self.q.ui(lang, "error"), lang)
        return self.draw.history(lang, key.user, decisions, self.session.clock())

    async def _users_info(self, user: str) -> Mapping[str, Any] | None:
        query = {"user": user, "include_locale": "true"}
        answer = await self.api.call("users.info", query=query)
        if not answer.ok:
            _log_failure("users_info", answer)
            return None
        found = answer.data.get("user")
        return found if isinstance(found, dict) else {}

    async def _respond(
        self, respond: AsyncRespond | None, message: Message, *, replace: bool = False
    ) -> None:
        """An ephemeral answer through the interaction's response_url (works in channels
        the bot is not a member of), through :meth:`WebApi.post_json`: on the process's
        shared HTTP session, where Bolt's ``respond`` opens a new connection for every call."""
        if respond is None or not respond.response_url:
            return
        body = {**message.payload(), "response_type": "ephemeral", "replace_original": replace}
        try:
            encoded = json.dumps(body).encode()
            status = await self.api.post_json(respond.response_url, encoded, RESPOND_TIMEOUT)
            if status >= 400:
                log.warning("response_url failed: HTTP %d", status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url failed: %s", type(exc).__name__)

    async def _call(self, method: Any, **kwargs: Any) -> dict[str, Any] | None:
        """A Web API call whose failure is logged by error code (and the scope it needed)
        and otherwise ignored."""
        try:
            response = await method(**kwargs)
        except SlackApiError as exc:
            error, needed = exc.response.get("error"), exc.response.get("needed")
            log.warning("%s failed: %s%s", method.__name__, error, f" ({needed})" if needed else "")
            return None
        return dict(response.data) if isinstance(response.data, dict) else None

    async def _open_dm(self, token: str | None, key: ConversationKey) -> tuple[str | None, str]:
        """The DM's channel id; else None and why, worded for the user: a missing scope
        is the app's setup (named), anything else the user's own settings. A DM's id does
        not change: kept a while, it saves a call on every command (failures are not kept)."""
        name = key.as_string()
        kept = self._dms.get(name)
        if kept is not None:
            return kept, ""
        body = json.dumps({"users": key.user}).encode()
        answer = await self.api.call("conversations.open", token, body=body)
        if not answer.ok:
            error, needed = _log_failure("conversations_open", answer)
            scope = str(needed or "im:write") if error == "missing_scope" else ""
            return None, scope
        channel = answer.data.get("channel")
        found = channel.get("id") if isinstance(channel, dict) else None
        if not isinstance(found, str) or not found:
            return None, ""
        self._dms[name] = found
        return found, ""


def _log_failure(method: str, answer: Reply) -> tuple[str, str | None]:
    """Log a Web API call Slack refused, by error code (and the scope it needed)."""
    error, needed = answer.why()
    log.warning("%s failed: %s%s", method, error, f" ({needed})" if needed else "")
    return error, needed


def _quiet_logger(name: str) -> logging.Logger:
    """A logger at WARNING for Bolt or the Web API client, whatever the root's level. At
    INFO and below they would log whole request bodies (people's answers); and both test
    the logger's own ``level`` (not ``isEnabledFor``) before formatting their DEBUG lines,
    so a logger left at NOTSET makes the Web API client format every request's whole body
    into a line that is then thrown away (a third of the CPU of a call)."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger


def _from_a_person(args: AsyncArgs) -> bool:
    """A message event worth a turn (and an inbox row): typed by a person in their DM with
    the bot. The bot's own posts come back as message events too."""
    return isinstance(args.event, dict) and is_user_dm(args.event)


def _part(part: dict[str, Any] | None) -> dict[str, Any]:
    """A part of the request that Bolt always gives this kind of listener."""
    return part if part is not None else {}


def _block_lang(block_id: str | None, languages: tuple[str, ...]) -> str:
    """The language a block was drawn in (``sit:<lang>:<row>``, and a tag when one message
    holds several blocks of a row), for notices about it."""
    parts = (block_id or "").split(":")
    return parts[1] if len(parts) in (3, 4) and parts[1] in languages else languages[0]


def _api_url(url: str | None) -> str:
    if not url:
        return AsyncWebClient.BASE_URL
    return url if url.endswith("/") else url + "/"
