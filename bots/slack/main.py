"""``should-i-take-it slack``: the Slack bot's entry point and composition root.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed), HTTP mode otherwise
(``--socket`` / ``--http`` force one). Configuration comes from the environment (and
``.env``), checked before anything starts: a missing variable stops start-up with a
message naming it and where to find its value. Expired rows are swept every
``SWEEP_INTERVAL_SECONDS`` (:mod:`bots.retention`). SIGTERM or Ctrl-C stops accepting work,
lets what is running finish, closes the store, and exits within 10 seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

import aiohttp

from bots.bootstrap import bootstrap, configure_logging, run_service, settle_heap
from bots.config import ConfigError, Settings, hide_from_libraries, load_settings
from bots.errors import broken_questionnaire, friendly_store_error
from bots.retention import Sweeper
from bots.slack.app import SlackBot
from bots.slack.credentials import Mode, choose_mode, uses_oauth
from bots.slack.preflight import Refused, Stopped, check_app_token, check_bot_token, retrying
from bots.slack.server import serve_http, serve_socket
from core.ports import StoreError
from core.questionnaire import InvalidDefinition

log = logging.getLogger("should_i_take_it.slack")

HOST = "0.0.0.0"  # behind a platform's router; the port comes from $PORT


def main(argv: Sequence[str] | None = None) -> int:
    from bots.cli import subcommand_parser

    parser = subcommand_parser("slack")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = load_settings()
        mode = choose_mode(settings, args.mode)
        if args.port is not None and not 0 < args.port < 65536:
            raise ConfigError("--port", f"must be a TCP port between 1 and 65535, got {args.port}")
    except ConfigError as exc:
        print(f"should-i-take-it slack: {exc}", file=sys.stderr)
        return 2
    hide_from_libraries(os.environ)  # Bolt gets them from Settings, explicitly
    configure_logging(settings.log_level)
    try:
        run_service(run(settings, mode, args.port or settings.port))
    except Refused as exc:
        print(f"should-i-take-it slack: {exc}", file=sys.stderr)
        return 1
    except InvalidDefinition as exc:
        print(f"should-i-take-it slack: {broken_questionnaire(exc, settings)}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"should-i-take-it slack: {friendly_store_error(exc, settings)}", file=sys.stderr)
        return 1
    return 0


async def run(settings: Settings, mode: Mode, port: int) -> None:
    """Check the credentials, then run the bot until SIGTERM or SIGINT (honoured at any
    moment, including while Slack cannot be reached)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await _run(settings, mode, port, stop)
    except Stopped:
        log.info("stopped before connecting")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _run(settings: Settings, mode: Mode, port: int, stop: asyncio.Event) -> None:
    # One connection pool for every Web API call instead of a session per call.
    async with aiohttp.ClientSession() as http:
        wss_url = await preflight(settings, mode, http, stop)
        app = await bootstrap(settings)
        try:
            bot = SlackBot(app, settings, http_session=http)
            try:
                await bot.start()
                settle_heap()
                sweeper = Sweeper(
                    app, interval=settings.sweep_interval, oauth_states=uses_oauth(settings)
                )
                async with sweeper:
                    if mode == "http":
                        await serve_http(bot, host=HOST, port=port, stop=stop)
                    else:
                        assert settings.slack_app_token is not None  # checked by choose_mode
                        token = settings.slack_app_token
                        await serve_socket(bot, token, stop=stop, wss_url=wss_url)
            finally:
                await bot.close()
        finally:
            await app.close()
            log.info("stopped")


async def preflight(
    settings: Settings, mode: Mode, http: aiohttp.ClientSession, stop: asyncio.Event
) -> str | None:
    """Try the bot token (auth.test) and, in Socket Mode, the app token, once each; returns
    the Socket Mode URL obtained. Raises Refused on a bad credential, Stopped on SIGTERM."""
    if settings.slack_bot_token and not uses_oauth(settings):
        me = await retrying(
            lambda: check_bot_token(settings, http),
            what="check SLACK_BOT_TOKEN",
            stop=stop,
            log=log,
        )
        log.info("Slack: signed in as %s in %s", me.user, me.team)
    if mode != "socket":
        return None
    return await retrying(
        lambda: check_app_token(settings, http),
        what="open a Socket Mode connection",
        stop=stop,
        log=log,
    )
