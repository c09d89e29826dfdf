"""What every message the bot sends must satisfy: Block Kit's own validation
(``slack_sdk.models``), Slack's documented limits, a top-level ``text`` fallback, and no
way for user text to mention anyone.

Mentions only happen in two places: a ``<!here>``/``<@U…>`` token in a string Slack parses
as mrkdwn, or a ``broadcast``/``user`` element in rich text. ``plain_text`` and rich-text
``text`` elements are shown verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

_MENTION = re.compile(r"<[!@#]|<(?:mailto|https?):(?![^|>]*slack\.com/app_redirect)")
_RICH_TEXT_KINDS = {"text"}


def check_payload(args: dict[str, Any]) -> None:
    text = args.get("text")
    assert isinstance(text, str) and text.strip(), f"no top-level text fallback: {args}"
    assert len(text) <= 4000, len(text)
    assert not _MENTION.search(text), f"markup in the fallback text: {text!r}"
    assert "link_names" not in args and args.get("parse") != "full"
    blocks = args.get("blocks") or []
    assert len(blocks) <= 50, len(blocks)
    _unique_ids(blocks)
    for block in blocks:
        check_block(block)


def _unique_ids(blocks: list[dict[str, Any]]) -> None:
    """Slack refuses a message or view whose blocks share a block_id."""
    ids = [b["block_id"] for b in blocks if b.get("block_id")]
    assert len(ids) == len(set(ids)), f"block ids repeated: {ids}"


def check_view(view: dict[str, Any]) -> None:
    assert len(view["blocks"]) <= 100
    _unique_ids(view["blocks"])
    View(**view).validate_json()
    for block in view["blocks"]:
        check_block(block)


def check_block(block: dict[str, Any]) -> None:
    parsed = Block.parse(block)
    assert parsed is not None, f"unknown block: {block}"
    parsed.validate_json()
    assert len(block.get("block_id") or "") <= 255
    for element in _elements(block):
        assert len(element.get("action_id") or "") <= 255
        if element.get("type") == "button":
            assert len(element["text"]["text"]) <= 75
    for kind, text in _texts(block):
        if kind == "mrkdwn":
            assert not _MENTION.search(text), f"markup that Slack would parse: {text!r}"
            assert len(text) <= 3000
        elif kind.startswith("rich:"):
            assert kind.removeprefix("rich:") in _RICH_TEXT_KINDS, f"rich text element {kind}"


def _elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if block.get("type") == "actions":
        yield from block["elements"]
    if isinstance(block.get("accessory"), dict):
        yield block["accessory"]


def _texts(node: Any, in_rich: bool = False) -> Iterator[tuple[str, str]]:
    """(kind, text) for every text object in a block, depth first."""
    if isinstance(node, list):
        for item in node:
            yield from _texts(item, in_rich)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind == "rich_text":
            in_rich = True
        if kind in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield str(kind), node["text"]
        elif in_rich and kind and not str(kind).startswith("rich_text"):
            yield f"rich:{kind}", str(node.get("text", ""))
        for value in node.values():
            if isinstance(value, list | dict):
                yield from _texts(value, in_rich)
