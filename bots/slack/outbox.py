"""Slack's side of the inbox and the outbox (see :mod:`core.ports`): what an inbox row holds
for a Slack request, what an outbox message holds, and the courier that sends them.

Theory of operation
-------------------
* **Inbox**: a listener writes the request (Bolt's parsed ``body``, as JSON) before it acks.
  The delivery id is Slack's ``event_id`` for events (a retry carries the same one) and the
  ``trigger_id`` of commands, shortcuts and clicks (unique per invocation; a replayed signed
  request carries the same one). A row left open (its process died) is claimed later and
  dispatched through Bolt again, as a Socket Mode request (Bolt checks no signature on those:
  the row was checked when it came in), with the row id in the request context.
* **Outbox**: the adapter draws a turn *before* it is saved, so each outbox message is
  the finished Web API call: ``{"op": "post" | "update" | "respond", ...}`` and the team it
  is for. Drawing first keeps platform code out of core (the session only calls the
  adapter's ``draw``) and makes a replay a plain send, with no questionnaire or drawer
  needed. The cost: a message redrawn after a prompt change is not redrawn; the rows live
  minutes.
* **At least once**: a message is marked sent after Slack answered. A crash between the two
  sends it again: ``chat.postMessage`` and ``response_url`` posts take no idempotency key
  (Slack dedupes only its own retries of events), so the person may see a question twice;
  ``chat.update`` of the same ``ts`` is idempotent. The other choice (mark, then send)
  would lose the message, which is the failure this exists to prevent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bots.slack.translate import conversation_key
from bots.slack.webapi import RESPOND_TIMEOUT, WebApi
from core.ports import InboxItem, OutboxMessage, Store, StoreError

log = logging.getLogger("should_i_take_it.slack")

# Keys of Bolt's request context: the inbox row a listener works for, and whether the
# session's turn settled it (otherwise the listener does when its work is done).
INBOX = "sit_inbox_id"
SETTLED = "sit_inbox_settled"
REPLAY = "sit_replay"
BODY_JSON = "sit_body_json"  # the request body as JSON text, when the server has it

Payload = dict[str, Any]


class SlackUnavailable(Exception):
    """Slack answered a Web API call with a server error: the message stays unsent."""


def inbox_item(args: AsyncArgs, now: datetime) -> InboxItem:
    """The inbox row for the request ``args`` carries."""
    body: Mapping[str, Any] = args.body or {}
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        delivery = f"slack:event:{event_id}"
    elif isinstance(trigger := body.get("trigger_id"), str) and trigger:
        delivery = f"slack:trigger:{trigger}"
    else:  # nothing to recognise a redelivery by: never taken for one
        delivery = f"slack:none:{uuid.uuid4().hex}"
    user = _user(args)
    key = ""
    if user:
        context = args.context
        key = conversation_key(context.team_id, context.enterprise_id, user).as_string()
    text = args.context.get(BODY_JSON)
    if not isinstance(text, str):
        text = json.dumps(body, separators=(",", ":"))
    return InboxItem(delivery, key, text, now)


def _user(args: AsyncArgs) -> str | None:
    body: Mapping[str, Any] = args.body or {}
    event = args.event if isinstance(args.event, dict) else {}
    user = body.get("user")
    for part in (
        event.get("user"),
        body.get("user_id"),  # a slash command
        user.get("id") if isinstance(user, dict) else None,
    ):
        if isinstance(part, str) and part:
            return part
    return None


def post(channel: str, message: Payload) -> Payload:
    return {"op": "post", "channel": channel, "message": message}


def update(channel: str, ts: str, message: Payload) -> Payload:
    return {"op": "update", "channel": channel, "ts": ts, "message": message}


def respond(url: str, message: Payload, *, replace: bool = False) -> Payload:
    body = {**message, "response_type": "ephemeral", "replace_original": replace}
    return {"op": "respond", "url": url, "body": body}


@dataclass(frozen=True, slots=True)
class Wire:
    """An outbox message as the request that sends it: the Web API method (or the
    response_url) and the JSON body, encoded."""

    op: str
    to: str
    body: bytes


METHODS = {"post": "chat.postMessage", "update": "chat.update"}
_INNER = {"post": "message", "update": "message", "respond": "body"}


def messages(
    key: str, calls: Sequence[Payload], team: Payload, hold_until: datetime
) -> tuple[list[OutboxMessage], list[Wire]]:
    """Outbox rows for ``calls`` (each tagged with ``team``: whose token sends it), and the
    requests that send them. A message's blocks are encoded once, for both."""
    rows, wires = [], []
    for call in calls:
        payload, sent = _encoded(call, team)
        rows.append(OutboxMessage(message_id(), key, payload, hold_until))
        wires.append(sent)
    return rows, wires


_last_id_time = 0  # ns: ids made by this process only go up, even should the clock not


def message_id() -> str:
    """A new outbox message's id: 32 characters, the time in nanoseconds first, then random.
    In time order, a turn's new ids land on the unique index's last page, which the same
    commit already writes; random ones each dirtied a page of their own (a click's save
    wrote 14 pages instead of 10 on SQLite)."""
    global _last_id_time
    _last_id_time = max(time.time_ns(), _last_id_time + 1)
    return f"{_last_id_time:020d}{os.urandom(6).hex()}"


def wire(call: Payload) -> Wire:
    """The request for a call read back from the outbox (or sent outside it)."""
    return _encoded(call, {})[1]


