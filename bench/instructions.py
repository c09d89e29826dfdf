"""Instructions per request, counted under callgrind: the bot beside the floor app.

    python -m bench.instructions

CPU time per request (``bench.slack_http``) moves with whatever else the machine runs (two
cores shared with the load generator, the fake API, PostgreSQL and other tenants): the
ratio to the floor app has ranged from 1.3× to 2.3× between runs of the same code. An
instruction count does not move: each app serves the same 20 users (one batch of
``bench.slack_http``'s conversations) under ``valgrind --tool=callgrind``, counted from the
moment it is ready to its stop (start-up and imports left out). Kernel time (SQLite's page
writes, sockets) is not counted: the CPU figures keep that part. Skipped, with a row saying
so, where valgrind is not installed.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from bench.profile_slack import instructions_per_request
from bench.slack_http import pg_database

APPS = ("floor", "ours_sqlite", "ours_postgresql", "ours_memory")
USERS = 20

Row = dict[str, Any]


def _row(metric: str, value: float, unit: str) -> Row:
    return {"bench": "instructions", "metric": metric, "value": round(value, 2), "unit": unit}


async def run_async(apps: tuple[str, ...] = APPS) -> list[Row]:
    async with pg_database(True) as pg_url:
        reachable = pg_url is not None
    counted: dict[str, float] = {}
    for app in apps:
        if app.endswith("_postgresql") and not reachable:
            continue
        per = await instructions_per_request(app, USERS)
        if per is None:
            return [_row("valgrind not installed: skipped", math.nan, "")]
        counted[app] = per
    rows = [_row(f"{app}, per request", per / 1e6, "M instr") for app, per in counted.items()]
    floor = counted.get("floor")
    for app, per in counted.items():
        if floor and app != "floor":
            rows.append(_row(f"{app} / floor, per request", per / floor, "x"))
    return rows


def run() -> list[Row]:
    return asyncio.run(run_async())


def main() -> None:
    for r in run():
        print(f"{r['metric']:<40} {r['value']:>9} {r['unit']}")


if __name__ == "__main__":
    main()
