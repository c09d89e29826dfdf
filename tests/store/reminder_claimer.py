"""A separate OS process for test_reminder_processes.py: a reminder sender's loop, the way
a bot process runs it — claim the due reminders (a lease), "send" each one (append its id
to a file), then mark the batch sent.

Usage: python reminder_claimer.py URL SENT_FILE [--batch N] [--tasks K] [--lease SECONDS]
       [--send-delay SECONDS]

Prints "ready" once the store is open, waits for a line on stdin, then claims until a claim
comes back empty (what is left is leased to someone else), and prints
{"sent": n, "claims": c}. Each id is written with one ``write`` on an ``O_APPEND`` file
before the next is sent: once written it survives a SIGKILL of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta

from core.store import open_store

PLATFORM = "slack"


async def main(args: argparse.Namespace) -> None:
    store = await open_store(args.url)
    lease = timedelta(seconds=args.lease)
    log = os.open(args.sent_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    print("ready", flush=True)
    sys.stdin.readline()
    sent = claims = 0

    async def sender() -> None:
        nonlocal sent, claims
        while True:
            now = datetime.now(UTC)
            batch = await store.reminders_claim(
                PLATFORM, now, claim_until=now + lease, limit=args.batch
            )
            if not batch:
                return
            claims += 1
            for reminder in batch:
                os.write(log, f"{reminder.id}\n".encode())  # the "send"
                sent += 1
                if args.send_delay:
                    await asyncio.sleep(args.send_delay)
            await store.reminders_sent([r.id for r in batch], now=datetime.now(UTC))

    try:
        await asyncio.gather(*(sender() for _ in range(args.tasks)))
    finally:
        os.close(log)
        await store.close()
    print(json.dumps({"sent": sent, "claims": claims}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("sent_file")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--send-delay", type=float, default=0.0)
    asyncio.run(main(parser.parse_args()))
