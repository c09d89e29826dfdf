"""The Slack adapter's inbox and outbox, in process: a request is in the inbox before it is
acknowledged and settled by its turn; what a dead process left open is replayed or sent by
:meth:`SlackBot.catch_up`, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime

import pytest

from bots.slack import outbox as box
from bots.slack.blocks import COMMAND
from bots.slack.translate import conversation_key
from core.ports import InboxItem, OutboxMessage
from tests.fakes.slack_api import TEAM
from tests.slack.conftest import NOW, USER, Slack

KEY = conversation_key(TEAM, None, USER).as_string()


async def test_a_request_is_settled_by_its_turn_and_a_redelivery_does_nothing(
    slack: Slack,
) -> None:
    store = slack.bot.store
    await slack.command(user=USER)
    await slack.dm("skip", user=USER, event_id="Ev-typed")
    posted = len(slack.api.to("chat.postMessage"))
    # Slack's retry of the same event: acked, dropped by the inbox, nothing shown.
    response = await slack.dm("skip", user=USER, event_id="Ev-typed", retry=1)
    assert response.status == 200
    assert len(slack.api.to("chat.postMessage")) == posted
    # Nothing is left to replay or to send.
    lease = slack.bot.lease
    assert await store.inbox_claim(NOW + lease, claim_until=NOW + 2 * lease) == []
    assert await store.outbox_claim(NOW + lease, claim_until=NOW + 2 * lease) == []


async def test_an_unsent_message_left_by_a_dead_process_is_sent_once(slack: Slack) -> None:
    call = box.post(f"D{USER}", {"text": "left behind", "blocks": []})
    message = OutboxMessage("m1", KEY, json.dumps({**call, "team": TEAM}), NOW)
    assert await slack.bot.store.finish(None, [message], now=NOW)

    assert await slack.bot.catch_up() == 1
    assert await slack.bot.catch_up() == 0  # marked sent: not again
    texts = [c.args.get("text") for c in slack.api.to("chat.postMessage")]
    assert texts == ["left behind"]


async def test_a_request_whose_process_died_is_replayed_and_answered(slack: Slack) -> None:
    body = {
        "token": "legacy",
        "team_id": TEAM,
        "channel_id": "C0001",
        "user_id": USER,
        "command": COMMAND,
        "text": "",
        "api_app_id": "A0001",
        "response_url": slack.api.response_url("dead"),
        "trigger_id": "trigger.dead",
    }
    store = slack.bot.store
    inbox_id = await store.inbox_put(
        InboxItem("slack:trigger:trigger.dead", KEY, json.dumps(body), NOW), claim_until=NOW
    )
    assert inbox_id is not None

    assert await slack.bot.catch_up() >= 1
    assert slack.question(USER)  # the first question was posted in the DM
    assert not await store.inbox_open(inbox_id)
    assert await slack.bot.catch_up() == 0  # settled: never replayed twice


def test_an_outbox_row_and_its_request_carry_the_same_call() -> None:
    """Rows and requests are spliced around one encoding of the message: each must read
    as the call it was made from (a row is read back by the catch-up, a request by Slack)."""
    message = {"text": 'Zoë\'s "quote" {x}', "blocks": [{"type": "section", "text": "é"}]}
    team = {"team": TEAM, "enterprise": None}
    calls = [
        box.post("D1", message),
        box.update("D1", "1.2", message),
        box.respond("https://hooks.example/r", message, replace=True),
        box.post("D1", {}),
    ]
    rows, wires = box.messages(KEY, calls, team, NOW)
    assert len({row.id for row in rows}) == len(calls)
    for call, row, sent in zip(calls, rows, wires, strict=True):
        assert json.loads(row.payload) == {**call, **team}
        assert box.wire(json.loads(row.payload)) == sent  # the catch-up sends the same
        if call["op"] == "respond":
            assert (sent.to, json.loads(sent.body)) == (call["url"], call["body"])
        else:
            args = {k: call[k] for k in ("channel", "ts") if k in call}
            assert json.loads(sent.body) == {**args, **call["message"]}
    assert [w.to for w in wires] == [
        "chat.postMessage",
        "chat.update",
        "https://hooks.example/r",
        "chat.postMessage",
    ]


async def test_a_message_slack_could_not_take_stays_unsent_until_the_catch_up(
    slack: Slack,
) -> None:
    """A 5xx is Slack's failure, not a refusal: the message is not counted sent, and goes
    again when its hold runs out."""
    slack.api.server_error("chat.postMessage")
    await slack.command(user=USER)
    assert slack.shown(USER) == []  # the first question did not get through
    store, lease = slack.bot.store, slack.bot.lease
    assert await slack.bot.catch_up() == 0  # still held by the turn that queued it
    unsent = await store.outbox_claim(NOW + lease, claim_until=NOW + 2 * lease)
    assert [json.loads(m.payload)["op"] for m in unsent] == ["post"]
    assert await slack.bot.courier.deliver(unsent, in_order=True)
    assert slack.question(USER)  # the first question, now
    assert await store.outbox_claim(NOW + 3 * lease, claim_until=NOW + 4 * lease) == []


async def test_messages_sent_on_the_same_loop_turn_are_marked_in_one_write(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, courier = slack.bot.store, slack.bot.courier
    writes: list[list[str]] = []
    mark = store.outbox_sent

    async def counted(ids: Sequence[str], *, now: datetime) -> None:
        writes.append(list(ids))
        await mark(ids, now=now)

    monkeypatch.setattr(store, "outbox_sent", counted)
    calls = [box.post(f"D{USER}", {"text": f"m{n}", "blocks": []}) for n in range(3)]
    rows, _ = box.messages(KEY, calls, {"team": TEAM}, NOW)
    assert await store.finish(None, rows, now=NOW)
    await asyncio.gather(*(courier._mark_sent([row.id]) for row in rows))
    assert writes == [[row.id for row in rows]]  # one transaction for the three
    assert await slack.bot.catch_up(takeover=True) == 0  # all marked: none goes again
    await courier._mark_sent(["later"])
    assert writes[1:] == [["later"]]  # a later turn starts its own batch


def test_outbox_ids_are_unique_and_in_the_order_they_were_made() -> None:
    made = [box.message_id() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)  # in time order: each lands on the index's last page
    assert all(len(i) == 32 and i.isalnum() for i in made)
