"""Memory: resident set size of a bot process idle, and with 10,000 open conversations.

No process keeps conversation state between events (it lives in the store), so the second
figure should stay close to the first. Runs the real Session on the embedded SQLite store.

    python -m bench.memory
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.events import Answer, Start
from core.ports import ConversationKey
from core.questionnaire import load_questionnaire
from core.session import Session
from core.store import open_store

TODAY = date(2026, 11, 27)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _measure(conversations: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/bench.sqlite3")
        session = Session(load_questionnaire(), store, clock=lambda: datetime.now(UTC))
        # Warm every code path once, so the idle figure includes the loaded libraries.
        warm = ConversationKey("bench", "w", "u")
        await session.handle(warm, Start(today=TODAY))
        await session.handle(warm, Answer("Anna", today=TODAY))
        gc.collect()
        idle = rss_mib()
        batch = 200
        for start in range(0, conversations, batch):
            await asyncio.gather(
                *(
                    _open(session, ConversationKey("bench", "t", f"u{i}"))
                    for i in range(start, start + batch)
                )
            )
        gc.collect()
        loaded = rss_mib()
        await store.close()
    return [
        {"bench": "memory", "metric": "RSS idle", "value": idle, "unit": "MiB"},
        {
            "bench": "memory",
            "metric": f"RSS with {conversations:,} open conversations",
            "value": loaded,
            "unit": "MiB",
        },
    ]


async def _open(session: Session, key: ConversationKey) -> None:
    await session.handle(key, Start(today=TODAY))
    await session.handle(key, Answer("Client", today=TODAY))


def run(conversations: int = 10_000) -> list[dict[str, Any]]:
    return asyncio.run(_measure(conversations))


if __name__ == "__main__":
    from bench.core import print_table

    print_table(run())
