"""The engine is sans-I/O: no platform, network, database or clock imports in core/
(outside the store's own subpackage and the session layer, which only uses the port)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN_MODULES = {
    "slack_bolt",
    "slack_sdk",
    "discord",
    "aiohttp",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "psycopg",
    "psycopg2",
    "requests",
    "httpx",
    "urllib",
    "socket",
    "ssl",
    "http",
    "asyncio",
    "time",
    "sqlite3",
    "subprocess",
    "os",
    "threading",
}
FORBIDDEN_CALLS = {"now", "today", "utcnow", "time", "perf_counter", "monotonic", "open"}
EXEMPT = {"core/store"}  # the store implementation, shared by every adapter


def core_modules() -> list[Path]:
    return [
        p
        for p in sorted((REPO / "core").rglob("*.py"))
        if not any(p.relative_to(REPO).as_posix().startswith(e) for e in EXEMPT)
    ]


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_network_database_or_clock() -> None:
    offenders = {
        p.relative_to(REPO).as_posix(): sorted(
            imported(ast.parse(p.read_text())) & FORBIDDEN_MODULES
        )
        for p in core_modules()
    }
    # The session layer awaits the store port; asyncio is fine there, nothing else is.
    offenders["core/memory_store.py"] = [
        m for m in offenders.get("core/memory_store.py", []) if m != "asyncio"
    ]
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_never_reads_the_clock() -> None:
    calls = {
        f"{p.relative_to(REPO)}:{node.lineno}"
        for p in core_modules()
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in FORBIDDEN_CALLS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"datetime", "date", "time"}
    }
    assert calls == set()


def test_the_check_actually_sees_core_modules() -> None:
    names = {p.name for p in core_modules()}
    assert {"engine.py", "questionnaire.py", "session.py", "state.py"} <= names
