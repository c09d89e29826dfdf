"""Where a Slack request's CPU goes: the bench's app in a child process, driven by the
bench's users, optionally under a profiler or callgrind.

    python -m bench.profile_slack [--app ours_sqlite] [--users 20] [--rounds 2]
        [--wrap cprofile:/tmp/out.prof | pyinstrument:/tmp/out.txt | callgrind:/tmp/cg.out
                | strace:/tmp/syscalls.txt]

Prints the child's CPU per request (user + system from ``/proc``). The users are the ones of
:mod:`bench.slack_http` (the same mix of commands, clicks and typed answers), one after
another in ``--rounds`` batches so the figure is not the machine's contention. With
``callgrind``, instructions are counted from the moment the app is ready (start-up,
imports and the prompts' loading left out), and printed per request too.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.slack_http import (
    ROOT,
    Client,
    Posts,
    Timings,
    cpu_seconds,
    listening,
    minimal_user,
    our_user,
    pg_database,
)
from bots.bootstrap import run_service
from tests.fakes.slack_api import FakeSlackApi


async def child(app: str, port: int, api_url: str, db: str | None, out: str) -> None:
    """``bench.slack_http``'s served app, profiled from the moment it is ready to SIGTERM
    (start-up, imports and the prompts' loading left out)."""
    async with listening(app, port, api_url, db) as stop:
        if out.endswith(".prof"):
            profile = cProfile.Profile()
            print("ready", flush=True)
            profile.enable()
            await stop.wait()
            profile.disable()
            profile.dump_stats(out)
            return
        # Sampling (pyinstrument, not a project dependency): the time of many small calls
        # is not inflated by the profiler's own cost per call, as cProfile's is.
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0001, async_mode="disabled")
        print("ready", flush=True)
        sampler.start()
        await stop.wait()
        sampler.stop()
        Path(out).write_text(
            sampler.output_text(show_all=os.environ.get("PROFILE_ALL") == "1", timeline=False)
        )


@dataclass(frozen=True)
class Measured:
    """One app's run: requests answered, CPU seconds (user + system, and system alone) and,
    under callgrind, the instructions executed from ready to stop."""

    app: str
    requests: int
    cpu: float
    system: float
    instructions: int | None = None


async def run(app: str, users: int, rounds: int, wrap: str | None) -> Measured:
    async with AsyncExitStack() as stack:
        api = FakeSlackApi(record=False)
        await api.start()
        stack.push_async_callback(api.close)
        posts = Posts()
        api.on_show = posts.seen
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        )
        pg_url = await stack.enter_async_context(pg_database(app.endswith("_postgresql")))
        db = ("--db", pg_url) if pg_url else ()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        prefix: list[str] = []
        if wrap and wrap.startswith("callgrind:"):
            out = wrap.partition(":")[2]
            prefix = ["valgrind", "--quiet", "--tool=callgrind", "--instr-atstart=no"]
            prefix += [f"--callgrind-out-file={out}"]
        args = [*prefix, sys.executable, "-m"]
        if wrap and wrap.startswith(("cprofile:", "pyinstrument:")):
            args += ["bench.profile_slack", "--child", wrap.partition(":")[2]]
            args += ["--app", app, "--port", str(port), "--api", api.url, *db]
        else:
            args += ["bench.slack_http", "--serve", app, "--port", str(port), "--api", api.url]
            args += db
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        child = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        async with asyncio.timeout(600):
            assert (await child.stdout.readline()).strip() == b"ready"
        if wrap and wrap.startswith("callgrind:"):  # count from here, not the start-up
            control = ("callgrind_control", "-i", "on", str(child.pid))
            quiet = asyncio.subprocess.DEVNULL
            controlled = await asyncio.create_subprocess_exec(*control, stdout=quiet, stderr=quiet)
            await controlled.wait()
        tracer = None
        if wrap and wrap.startswith("strace:"):  # syscalls counted from here to the end
            trace = ("strace", "-f", "-c", "-o", wrap.partition(":")[2], "-p", str(child.pid))
            tracer = await asyncio.create_subprocess_exec(*trace, stderr=asyncio.subprocess.PIPE)
            assert tracer.stderr is not None
            await tracer.stderr.readline()  # "strace: Process … attached"
        client = Client(http, f"http://127.0.0.1:{port}/slack/events", api)
        flow = our_user if app.startswith(("ours", "direct")) else minimal_user
        before = cpu_seconds(child.pid)
        sys_before = _system_seconds(child.pid)
        timings = Timings(started=time.perf_counter())
        n = 0
        for _ in range(rounds):
            await asyncio.gather(*(flow(client, posts, n + i, timings) for i in range(users)))
            n += users
        timings.ended = time.perf_counter()
        await asyncio.sleep(0.2)  # the last outbox marks
        cpu = cpu_seconds(child.pid) - before
        system = _system_seconds(child.pid) - sys_before
        requests = len(timings.acks)
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)  # detaches, writes its summary
            await tracer.wait()
        child.send_signal(signal.SIGTERM)
        await child.wait()
        total = None
        if wrap and wrap.startswith("callgrind:"):
            text = Path(wrap.partition(":")[2]).read_text()
            found = re.search(r"^totals: (\d+)", text, re.M)
            assert found is not None, "callgrind wrote no totals"
            total = int(found.group(1))
        return Measured(app, requests, cpu, system, total)


async def instructions_per_request(app: str, users: int = 20) -> float | None:
    """Instructions per request of ``app`` under callgrind (users one batch, as in
    :func:`run`); None when valgrind is not installed. Counted, not timed: the same on a
    busy machine as on an idle one."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        measured = await run(app, users, 1, f"callgrind:{Path(folder) / 'cg.out'}")
    assert measured.instructions is not None
    return measured.instructions / measured.requests


def _system_seconds(pid: int) -> float:
    """System CPU time of process ``pid`` (all its threads), from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[12]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", default="ours_sqlite")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--wrap")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_service(child(args.app, args.port, args.api, args.db, args.child))
        return
    m = asyncio.run(run(args.app, args.users, args.rounds, args.wrap))
    print(
        f"{m.app}: {m.requests} requests, {m.cpu * 1000 / m.requests:.3f} ms CPU per request"
        f" ({m.system * 1000 / m.requests:.3f} ms of it in the kernel)"
    )
    if m.instructions is not None:
        per = m.instructions / m.requests / 1e6
        print(f"{m.app}: {per:.2f} M instructions per request (callgrind)")


if __name__ == "__main__":
    main()
