"""Every outcome through Discord: started in a server or in the bot's DM, answered with the
buttons (and the form for text and dates) or by typing in the DM."""

from __future__ import annotations

import pytest

from core.actions import ControlKind as Kind
from tests.core.paths import PATHS, SPECIFICS
from tests.discord.harness import ALICE, Harness, button
from tests.fakes.discord_api import EPHEMERAL, GUILD_CHANNEL_ID


@pytest.mark.parametrize("where", ["server", "dm"])
@pytest.mark.parametrize("how", ["buttons", "typed"])
@pytest.mark.parametrize("outcome", PATHS)
async def test_every_outcome(h: Harness, outcome: str, how: str, where: str) -> None:
    alice = h.user(ALICE, "alice", global_name="Alice Martin")
    start = await alice.slash(in_guild=where == "server")

    for answer in ["ACME", *PATHS[outcome]]:
        if how == "buttons":
            await alice.answer_with_buttons(answer)
        else:
            await alice.type(answer)

    [decision] = await alice.decisions()
    assert (decision.outcome, decision.client, decision.platform) == (outcome, "ACME", "discord")
    result = alice.last()
    assert result["embeds"][0]["title"] == h.q.outcome_text("en", outcome, "title")
    assert result["embeds"][0]["description"].startswith("Why: ")
    if outcome == "no_reply":
        assert result["content"] == f"**{h.q.ui('en', 'no_draft_heading')}**"
    else:
        heading, draft = result["content"].split("\n```\n")
        assert heading == h.q.ui("en", "result_heading", tone="Warm", language="English")
        assert draft.startswith("Hi ACME,") and draft.endswith("Alice Martin\n```")
        for specific in SPECIFICS[outcome]["en"]:
            assert specific in draft
    button(result, Kind.BACK)  # the reply can always be gone back from or started over
    button(result, Kind.RESTART)

    if how == "buttons":
        # Each answered question was edited to show the answer and lost its buttons.
        questions = alice.messages()[:-1]
        assert all(not m["components"] for m in questions)
        assert all("**You answered: " in m["content"] for m in questions)
    if where == "server":
        [notice] = h.fake.channel_messages(GUILD_CHANNEL_ID)
        assert notice == h.reply(start)
        assert notice["flags"] & EPHEMERAL
        first = alice.messages()[0]
        assert notice["content"] == (
            f"{h.q.ui('en', 'continue_in_dm')}\n"
            f"https://discord.com/channels/@me/{first['channel_id']}/{first['id']}"
        )
    else:
        assert h.reply(start) == alice.messages()[0]  # the first question answers the command
