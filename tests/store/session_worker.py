"""A bot process for the two-process test: clicks the open question's button, over and over,
until the conversation has its result. Two of these race on one conversation."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime

from core.events import Answer
from core.ports import ConversationKey
from core.questionnaire import load_questionnaire
from core.session import Session
from core.state import ConversationState
from core.store import open_store

KEY = ConversationKey("slack", "T001", "U_SHARED")
TODAY = date(2026, 11, 27)
# The button each question's click presses (the path to "booked").
CLICKS = {"time": "no", "not_yet": "no", "refer": "no", "respond": "yes", "free_from": "2027-03-15"}


async def main(url: str) -> None:
    store = await open_store(url)
    session = Session(load_questionnaire(), store, clock=lambda: datetime.now(UTC))
    print("ready", flush=True)
    sys.stdin.readline()
    advanced = stale = 0
    try:
        while True:
            row = await store.load(KEY)
            assert row is not None
            state = ConversationState.from_json(row.data)
            if state.status == "done":
                break
            turn = await session.handle(
                KEY, Answer(CLICKS[state.step], today=TODAY, question=state.step)
            )
            if any(getattr(a, "kind", None) == "stale" for a in turn.actions):
                stale += 1
            else:
                advanced += 1
    finally:
        await store.close()
    print(json.dumps({"advanced": advanced, "stale": stale}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
