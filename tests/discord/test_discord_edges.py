"""Hardening (issue 12) on Discord: a forget confirmation is good for one forget."""

from __future__ import annotations

import itertools
from datetime import timedelta

from core.actions import ControlKind as Kind
from tests.discord.harness import ALICE, NOON, Harness, button
from tests.discord.test_discord_interactions import reach_result


async def test_an_older_forget_confirmation_deletes_nothing(h: Harness) -> None:
    ticks = itertools.count()  # a clock that moves on, as real ones do
    h.session.clock = lambda: NOON + timedelta(microseconds=next(ticks))
    alice = h.user(ALICE, "alice")
    await reach_result(alice, "yes", "yes")
    # Asked twice (two confirmations on screen); the first is used.
    older = h.reply(await alice.command("discord_forget_name", in_guild=True))
    newer = h.reply(await alice.command("discord_forget_name", in_guild=True))
    first = await alice.click(newer, button(newer, Kind.FORGET), in_guild=True)
    assert h.reply(first)["content"] == h.q.ui("en", "forgotten", count=1)
    await reach_result(alice, "yes", "yes")  # decided again since
    late = await alice.click(older, button(older, Kind.FORGET), in_guild=True)
    assert h.reply(late)["content"] == h.q.ui("en", "forget_stale")
    assert len(await alice.decisions()) == 1
