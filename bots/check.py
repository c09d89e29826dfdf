"""``should-i-take-it check``: is this deployment ready? Prompts, settings, database, tokens.

Each check prints a line with what is wrong and how to fix it; the exit status is non-zero
when any check fails. The Slack and Discord entry points run the same checks at start-up.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bots.config import ConfigError, Settings, load_dotenv_if_present
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
    from slack_sdk.web.async_client import AsyncWebClient

    kwargs = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    client = AsyncWebClient(token=settings.slack_bot_token, timeout=10, **kwargs)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return Check(
            "Slack token",
            False,
            f"auth.test refused SLACK_BOT_TOKEN ({exc.response.get('error')}): copy the Bot User "
            "OAuth Token from api.slack.com/apps → your app → OAuth & Permissions",
        )
    except Exception as exc:  # network errors of every kind: report, don't crash
        return Check("Slack token", False, f"could not reach Slack to check SLACK_BOT_TOKEN: {exc}")
    return Check("Slack token", True, f"auth.test ok: bot {auth.get('user')} in {auth.get('team')}")


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
    from bots.slack.credentials import choose_mode

    try:
        mode = choose_mode(settings, None)
    except ConfigError as exc:
        return Check("Slack settings", False, str(exc))
    return Check(
        "Slack settings", True, f"complete for {'Socket Mode' if mode == 'socket' else 'HTTP mode'}"
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
    try:
        from core.store import open_store

        store = await open_store(settings.database_url, data_dir=settings.data_dir)
        try:
            await store.ping()
        finally:
            await store.close()
        where = "PostgreSQL (DATABASE_URL)" if settings.database_url else "SQLite (embedded)"
        results.append(Check("Database", True, f"{where} reachable, schema up to date"))
    except StoreError as exc:
        results.append(Check("Database", False, f"{exc} — check DATABASE_URL"))
    results.append(check_slack_settings(settings))
    results += await asyncio.gather(check_slack_token(settings), check_discord_token(settings))
    return results


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
    load_dotenv_if_present()
    try:
        settings = Settings.from_env()
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
