"""The console script's ``main`` run in this process on one store shared by every run, as
the SQLite file is shared between runs: ``cli(args, stdin, lang)`` → (status, out, err)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from core.memory_store import MemoryStore
from core.ports import Store


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def cli(
    store: MemoryStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    from bots import bootstrap
    from bots.cli import main

    async def shared(settings: object) -> Store:
        return store

    monkeypatch.setattr(bootstrap, "open_store", shared)
    for name in ("DATABASE_URL", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "data"))

    def run(args: list[str], stdin: str = "", lang: str = "en_US.UTF-8") -> tuple[int, str, str]:
        monkeypatch.setenv("LANG", lang)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main(args)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
