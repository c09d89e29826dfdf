"""A separate OS process for test_processes.py: increment a counter kept in one
conversation's JSON, the way the session layer advances a conversation.

Usage: python increment_worker.py URL INCREMENTS
Prints "ready" once the store is open, waits for a line on stdin, then increments, retrying
whenever another writer got there first, and prints {"conflicts": n}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from core.ports import ConversationKey, ConversationWrite
from core.store import open_store

KEY = ConversationKey("slack", "T001", "U_SHARED")
EXPIRES = datetime.now(UTC) + timedelta(hours=1)


async def main(url: str, increments: int) -> None:
    store = await open_store(url)
    print("ready", flush=True)
    sys.stdin.readline()
    conflicts = 0
    for _ in range(increments):
        while True:
            stored = await store.load(KEY)
            if stored is None:
                counter, expected, version = 0, None, 0
            else:
                counter, expected, version = (
                    json.loads(stored.data)["counter"],
                    stored.version,
                    stored.version,
                )
            data = json.dumps({"counter": counter + 1})
            if await store.save(ConversationWrite(KEY, data, version + 1, expected, EXPIRES)):
                break
            conflicts += 1
    await store.close()
    print(json.dumps({"conflicts": conflicts}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
