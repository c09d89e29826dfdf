"""Trying Slack credentials before serving, once, with one line per problem.

``auth.test`` for the bot token (its ``x-oauth-scopes`` header also says which scopes the
install granted) and ``apps.connections.open`` for the app-level token. A refused
credential is a :class:`Refused` naming the variable and the fix; an unreachable Slack
is retried with back-off by :func:`retrying`, one log line per attempt, until it answers
or ``stop`` is set. Token values never appear in a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots import retry
from bots.config import Settings
from bots.retry import Stopped
from bots.slack.credentials import WHERE

T = TypeVar("T")

TIMEOUT = 10  # seconds per call
FIRST_DELAY, MAX_DELAY = retry.FIRST_DELAY, retry.MAX_DELAY
# Slack's answers that mean "try again later" rather than "this credential is wrong".
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class Refused(Exception):
    """Slack refused a credential; the message names the variable and the fix."""


@dataclass(frozen=True)
class BotIdentity:
    user: str
    team: str
    scopes: frozenset[str] | None  # None when Slack did not say


def api_url(settings: Settings) -> str:
    url = settings.slack_api_url or AsyncWebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


def _client(
    settings: Settings, token: str, session: aiohttp.ClientSession | None
) -> AsyncWebClient:
    # No retry handlers: retrying is ours, so each attempt is one visible line.
    return AsyncWebClient(token=token, base_url=api_url(settings), timeout=TIMEOUT, session=session)


def _refused(variable: str, exc: SlackApiError, what: str) -> Refused | None:
    error = str(exc.response.get("error") or "")
    if error in TRANSIENT or exc.response.status_code >= 500:
        return None
    return Refused(
        f"Slack refused {variable} ({error or exc.response.status_code}) when {what}. "
        f"Copy it again from {WHERE[variable]}, then start again."
    )


async def check_bot_token(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> BotIdentity:
    """``auth.test``: raises Refused on a bad token, SlackApiError/network errors otherwise."""
    assert settings.slack_bot_token
    try:
        response = await _client(settings, settings.slack_bot_token, session).auth_test()
    except SlackApiError as exc:
        refused = _refused("SLACK_BOT_TOKEN", exc, "checking it with auth.test")
        if refused is None:
            raise
        raise refused from None
    header = {k.lower(): v for k, v in (response.headers or {}).items()}.get("x-oauth-scopes")
    scopes = None if header is None else frozenset(s.strip() for s in header.split(",") if s)
    return BotIdentity(str(response.get("user", "?")), str(response.get("team", "?")), scopes)


async def check_app_token(settings: Settings, session: aiohttp.ClientSession | None = None) -> str:
    """``apps.connections.open``: the Socket Mode URL, or Refused on a bad app token."""
    assert settings.slack_app_token
    try:
        response = await _client(settings, settings.slack_app_token, session).apps_connections_open(
            app_token=settings.slack_app_token
        )
    except SlackApiError as exc:
        refused = _refused("SLACK_APP_TOKEN", exc, "opening a Socket Mode connection")
        if refused is None:
            raise
        raise refused from None
    return str(response["url"])


def describe(exc: BaseException) -> str:
    """One line for a network failure, without a traceback."""
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.get('error') or exc.response.status_code}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    stop: asyncio.Event,
    log: logging.Logger,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
) -> T:
    """Slack's calls until they succeed (see :func:`bots.retry.retrying`); Refused passes
    through at once."""
    return await retry.retrying(
        attempt,
        service="Slack",
        transient=(SlackApiError, *NETWORK_ERRORS),
        what=what,
        stop=stop,
        log=log,
        first_delay=first_delay,
        max_delay=max_delay,
        describe=describe,
    )


__all__ = ["BotIdentity", "Refused", "Stopped", "check_app_token", "check_bot_token", "retrying"]
