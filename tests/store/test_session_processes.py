"""Two bot processes sharing one database click through the same conversation at once:
every question is answered exactly once, and the journal records one decision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from core.events import Answer, Start
from core.questionnaire import load_questionnaire
from core.session import Session
from core.state import ConversationState
from core.store import open_store
from tests.store.session_worker import KEY

WORKER = Path(__file__).with_name("session_worker.py")
ROOT = Path(__file__).resolve().parents[2]


async def test_two_processes_interleave_turns_of_one_conversation(backend_url: str) -> None:
    store = await open_store(backend_url)
    session = Session(load_questionnaire(), store, clock=lambda: datetime.now(UTC))
    await session.forget(KEY)
    await session.handle(KEY, Start(today=date(2026, 11, 27), fresh=True, client="Anna"))
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
    env = {**os.environ, "PYTHONPATH": path}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), backend_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline() == "ready\n"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        reports = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    finally:
        for w in workers:
            w.kill()
    row = await store.load(KEY)
    assert row is not None
    state = ConversationState.from_json(row.data)
    assert (state.status, state.outcome) == ("done", "booked")
    assert state.history == ("respond", "time", "not_yet", "refer", "free_from")
    assert sum(r["advanced"] for r in reports) == 5
    assert [d.outcome for d in await session.history(KEY)] == ["booked"]
    # A late click from either process changes nothing.
    turn = await session.handle(KEY, Answer("no", today=date(2026, 11, 27), question="time"))
    assert [getattr(a, "kind", None) for a in turn.actions] == ["stale"]
    await store.close()