def _encoded(call: Payload, team: Payload) -> tuple[str, Wire]:
    """The outbox row's JSON text and the request, each made around one encoding of the
    message: JSON objects spliced together, as ``{**head, inner: {...}}`` and
    ``{**args, **message}`` would be encoded."""
    op = str(call.get("op"))
    inner_key = _INNER.get(op)
    if inner_key is None:
        return json.dumps({**call, **team}), Wire(op, "", b"")  # dropped when sent
    inner = _dumps(call[inner_key])
    head = _dumps({**{k: v for k, v in call.items() if k != inner_key}, **team})
    row = f'{head[:-1]},"{inner_key}":{inner}}}'
    if op == "respond":
        return row, Wire(op, call["url"], inner.encode())
    args = _dumps({k: call[k] for k in ("channel", "ts") if k in call})
    body = args if inner == "{}" else f"{args[:-1]},{inner[1:]}"
    return row, Wire(op, METHODS[op], body.encode())


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class _Marks:
    """Messages sent, marked together: ``done`` once the transaction is over."""

    ids: list[str]
    done: asyncio.Future[None]


class Courier:
    """Sends outbox messages (each one request, see :mod:`bots.slack.webapi`) and marks
    them sent."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        api: WebApi,
        token_for: Callable[[Payload], Awaitable[str | None]],
    ) -> None:
        self.store, self.clock, self.api = store, clock, api
        self._token_for = token_for  # the bot token for a team (OAuth installs), or None
        self.resent = 0  # messages sent by a claim, not by the turn that queued them
        self._marks: _Marks | None = None  # sent, to be marked on the loop's next turn
        self._flushing: set[asyncio.Task[None]] = set()

    async def send(self, calls: Sequence[Payload], token: str | None) -> None:
        """Send ``calls`` now, outside the outbox (a turn the store could not take)."""
        try:
            await self._send_all([wire(c) for c in calls], token, in_order=False)
        except (aiohttp.ClientError, TimeoutError, OSError, SlackUnavailable) as exc:
            log.warning("sending failed: %s", type(exc).__name__)

    async def deliver(
        self,
        outbox: Sequence[OutboxMessage],
        token: str | None = None,
        wires: Sequence[Wire] | None = None,
        *,
        in_order: bool = False,
    ) -> bool:
        """Send ``outbox`` (posts in order; the edits and private answers alongside unless
        ``in_order``) with ``token`` (None: the team's, or the single one), then mark it
        sent. ``wires``: its requests, when the caller has them (read from the rows
        otherwise). False when something could not be sent: it is left unsent, and goes
        again when its hold runs out."""
        if not outbox:
            return True
        try:
            if wires is None:
                calls = [json.loads(m.payload) for m in outbox]
                wires = [wire(c) for c in calls]
                if token is None:
                    token = await self._token_for(calls[0])
            await self._send_all(wires, token, in_order=in_order)
        except (aiohttp.ClientError, TimeoutError, OSError, SlackUnavailable, StoreError) as exc:
            log.warning("sending failed, will retry: %s", type(exc).__name__)
            return False
        try:
            await self._mark_sent([m.id for m in outbox])
        except StoreError:
            # Sent but not marked: it goes again later (at least once, see the module doc).
            log.warning("sent messages could not be marked sent: store unavailable")
        return True

    async def _mark_sent(self, ids: list[str]) -> None:
        """Mark ``ids`` sent, in one transaction with those of every delivery that finishes
        in the same turn of the event loop (a busy bot finishes several at once): on SQLite
        each transaction rewrites the outbox's pages it touches."""
        batch = self._marks
        if batch is None:
            batch = self._marks = _Marks([], asyncio.get_running_loop().create_future())
            task = asyncio.create_task(self._flush(batch))  # runs on the loop's next turn
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)
        batch.ids += ids
        await asyncio.shield(batch.done)  # a cancelled delivery leaves the batch alone

    async def _flush(self, batch: _Marks) -> None:
        self._marks = None  # deliveries finishing from now on start the next batch
        try:
            await self.store.outbox_sent(batch.ids, now=self.clock())
        except BaseException as exc:
            # Cancelled (the loop is closing): unmarked, as if the store were away.
            failure = exc if isinstance(exc, Exception) else StoreError("marking cancelled")
            batch.done.set_exception(failure)
            batch.done.exception()  # retrieved: each delivery waiting on it gets it too
            if failure is not exc:
                raise
        else:
            batch.done.set_result(None)

    async def _send_all(self, wires: Sequence[Wire], token: str | None, *, in_order: bool) -> None:
        if in_order:
            for sent in wires:
                await self._send(sent, token)
            return
        # The edits and private answers on tasks of their own, the posts in order here.
        others = [asyncio.ensure_future(self._send(w, token)) for w in wires if w.op != "post"]
        try:
            for sent in wires:
                if sent.op == "post":
                    await self._send(sent, token)
        finally:
            done = await asyncio.gather(*others, return_exceptions=True) if others else []
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _send(self, sent: Wire, token: str | None) -> None:
        """One call. Slack refusing it (an API error) is final: logged, and counted as
        sent; a connection failure or a server error raises, so the message stays unsent."""
        if sent.op == "respond":
            status = await self.api.post_json(sent.to, sent.body, RESPOND_TIMEOUT)
            if status >= 400:
                log.warning("response_url failed: HTTP %d", status)
            return
        if sent.op not in METHODS:
            log.warning("unknown outbox message %r dropped", sent.op)
            return
        answer = await self.api.call(sent.to, token, body=sent.body, read=False)
        if answer.status >= 500:
            raise SlackUnavailable(f"{sent.to}: HTTP {answer.status}")
        if not answer.ok:
            error, needed = answer.why()
            log.warning("%s failed: %s%s", sent.op, error, f" ({needed})" if needed else "")
