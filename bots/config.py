"""Configuration from the environment, read once and checked, Heroku-style.

Every problem names the variable and says where to find a correct value. ``.env`` in the
working directory is read when present (real environment variables win).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TTL_HOURS = 24 * 366


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and the fix."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path | None = None
    prompts_dir: Path | None = None
    conversation_ttl: timedelta = timedelta(hours=24)
    sweep_interval: timedelta = timedelta(minutes=10)
    # How long an inbox row or outbox message is left to the process that wrote it before
    # another (or the same, after a restart) takes it over.
    redelivery_after: timedelta = timedelta(seconds=10)
    log_level: str = "INFO"
    port: int = 3000
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    discord_token: str | None = field(default=None, repr=False)
    discord_guild_id: int | None = None
    discord_api_url: str | None = None
    discord_shard_count: int | None = None
    discord_shard_ids: tuple[int, ...] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def get(name: str) -> str | None:
            return (env.get(name) or "").strip() or None  # empty means unset

        ttl_hours = _number(get("CONVERSATION_TTL_HOURS"), "CONVERSATION_TTL_HOURS", 24.0, float)
        if not (math.isfinite(ttl_hours) and 0 < ttl_hours <= MAX_TTL_HOURS):
            raise ConfigError(
                "CONVERSATION_TTL_HOURS",
                f"must be a number of hours above 0 and up to {MAX_TTL_HOURS} (a year), e.g. 24",
            )
        sweep = _number(get("SWEEP_INTERVAL_SECONDS"), "SWEEP_INTERVAL_SECONDS", 600.0, float)
        if not (math.isfinite(sweep) and 1 <= sweep <= 24 * 3600):
            raise ConfigError(
                "SWEEP_INTERVAL_SECONDS",
                "must be a number of seconds from 1 to 86400 (a day), e.g. 600",
            )
        level = (get("LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        port = _number(get("PORT"), "PORT", 3000, int)
        if not 0 < port < 65536:
            raise ConfigError("PORT", f"must be a TCP port between 1 and 65535, got {port}")
        prompts = get("PROMPTS_DIR")
        if prompts and not Path(prompts).is_dir():
            raise ConfigError("PROMPTS_DIR", f"{prompts!r} is not a directory holding flow.yaml")
        if prompts and not (Path(prompts) / "flow.yaml").is_file():
            raise ConfigError(
                "PROMPTS_DIR",
                f"{prompts!r} holds no flow.yaml: point it at a copy of the project's prompts/ "
                "folder, or unset it to use the built-in questions",
            )
        shard_ids = get("DISCORD_SHARD_IDS")
        redelivery = _number(get("SIT_REDELIVERY_SECONDS"), "SIT_REDELIVERY_SECONDS", 10.0, float)
        if not redelivery > 0:
            raise ConfigError("SIT_REDELIVERY_SECONDS", f"must be above 0, got {redelivery}")
        return cls(
            database_url=get("DATABASE_URL"),
            data_dir=Path(d).expanduser() if (d := get("SIT_DATA_DIR")) else None,
            prompts_dir=Path(prompts) if prompts else None,
            conversation_ttl=timedelta(hours=ttl_hours),
            sweep_interval=timedelta(seconds=sweep),
            redelivery_after=timedelta(seconds=redelivery),
            log_level=level,
            port=port,
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_api_url=get("SLACK_API_URL"),
            discord_token=get("DISCORD_TOKEN"),
            discord_guild_id=_number(get("DISCORD_GUILD_ID"), "DISCORD_GUILD_ID", None, int),
            discord_api_url=get("DISCORD_API_URL"),
            discord_shard_count=_number(
                get("DISCORD_SHARD_COUNT"), "DISCORD_SHARD_COUNT", None, int
            ),
            discord_shard_ids=_int_list(shard_ids, "DISCORD_SHARD_IDS") if shard_ids else None,
        )


def _number(raw: str | None, name: str, default: Any, kind: type[int] | type[float]) -> Any:
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "whole number" if kind is int else "number"
        raise ConfigError(name, f"expected a {what}, got {raw!r}") from None


def _int_list(raw: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError(
            name, f"expected comma-separated integers such as 0,1, got {raw!r}"
        ) from None


# Every variable this program reads, and those the Slack libraries read on their own.
VARIABLES = (
    "DATABASE_URL",
    "SIT_DATA_DIR",
    "SIT_REDELIVERY_SECONDS",
    "CONVERSATION_TTL_HOURS",
    "SWEEP_INTERVAL_SECONDS",
    "LOG_LEVEL",
    "PORT",
    "PROMPTS_DIR",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_API_URL",
    "DISCORD_TOKEN",
    "DISCORD_GUILD_ID",
    "DISCORD_SHARD_COUNT",
    "DISCORD_SHARD_IDS",
    "DISCORD_API_URL",
)
# Read by Bolt from the environment behind our back: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET
# merely being present (even empty) switch it to multi-workspace installs, and
# SLACK_BOT_TOKEN next to the client we pass makes it warn. Settings carry them instead.
HIDDEN_FROM_LIBRARIES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)


def load_dotenv_if_present(path: Path | None = None) -> None:
    """Read ``.env`` into the environment without overriding what is already set, then
    drop this program's variables that are empty: ``NAME=`` (as ``.env.example`` has) means
    unset, for the settings and for the libraries that look at the environment themselves."""
    from dotenv import load_dotenv

    load_dotenv(path or Path.cwd() / ".env", override=False)
    drop_empty(os.environ)


def drop_empty(env: MutableMapping[str, str]) -> None:
    for name in VARIABLES:
        if name in env and not env[name].strip():
            del env[name]


def hide_from_libraries(env: MutableMapping[str, str]) -> None:
    """Remove the Slack credentials the libraries would read on their own, once they are in
    :class:`Settings`: only what the bot passes explicitly reaches Bolt."""
    for name in HIDDEN_FROM_LIBRARIES:
        env.pop(name, None)


def load_settings() -> Settings:
    """``.env`` (if any), then the environment, checked."""
    load_dotenv_if_present()
    return Settings.from_env()
