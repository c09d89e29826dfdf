"""Which Slack credentials each way of running needs, checked once at start-up.

Every problem is a :class:`bots.config.ConfigError` naming the variable and where in
Slack's app settings (api.slack.com/apps → your app) its value is found. Token values are
never echoed, only their kind.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import TYPE_CHECKING, Literal

import yaml

from bots.config import ConfigError, Settings

if TYPE_CHECKING:
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from sqlalchemy.ext.asyncio import AsyncEngine

Mode = Literal["socket", "http"]

_APP = "api.slack.com/apps → your app → "
WHERE = {
    "SLACK_SIGNING_SECRET": _APP + "Basic Information → App Credentials → Signing Secret",
    "SLACK_BOT_TOKEN": _APP
    + "OAuth & Permissions → Bot User OAuth Token (install the app to your workspace first)",
    "SLACK_APP_TOKEN": _APP
    + "Basic Information → App-Level Tokens → Generate, with the connections:write scope",
    "SLACK_CLIENT_ID": _APP + "Basic Information → App Credentials → Client ID",
    "SLACK_CLIENT_SECRET": _APP + "Basic Information → App Credentials → Client Secret",
}
PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def choose_mode(settings: Settings, wanted: Mode | None) -> Mode:
    """The way to connect: as asked, else Socket Mode when an app-level token is set (and
    no multi-workspace install, which needs the HTTP endpoints), else HTTP. Raises
    ConfigError when a variable that mode needs is missing or malformed."""
    oauth = _check_oauth(settings)
    mode: Mode = wanted or default_mode(settings)
    if mode == "socket":
        _require(
            "SLACK_APP_TOKEN",
            settings.slack_app_token,
            "Socket Mode (the README's setup, no public URL) needs an app-level token; "
            "for HTTP mode set SLACK_SIGNING_SECRET instead and run with --http",
        )
        if oauth:
            raise ConfigError(
                "SLACK_CLIENT_ID",
                "installing in several workspaces needs the HTTP endpoints /slack/install and "
                "/slack/oauth_redirect: run with --http, or unset SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to run one workspace with SLACK_BOT_TOKEN",
            )
    else:
        _require(
            "SLACK_SIGNING_SECRET",
            settings.slack_signing_secret,
            "HTTP mode checks every request with it",
        )
    if not oauth:
        _require(
            "SLACK_BOT_TOKEN",
            settings.slack_bot_token,
            "the bot needs its token (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to "
            "install it in several workspaces)",
        )
    return mode


def default_mode(settings: Settings) -> Mode:
    """Socket Mode when an app-level token is set, or when nothing points to HTTP mode (no
    signing secret, no multi-workspace install): the README's setup asks for it first."""
    if uses_oauth(settings) or (settings.slack_signing_secret and not settings.slack_app_token):
        return "http"
    return "socket"


def mode_reason(settings: Settings, wanted: Mode | None = None) -> str:
    """Why :func:`choose_mode` picks the mode it picks, for ``check``."""
    if wanted:
        return f"--{wanted} given"
    if uses_oauth(settings):
        return "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (installs in several workspaces)"
    if settings.slack_app_token:
        return "SLACK_APP_TOKEN is set"
    if settings.slack_signing_secret:
        return "SLACK_SIGNING_SECRET is set and SLACK_APP_TOKEN is not"
    return "nothing selects HTTP mode"


def uses_oauth(settings: Settings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_STATE_SECONDS = 600


def bot_scopes() -> list[str]:
    """The bot scopes declared in manifest.yaml: what an OAuth install asks for."""
    manifest = yaml.safe_load((resources.files("bots.slack") / "manifest.yaml").read_text("utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


def oauth_settings(settings: Settings, engine: AsyncEngine) -> AsyncOAuthSettings:
    """Multi-workspace installs: slack_sdk's installation and OAuth state stores, in the
    conversation database (``engine`` comes from the composition root)."""
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

    assert settings.slack_client_id and settings.slack_client_secret
    log = logging.getLogger("should_i_take_it.slack")
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=bot_scopes(),
        installation_store=AsyncSQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=engine, logger=log
        ),
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=OAUTH_STATE_SECONDS, engine=engine, logger=log
        ),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )


def _check_oauth(settings: Settings) -> bool:
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        missing = "SLACK_CLIENT_SECRET" if settings.slack_client_id else "SLACK_CLIENT_ID"
        _require(
            missing,
            None,
            "multi-workspace installs need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET",
        )
    return uses_oauth(settings)


def _require(variable: str, value: str | None, why: str) -> None:
    if not value:
        raise ConfigError(variable, f"missing: {why}. Find it at {WHERE[variable]}.")
    prefix = PREFIXES.get(variable)
    if prefix and not value.startswith(prefix):
        kind = value.split("-")[0] + "-" if "-" in value[:6] else "something else"
        raise ConfigError(
            variable,
            f"expected a token starting with {prefix!r}, got one starting with {kind!r}. "
            f"Find it at {WHERE[variable]}.",
        )
