"""What Slack sends when someone clicks, shared by the Slack benchmarks' load generators."""

from __future__ import annotations

import json
import time
from typing import Any

TEAM = "T0001"


def click_payload(
    user: str, message: dict[str, Any], action: dict[str, Any], response_url: str
) -> str:
    """The ``payload`` form field of a ``block_actions`` request for ``action`` on ``message``
    in the user's DM."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0001",
        "trigger_id": f"{user}.{time.perf_counter()}",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": f"D{user}"},
        "channel": {"id": f"D{user}"},
        "message": {"ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
        "response_url": response_url,
        "actions": [action],
    }
    return json.dumps(payload)
