"""``should-i-take-it check``: is this deployment ready? Prompts, settings, database, tokens.

Each check prints a line with what is wrong and how to fix it; the exit status is non-zero
when any check fails. It changes nothing: the database is only connected to (no
migration), the Slack tokens are tried (``auth.test``, whose ``x-oauth-scopes`` header is
compared with the manifest's scopes, and ``apps.connections.open``), Discord is logged in
to and out of. The Slack and Discord entry points try the same credentials at start-up.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bots.config import ConfigError, Settings, load_settings
from core.ports import StoreError
from core.questionnaire import InvalidDefinition, load_questionnaire


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False


async def check_slack_token(settings: Settings) -> Check:
    if not settings.slack_bot_token:
        return Check(
            "Slack token", True, "SLACK_BOT_TOKEN not set (Slack not configured)", skipped=True
        )
    from slack_sdk.errors import SlackApiError

    from bots.slack.preflight import NETWORK_ERRORS, Refused, check_bot_token, describe

    try:
        me = await check_bot_token(settings)
    except Refused as exc:
        return Check("Slack token", False, str(exc))
    except (*NETWORK_ERRORS, SlackApiError) as exc:
        return Check(
            "Slack token", False, f"could not reach Slack to check SLACK_BOT_TOKEN: {describe(exc)}"
        )
    where = f"bot {me.user} in {me.team}"
    if me.scopes is None:
        return Check("Slack token", True, f"auth.test ok: {where} (Slack did not list its scopes)")
    from bots.slack.credentials import bot_scopes

    missing = sorted(set(bot_scopes()) - me.scopes)
    if missing:
        return Check(
            "Slack token",
            False,
            f"auth.test ok ({where}) but the install lacks the scopes {', '.join(missing)} "
            "that bots/slack/manifest.yaml declares: add them under api.slack.com/apps → your "
            "app → OAuth & Permissions → Scopes (or paste the manifest again), reinstall the "
            "app, and copy the new SLACK_BOT_TOKEN",
        )
    return Check("Slack token", True, f"auth.test ok: {where}, every scope the manifest declares")


async def check_slack_app_token(settings: Settings) -> Check:
    if not settings.slack_app_token:
        return Check(
            "Slack app token", True, "SLACK_APP_TOKEN not set (no Socket Mode)", skipped=True
        )
    from slack_sdk.errors import SlackApiError

    from bots.slack.preflight import NETWORK_ERRORS, Refused, check_app_token, describe

    try:
        await check_app_token(settings)
    except Refused as exc:
        return Check("Slack app token", False, str(exc))
    except (*NETWORK_ERRORS, SlackApiError) as exc:
        return Check(
            "Slack app token",
            False,
            f"could not reach Slack to check SLACK_APP_TOKEN: {describe(exc)}",
        )
    return Check("Slack app token", True, "apps.connections.open ok: Socket Mode can connect")


async def check_discord_token(settings: Settings) -> Check:
    if not settings.discord_token:
        return Check(
            "Discord token", True, "DISCORD_TOKEN not set (Discord not configured)", skipped=True
        )
    import discord

    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(settings.discord_token)
    except discord.LoginFailure:
        return Check(
            "Discord token",
            False,
            "Discord refused DISCORD_TOKEN: reset it in the Developer Portal → your application"
            " → Bot → Reset Token",
        )
    except Exception as exc:
        return Check(
            "Discord token", False, f"could not reach Discord to check DISCORD_TOKEN: {exc}"
        )
    finally:
        await client.close()
    return Check("Discord token", True, f"logged in as {client.user}")


def check_slack_settings(settings: Settings) -> Check:
    if not (settings.slack_bot_token or settings.slack_client_id or settings.slack_app_token):
        return Check("Slack settings", True, "Slack not configured", skipped=True)
    # The same rules `should-i-take-it slack` applies at start-up.
    from bots.slack.credentials import choose_mode, mode_reason, uses_oauth

    try:
        mode = choose_mode(settings, None)
    except ConfigError as exc:
        return Check("Slack settings", False, str(exc))
    name = "Socket Mode" if mode == "socket" else "HTTP mode"
    if uses_oauth(settings):
        name += " with OAuth installs in several workspaces"
    return Check(
        "Slack settings",
        True,
        f"`should-i-take-it slack` will run in {name}, because {mode_reason(settings)}",
    )


async def run_checks(settings: Settings) -> list[Check]:
    results: list[Check] = []
    try:
        q = load_questionnaire(settings.prompts_dir)
        results.append(
            Check(
                "Questionnaire",
                True,
                f"{len(q.questions)} questions, {len(q.outcomes)} outcomes, "
                f"languages {', '.join(q.languages)}",
            )
        )
    except InvalidDefinition as exc:
        results.append(Check("Questionnaire", False, str(exc)))
    results.append(await check_database(settings))
    results.append(check_slack_settings(settings))
    results += await asyncio.gather(
        check_slack_token(settings),
        check_slack_app_token(settings),
        check_discord_token(settings),
    )
    return results


async def check_database(settings: Settings) -> Check:
    """Connect and run one query, changing nothing (no migration: that is ``migrate``)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bots.bootstrap import database_engine
    from bots.errors import friendly_store_error
    from core.store import database_url

    where = "PostgreSQL (DATABASE_URL)" if settings.database_url else "SQLite (embedded)"
    try:
        url = database_url(settings.database_url, data_dir=settings.data_dir)
        if url.get_backend_name() == "sqlite" and url.database:
            from pathlib import Path

            if not Path(url.database).exists():
                return Check(
                    "Database", True, f"{where}: {url.database} will be created on first use"
                )
        engine = database_engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"store: connecting failed: {exc}") from exc
        finally:
            await engine.dispose()
    except StoreError as exc:
        return Check("Database", False, friendly_store_error(exc, settings))
    return Check("Database", True, f"{where} reachable")


def print_checks(results: Sequence[Check]) -> None:
    for r in results:
        mark = "-" if r.skipped else ("ok" if r.ok else "FAIL")
        print(f"[{mark:>4}] {r.name}: {r.detail}")


def main(argv: Sequence[str]) -> int:
    from bots.cli import subcommand_parser

    try:
        subcommand_parser("check").parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"[FAIL] Settings: {exc}")
        return 1
    print("[  ok] Settings: environment variables are valid")
    results = asyncio.run(run_checks(settings))
    print_checks(results)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"\n{len(failed)} problem(s) found.", file=sys.stderr)
        return 1
    return 0
