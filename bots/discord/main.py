"""``should-i-take-it discord``: run the Discord bot until SIGTERM or Ctrl-C.

It logs in with ``DISCORD_TOKEN``, registers the commands globally (so user installs work
too; ``DISCORD_GUILD_ID`` names a server whose stale server-only copies are cleared), then
connects to the gateway. ``DISCORD_SHARD_COUNT`` / ``DISCORD_SHARD_IDS`` run a
subset of the shards; only the process holding shard 0 registers the commands.
``DISCORD_API_URL`` points the REST API elsewhere (the tests' fake Discord).
The token is never logged or printed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

import aiohttp
import discord

from bots.bootstrap import bootstrap, configure_logging, run_service
from bots.config import ConfigError, Settings, load_settings
from bots.discord.client import DiscordBot, create_bot
from bots.errors import broken_questionnaire, friendly_store_error
from bots.retention import Sweeper
from bots.retry import Stopped, one_line, retrying
from core.ports import StoreError
from core.questionnaire import InvalidDefinition

log = logging.getLogger("should_i_take_it.discord")

PORTAL = "Discord Developer Portal → your application → Bot → Reset Token"
CLOSE_TIMEOUT = 8.0  # seconds for the gateway and HTTP session; the store closes after


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    from bots.cli import subcommand_parser

    parser = subcommand_parser("discord")
    try:
        parser.parse_args(list(argv or []))
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = _checked(load_settings())
    except ConfigError as exc:
        return _fail(str(exc), 2)
    configure_logging(settings.log_level)
    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    try:
        run_service(serve(settings))
    except StartupError as exc:
        return _fail(str(exc), 1)
    except InvalidDefinition as exc:
        return _fail(broken_questionnaire(exc, settings), 1)
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)
    except KeyboardInterrupt:
        return 1
    return 0


def _checked(settings: Settings) -> Settings:
    if not settings.discord_token:
        raise ConfigError(
            "DISCORD_TOKEN",
            f"not set. Copy your bot's token from the {PORTAL}, "
            "then set DISCORD_TOKEN in the environment or in .env.",
        )
    if settings.discord_shard_ids is not None and settings.discord_shard_count is None:
        raise ConfigError("DISCORD_SHARD_COUNT", "must be set when DISCORD_SHARD_IDS is (e.g. 4)")
    count = settings.discord_shard_count
    if count is not None and count < 1:
        raise ConfigError("DISCORD_SHARD_COUNT", f"must be 1 or more, got {count}")
    if count is not None and any(not 0 <= i < count for i in settings.discord_shard_ids or ()):
        raise ConfigError("DISCORD_SHARD_IDS", f"each id must be between 0 and {count - 1}")
    return settings


# Reasons to try logging in again later rather than give up: Discord is unreachable.
UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError)


async def serve(settings: Settings) -> None:
    """Log in (retrying while Discord cannot be reached), register the commands, run the
    gateway; SIGTERM or SIGINT stops it at any of these moments."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # discord.py logs each failed reconnection with a traceback; one line is enough.
    one_line("discord.client", "discord.shard", "discord.gateway", "discord.http")
    try:
        app = await bootstrap(settings)
        try:
            bot = create_bot(
                app.session,
                shard_count=settings.discord_shard_count,
                shard_ids=settings.discord_shard_ids,
            )
            sweeper = Sweeper(app, interval=settings.sweep_interval, oauth_states=False)
            async with sweeper, bot:
                await retrying(
                    lambda: _log_in(bot, settings),
                    service="Discord",
                    transient=UNREACHABLE,
                    what="log in",
                    stop=stop,
                    log=log,
                )
                if settings.discord_shard_ids is None or 0 in settings.discord_shard_ids:
                    await _sync_commands(bot, settings.discord_guild_id)
                await _until_stopped(bot, stop)
        finally:
            await app.close()
    except Stopped:
        log.info("stopped before connecting")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _log_in(bot: DiscordBot, settings: Settings) -> None:
    assert settings.discord_token is not None
    try:
        await bot.login(settings.discord_token)
    except discord.LoginFailure:
        raise StartupError(
            f"Discord rejected DISCORD_TOKEN. Get a new one from the {PORTAL} and set it again."
        ) from None
    except UNREACHABLE:
        # A new HTTP session on the next try: close this one (and its connector) first.
        await bot.http.close()
        bot.http.connector = discord.utils.MISSING
        raise
    if bot.user is not None:
        log.info("connected as %s (%d)", bot.user, bot.user.id)
    if bot.application_id is not None:
        log.info("invite it with %s", invite_url(bot.application_id))


def invite_url(application_id: int) -> str:
    """The install link: the bot and its commands, no permission (it answers in DMs and
    with messages only the caller sees)."""
    return discord.utils.oauth_url(
        application_id,
        permissions=discord.Permissions.none(),
        scopes=("bot", "applications.commands"),
    )


async def _sync_commands(bot: DiscordBot, guild_id: int | None) -> None:
    """Register the commands globally: the only registration a user install (and every
    server) sees. ``DISCORD_GUILD_ID`` names a server whose own copies of the commands
    (from a run of an earlier version, which registered them there) are cleared, so that
    server does not show each command twice."""
    try:
        synced = await bot.tree.sync()
        log.info("registered %d commands globally", len(synced))
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.clear_commands(guild=guild)
            await bot.tree.sync(guild=guild)
            log.info("cleared the server-only copies of the commands in server %d", guild_id)
    except discord.Forbidden:
        where = f"server DISCORD_GUILD_ID={guild_id}" if guild_id else "this application"
        raise StartupError(
            f"Discord refused to register the commands in {where}: invite the bot with the "
            "'bot' and 'applications.commands' scopes (see the README), then start it again."
        ) from None


async def _until_stopped(bot: DiscordBot, stop: asyncio.Event) -> None:
    """Run the gateway until it ends or ``stop`` is set, then close in time."""
    gateway = asyncio.create_task(bot.connect(reconnect=True), name="discord-gateway")
    stopping = asyncio.create_task(stop.wait(), name="discord-stop")
    try:
        await asyncio.wait({gateway, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if gateway.done():
            gateway.result()  # a gateway failure ends the process with its error
            return
        log.info("stopping: closing the Discord connection")
        try:
            await asyncio.wait_for(bot.close(), timeout=CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("the Discord connection did not close within %.0f s", CLOSE_TIMEOUT)
        gateway.cancel()
        await asyncio.gather(gateway, return_exceptions=True)
    finally:
        stopping.cancel()


def _fail(message: str, status: int) -> int:
    print(f"should-i-take-it discord: {message}", file=sys.stderr)
    return status
