"""kill -9 under load, counted (see ``kill_runner``): nothing acknowledged is lost and
nothing saved goes unshown, on SQLite and on PostgreSQL. A few kills per backend here; the
long run (``SIT_LONG_FAULTS=1``, or ``python -m tests.faults.kill_runner``) does 100 each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.kill_runner import Counts, run_backend

QUICK_KILLS = 3
LONG_KILLS = 100
long_run = pytest.mark.skipif(
    not os.environ.get("SIT_LONG_FAULTS"), reason="the long kill run: set SIT_LONG_FAULTS=1"
)


def check(counts: Counts, kills: int) -> None:
    print(counts.line())
    assert counts.kills == kills
    assert counts.acked > 0 and counts.unacked + counts.acked > counts.kills
    assert (counts.acked_then_lost, counts.lost) == (0, [])
    assert (counts.saved_never_shown, counts.unseen) == (0, [])


async def test_kill_9_on_sqlite_loses_nothing_acknowledged_and_shows_every_saved_turn(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    check(await run_backend("sqlite", url, QUICK_KILLS, tmp_path, n_users=10), QUICK_KILLS)


@pytest.mark.postgres
async def test_kill_9_on_postgres_loses_nothing_acknowledged_and_shows_every_saved_turn(
    tmp_path: Path, pg_url: str
) -> None:
    check(await run_backend("postgres", pg_url, QUICK_KILLS, tmp_path, n_users=10), QUICK_KILLS)


@pytest.mark.slow
@long_run
async def test_kill_9_a_hundred_times_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    check(await run_backend("sqlite", url, LONG_KILLS, tmp_path), LONG_KILLS)


# Its own test: the pg_url fixture sets up a database with a loop of its own, so it cannot
# be asked for from inside a running test (getfixturevalue), only named as a parameter.
@pytest.mark.slow
@long_run
@pytest.mark.postgres
async def test_kill_9_a_hundred_times_on_postgres(tmp_path: Path, pg_url: str) -> None:
    check(await run_backend("postgres", pg_url, LONG_KILLS, tmp_path), LONG_KILLS)
