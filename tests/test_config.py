"""Settings come from the environment, and every problem names its variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bots.cli import default_lang
from bots.config import ConfigError, Settings


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.port == 3000
    assert settings.conversation_ttl == timedelta(hours=24) and settings.log_level == "INFO"


def test_values_are_read_and_tokens_stay_out_of_repr(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgres://u@h/db",
            "SIT_DATA_DIR": str(tmp_path),
            "CONVERSATION_TTL_HOURS": "1.5",
            "SWEEP_INTERVAL_SECONDS": "30",
            "LOG_LEVEL": "debug",
            "PORT": "8080",
            "SLACK_BOT_TOKEN": "xoxb-test-secret",
            "DISCORD_TOKEN": "discord-test-secret",
            "DISCORD_GUILD_ID": "42",
            "DISCORD_SHARD_IDS": "0, 1",
        }
    )
    assert settings.conversation_ttl == timedelta(minutes=90) and settings.log_level == "DEBUG"
    assert settings.sweep_interval == timedelta(seconds=30)
    assert (settings.port, settings.discord_guild_id, settings.discord_shard_ids) == (
        8080,
        42,
        (0, 1),
    )
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONVERSATION_TTL_HOURS", "soon"),
        ("CONVERSATION_TTL_HOURS", "0"),
        ("CONVERSATION_TTL_HOURS", "-3"),
        ("CONVERSATION_TTL_HOURS", "inf"),
        ("CONVERSATION_TTL_HOURS", "nan"),
        ("CONVERSATION_TTL_HOURS", "1e12"),
        ("SWEEP_INTERVAL_SECONDS", "often"),
        ("SWEEP_INTERVAL_SECONDS", "0"),
        ("SWEEP_INTERVAL_SECONDS", "86401"),
        ("LOG_LEVEL", "loud"),
        ("PORT", "http"),
        ("PORT", "70000"),
        ("PROMPTS_DIR", "/nonexistent/prompts"),
        ("DISCORD_GUILD_ID", "my-server"),
        ("DISCORD_SHARD_IDS", "0,one"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_a_prompts_dir_without_its_flow_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"PROMPTS_DIR": str(tmp_path)})
    assert caught.value.variable == "PROMPTS_DIR"
    assert "holds no flow.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_CA"}, "fr"),
        ({"LANG": "C"}, None),
        ({"LANG": "POSIX"}, None),
    ],
)
def test_the_terminal_language_follows_the_locale(env: dict[str, str], lang: str | None) -> None:
    assert default_lang(env) == lang
