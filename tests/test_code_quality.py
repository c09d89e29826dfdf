"""The project's own rules, checked with every test run: ruff lint and format on the whole
tree, mypy strict on core/ and bots/ (the configuration lives in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=240
    )


def test_ruff_lint() -> None:
    done = run("ruff", "check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_core_and_bots() -> None:
    done = run("mypy", "core", "bots")
    assert done.returncode == 0, done.stdout + done.stderr
