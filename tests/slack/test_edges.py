"""Hardening of the HTTP edge (issue 12): odd but signed payload shapes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.slack.conftest import Slack

JSON = "application/json"

ODD_BODIES: list[dict[str, Any]] = [
    {"event": "x"},
    {"type": "url_verification", "event": "x", "challenge": "c"},
    {"type": "app_rate_limited", "event": 1},
    {"type": "event_callback", "event": "x"},
    {"type": "block_actions", "event": 1},
]


def shortcut(slack: Slack, **fields: Any) -> dict[str, Any]:
    body = {
        "type": "message_action",
        "callback_id": "should_i_take_it_message",
        "trigger_id": "t.1",
        "response_url": slack.api.response_url("odd"),
        "team": {"id": "T0001"},
        "user": {"id": "U0001"},
        "channel": {"id": "C0001"},
        "message": {"type": "message", "ts": "1.2", "text": "hello"},
    }
    return {k: v for k, v in (body | fields).items() if v is not None}


@pytest.mark.parametrize("body", ODD_BODIES, ids=json.dumps)
@pytest.mark.parametrize("as_form", [False, True], ids=["json", "payload"])
async def test_odd_signed_shapes_get_a_quick_4xx_or_2xx(
    slack: Slack, body: dict[str, Any], as_form: bool
) -> None:
    started = time.monotonic()
    if as_form:
        response = await slack.send_payload(body)
    else:
        response = await slack.send(json.dumps(body), JSON)
    assert response.status < 500, await response.text()
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "C0001"},
        {"message": "hello"},
        {"message": ["hello"]},
        {"response_url": None},
        {"channel": None},
        {"message": None},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
async def test_odd_shortcuts_get_a_quick_answer(slack: Slack, change: dict[str, Any]) -> None:
    started = time.monotonic()
    response = await slack.send_payload(shortcut(slack, **change))
    assert response.status < 500
    assert response.status != 404
    assert time.monotonic() - started < 1.0
