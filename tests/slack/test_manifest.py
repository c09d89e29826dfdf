"""The app manifest: valid for Slack's published schema, and in step with the code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bots.slack.app import SHORTCUT_CALLBACK
from bots.slack.blocks import COMMAND, SHORTCUT_NAME
from bots.slack.credentials import bot_scopes

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "bots" / "slack" / "manifest.yaml"
SCHEMA = "slack-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _schema() -> dict[str, Any]:
    candidates = [os.environ.get("SHARED_DIR"), str(REPO.parent / "shared")]
    for folder in filter(None, candidates):
        path = Path(folder) / SCHEMA
        if path.is_file():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(loaded, dict)
            return loaded
    pytest.skip(f"{SCHEMA} not found in $SHARED_DIR or {REPO.parent / 'shared'}")


def test_the_manifest_follows_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(manifest)
    ]
    assert not errors, "\n".join(errors)


def test_the_manifest_matches_the_code(manifest: dict[str, Any]) -> None:
    features, settings = manifest["features"], manifest["settings"]
    (command,) = features["slash_commands"]
    assert command["command"] == COMMAND
    (shortcut,) = features["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"], shortcut["name"]) == (
        "message",
        SHORTCUT_CALLBACK,
        SHORTCUT_NAME,
    )
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert {"app_home_opened", "message.im"} <= set(settings["event_subscriptions"]["bot_events"])
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True and settings["token_rotation_enabled"] is False
    # What each Web API method and event the bot uses needs.
    assert {"commands", "chat:write", "im:history", "im:write", "users:read"} <= set(bot_scopes())
