"""Every benchmark, one command, one table:

    python -m bench.run_all

Runs core, store, slack_http (when present), scale_out, memory and instructions, each in a
child process of its own (a clean interpreter, and a hung or crashing benchmark cannot take
the others down: it shows in the table as FAILED with its reason). Prints the table and writes it as
Markdown to ``bench/RESULTS.md`` with the date and the machine it was measured on. The
whole run is bounded (``BUDGET`` seconds); each benchmark also has a limit of its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
README = ROOT / "README.md"
# The README's performance table is written between these two lines, never by hand.
README_START = "<!-- bench/run_all.py writes the table below from bench/RESULTS.md -->"
README_END = "<!-- end of the generated table -->"
BUDGET = 470.0  # seconds for everything: under 8 minutes
Row = dict[str, Any]


@dataclass(frozen=True)
class Bench:
    name: str
    module: str
    limit: float  # seconds
    what: str


BENCHES = [
    Bench("core", "bench.core", 60, "the pure engine: µs per step and per conversation"),
    Bench(
        "store",
        "bench.store",
        90,
        "each store operation next to the same statements through raw sqlite3 / asyncpg",
    ),
    Bench(
        "slack_http",
        "bench.slack_http",
        330,
        "50 simulated users through POST /slack/events; the bot's CPU per request (from "
        "/proc) beside a minimal Bolt app and a floor app, alternated over 5 rounds; acks "
        "timed by a probe process of its own; then 200 users (4 conversations each), 3 runs "
        "alternated with the minimal app, for the ack tail (the probe's percentiles over "
        "every run's acks)",
    ),
    Bench(
        "scale_out",
        "bench.scale_out",
        120,
        "two web processes on PostgreSQL vs one, each capped at the same CPU quota",
    ),
    Bench("memory", "bench.memory", 90, "RSS idle and with 10,000 open conversations"),
    Bench(
        "instructions",
        "bench.instructions",
        150,
        "instructions per request under callgrind, the bot beside the floor app: counted, "
        "so the same on a busy machine (skipped without valgrind)",
    ),
]


def failed(bench: Bench, reason: str) -> Row:
    return {"bench": bench.name, "metric": f"FAILED: {reason}", "value": math.nan, "unit": ""}


def run_one(bench: Bench, limit: float) -> tuple[list[Row], float]:
    """The rows of one benchmark, run in a child process; a failure is a row too."""
    started = time.perf_counter()
    if importlib.util.find_spec(bench.module) is None:
        return [failed(bench, "not present")], 0.0
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rows.json"
        command = [sys.executable, "-m", "bench.run_all", "--only", bench.module, "--out", str(out)]
        # A process group of its own: on a timeout its children (bot processes, fake APIs)
        # go too, and the benchmark's own cleanup gets a SIGTERM first.
        child_process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = child_process.communicate(timeout=max(limit, 1))
        except subprocess.TimeoutExpired:
            stop_group(child_process)
            return [failed(bench, f"no result within {limit:.0f} s")], time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if child_process.returncode != 0 or not out.exists():
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            return [failed(bench, f"exit {child_process.returncode}: {last[:120]}")], elapsed
        return list(json.loads(out.read_text("utf-8"))), elapsed


def stop_group(process: subprocess.Popen[str]) -> None:
    # The bots take up to ~10 s to stop gracefully; the benchmark then drops its database.
    for signum, grace in ((signal.SIGTERM, 25), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, signum)
            process.communicate(timeout=grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def child(module: str, out: Path) -> None:
    """Inside the child: import the benchmark, run it, write its rows as JSON."""
    # SIGTERM (a timeout) as Ctrl-C: asyncio then cancels the run and its cleanup (child
    # processes, throw-away databases) still happens.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows = importlib.import_module(module).run()
    out.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")


def _find(rows: list[Row], bench: str, pattern: str) -> list[float]:
    found = re.compile(pattern)
    return [
        float(r["value"])
        for r in rows
        if r["bench"] == bench and found.search(str(r["metric"])) and not math.isnan(r["value"])
    ]


def targets(rows: list[Row]) -> list[Row]:
    """The issue's targets for this 2-core machine, checked against the figures (a miss is
    reported here, in the output: the tests never assert timings)."""
    checks: list[tuple[str, list[float], Any, str]] = [
        (
            "bot CPU per request / floor app's, SQLite (median) ≤ 1.3",
            _find(rows, "slack_http", r"^ours_sqlite\.u50\.cpu per request / floor's$"),
            lambda v: max(v) <= 1.3,
            "x",
        ),
        (
            "bot CPU per request / floor app's, PostgreSQL (median) ≤ 1.3",
            _find(rows, "slack_http", r"^ours_postgresql\.u50\.cpu per request / floor's$"),
            lambda v: max(v) <= 1.3,
            "x",
        ),
        (
            "one process, SQLite, 50 users ≥ 400 turns/s (best round)",
            _find(rows, "slack_http", r"^ours_sqlite\.u50\.turns_per_s \(best\)$"),
            lambda v: min(v) >= 400,
            "turns/s",
        ),
        (
            "ack p99 at 200 users < 100 ms (SQLite, timed by the probe)",
            _find(rows, "slack_http", r"^ours_sqlite\.u200\.probe_ack_p99"),
            lambda v: max(v) < 100,
            "ms",
        ),
        (
            "turns/s with 2 web processes / with 1, equal CPU quotas, PostgreSQL ≥ 1.8",
            _find(rows, "scale_out", r"^ratio 2 processes / 1$"),
            lambda v: min(v) >= 1.8,
            "x",
        ),
        (
            "core step for a clicked choice < 30 µs",
            _find(rows, "core", r"^clicked choice"),
            lambda v: max(v) < 30,
            "µs",
        ),
        (
            "bytes stored per open conversation ≤ 1,024",
            _find(rows, "store", r"\.bytes_per_conversation$"),
            lambda v: max(v) <= 1024,
            "bytes",
        ),
    ]
    out = []
    for name, values, ok, unit in checks:
        if not values:
            out.append(
                {"bench": "target", "metric": f"{name}: no figure", "value": math.nan, "unit": ""}
            )
            continue
        value = min(values) if unit == "turns/s" else max(values)
        verdict = "met" if ok(values) else "NOT MET"
        out.append(
            {"bench": "target", "metric": f"{name}: {verdict}", "value": value, "unit": unit}
        )
    return out


def notes(rows: list[Row]) -> list[str]:
    """How to read the figures."""
    out = [
        "- **Shared machine**: other people ran test suites on these 2 cores during the run, "
        "and the load generator, the fake Slack API and PostgreSQL share them with the bot. "
        "Latencies and turns/s move with that load from run to run; the bot's CPU per "
        "request (read from /proc for the bot's process alone) and the ratios between apps "
        "measured in the same run, alternated, are the figures to compare.",
    ]
    capped = [r["metric"] for r in rows if str(r["metric"]).startswith("CPU quota: ")]
    if capped:
        out.append(
            f"- **scale_out**: {capped[0]}. With each web process capped alike, the ratio "
            "measures the design (shared-nothing processes on one database) rather than how "
            "many spare cores this machine had."
        )
    return out


def value_text(row: Row) -> str:
    value = row["value"]
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def table(rows: list[Row]) -> str:
    width = max(len(str(r["metric"])) for r in rows)
    return "\n".join(
        f"{r['bench']:<11} {r['metric']:<{width}} {value_text(r):>12} {r['unit']}" for r in rows
    )


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model or platform.processor() or "unknown",
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "/")


def markdown(rows: list[Row], durations: dict[str, float], total: float) -> str:
    info = machine()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Measured {date} with `python -m bench.run_all` ({total:.0f} s in all).",
        "",
        f"Machine: {info['nproc']} CPU(s) ({info['cpu']}), Python {info['python']}, "
        f"{info['system']}. The machine is shared and noisy, and the benchmarks' own load "
        "generators, fake APIs and PostgreSQL run on the same cores as the bot: compare the "
        "ratios (both sides measured in the same run) rather than absolute figures.",
        "",
        "| bench | metric | value | unit |",
        "|---|---|---:|---|",
        *(f"| {r['bench']} | {_cell(r['metric'])} | {value_text(r)} | {r['unit']} |" for r in rows),
        "",
        "Notes:",
        "",
        *notes(rows),
        "",
        "What each benchmark measures, and how long it took here:",
        "",
        *(
            f"- **{b.name}** ({durations.get(b.name, 0):.0f} s): {b.what}; "
            f"`python -m {b.module}` runs it alone."
            for b in BENCHES
        ),
        "",
    ]
    return "\n".join(lines)


PACE = 10  # seconds between two answers of one person, for the README's "people at once"


def _one(rows: list[Row], bench: str, pattern: str, fmt: str = "{:,.1f}") -> str:
    values = _find(rows, bench, pattern)
    return fmt.format(values[0]) if values else "—"


def readme_table(rows: list[Row]) -> str:
    """The README's figures, taken from this run's rows."""

    def f(bench: str, pattern: str, fmt: str = "{:,.1f}") -> str:
        return _one(rows, bench, pattern, fmt)

    # What one process serves: its turns/s with the SQLite default, and how many people
    # that is when each answers a question every PACE seconds (a brisk pace: people read).
    served = _find(rows, "slack_http", r"^ours_sqlite\.u50\.turns_per_s \(median\)$")
    people = f"{served[0] * PACE:,.0f}" if served else "—"

    cpu = r"^{}\.u50\.cpu_ms_per_request \(median\)$"
    tps = r"^{}\.u50\.turns_per_s \(median\)$"
    apps = ("minimal", "floor", "ours_sqlite", "ours_postgresql", "ours_memory")
    lines = [
        "| what | figure |",
        "|---|---|",
        f"| engine, one step / one whole conversation (median) | "
        f"{f('core', r'^step')} µs / {f('core', r'^full conversation .median', '{:,.0f}')} µs |",
        "| store, one turn (delivery id + load + save), SQLite / PostgreSQL, µs | "
        f"{f('store', r'^sqlite.turn.c1 ours$')} / {f('store', r'^postgresql.turn.c1 ours$')} "
        f"(raw driver: {f('store', r'^sqlite.turn.c1 raw$')} / "
        f"{f('store', r'^postgresql.turn.c1 raw$')}) |",
        "| bytes stored per conversation, SQLite / PostgreSQL | "
        f"{f('store', r'^sqlite.bytes_per', '{:,.0f}')} / "
        f"{f('store', r'^postgresql.bytes_per', '{:,.0f}')} |",
        "| bot CPU per request, ms: minimal Bolt / floor / ours SQLite / PostgreSQL / memory | "
        + " / ".join(f("slack_http", cpu.format(a), "{:.2f}") for a in apps)
        + " |",
        "| ours / floor app, CPU per request: SQLite / PostgreSQL | "
        f"{f('slack_http', r'^ours_sqlite.u50.cpu per request / floor', '{:.2f}')}× / "
        f"{f('slack_http', r'^ours_postgresql.u50.cpu per request / floor', '{:.2f}')}× |",
        "| ours / floor app, instructions per request (callgrind): SQLite / PostgreSQL | "
        f"{f('instructions', r'^ours_sqlite / floor', '{:.2f}')}× / "
        f"{f('instructions', r'^ours_postgresql / floor', '{:.2f}')}× |",
        "| turns/s, 50 users, one process: minimal / floor / ours SQLite / PostgreSQL / memory | "
        + " / ".join(f("slack_http", tps.format(a), "{:,.0f}") for a in apps)
        + " |",
        "| ours, SQLite, 200 users: ack p99, timed by the probe / by the users | "
        f"{f('slack_http', r'^ours_sqlite.u200.probe_ack_p99', '{:,.0f}')} ms / "
        f"{f('slack_http', r'^ours_sqlite.u200.ack_p99', '{:,.0f}')} ms |",
        "| minimal Bolt app, 200 users: ack p99, timed by the probe / by the users | "
        f"{f('slack_http', r'^minimal.u200.probe_ack_p99', '{:,.0f}')} ms / "
        f"{f('slack_http', r'^minimal.u200.ack_p99', '{:,.0f}')} ms |",
        f"| one process, SQLite: people answering at once, one answer every {PACE} s each | "
        f"{people} |",
        "| two `web` processes on PostgreSQL vs one, equal CPU quotas | "
        f"{f('scale_out', r'^ratio 2 processes', '{:.2f}')}× |",
        f"| memory, idle / with 10,000 open conversations | {f('memory', r'^RSS idle')} MiB / "
        f"{f('memory', r'^RSS with')} MiB |",
    ]
    return "\n".join(lines)


def update_readme(rows: list[Row]) -> bool:
    """Rewrite the README's generated table; False when its markers are missing."""
    text = README.read_text("utf-8")
    if README_START not in text or README_END not in text:
        return False
    before, rest = text.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    README.write_text(f"{before}{README_START}\n{readme_table(rows)}\n{README_END}{after}", "utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-write", action="store_true", help="print the table, leave bench/RESULTS.md alone"
    )
    args = parser.parse_args()
    if args.only:
        child(args.only, args.out)
        return 0
    started = time.perf_counter()
    rows: list[Row] = []
    durations: dict[str, float] = {}
    for bench in BENCHES:
        left = BUDGET - (time.perf_counter() - started)
        if left < 5:
            rows.append(failed(bench, "skipped: the overall time budget is spent"))
            continue
        print(f"running {bench.name} ...", file=sys.stderr, flush=True)
        got, durations[bench.name] = run_one(bench, min(bench.limit, left))
        rows += got
    rows += targets(rows)
    total = time.perf_counter() - started
    print(table(rows))
    if not args.no_write:
        RESULTS.write_text(markdown(rows, durations, total), "utf-8")
        if not update_readme(rows):
            print("README.md has no generated-table markers: left alone", file=sys.stderr)
        print(f"\nwritten to {RESULTS.relative_to(ROOT)} ({total:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
