"""Terminal manners: Ctrl-C ends at once with "Saved. Run again to continue." in the
conversation's language, a closed pipe ends quietly, Enter at the resume question
continues, ``forget`` asks first; and the CLI's usage rules (every sub-command has --help,
unknown options exit 2, ``migrate --help`` migrates nothing)."""

from __future__ import annotations

import io
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMMAND = [sys.executable, "-m", "bots.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "LC_", "DATABASE_URL"))
    }
    return {**clean, "SIT_DATA_DIR": str(tmp_path / "data"), "LANG": "en_US.UTF-8"}


def run(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("lang", "saved"),
    [("en", "Saved. Run again to continue."), ("fr", "Enregistré. Relancez pour continuer.")],
)
def test_one_ctrl_c_at_a_prompt_saves_and_ends(lang: str, saved: str, env: dict[str, str]) -> None:
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*COMMAND, "--lang", lang],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    output = b""

    def read_until(token: bytes) -> None:
        nonlocal output
        deadline = time.monotonic() + 30
        while token not in output:
            assert time.monotonic() < deadline, output.decode(errors="replace")
            output += os.read(main, 65536)

    read_until(b"> ")
    os.write(main, b"Anna\n")
    read_until(b"2. ")
    read_until(b"> ")
    proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    assert proc.wait(timeout=10) == 130
    try:
        while chunk := os.read(main, 65536):
            output += chunk
    except OSError:
        pass
    os.close(main)
    text = output.decode()
    assert saved in text
    assert "Traceback" not in text and "CancelledError" not in text
    # Saved indeed: the next run offers to resume at question 1.
    again = run(["--json", "--lang", lang], "\n", env)
    said = [json.loads(line) for line in again.stdout.splitlines()]
    assert said[0]["question"] == "resume" and said[1]["question"] == "respond"


def test_enter_at_the_resume_question_continues(env: dict[str, str]) -> None:
    assert run(["--json"], "Anna\nyes\nno\n", env).returncode == 1
    said = [json.loads(line) for line in run(["--json"], "\n", env).stdout.splitlines()]
    assert [s["type"] for s in said] == ["ask", "ask"]
    assert said[0]["question"] == "resume" and said[1]["question"] == "not_yet"


def test_a_closed_pipe_ends_quietly(env: dict[str, str]) -> None:
    done = subprocess.run(
        f"{' '.join(COMMAND)} --json --client Anna | head -c 10",
        shell=True,
        input="yes\nyes\n" * 50,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(done.stdout) == 10
    assert done.stderr == "", done.stderr


def test_forget_asks_first_and_yes_skips_the_question(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bots.cli import main

    for name in ("SIT_DATA_DIR", "LANG"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def cli(args: list[str], stdin: str = "") -> tuple[int, str, str]:
        # In this process (the same code as the console script, less its start-up).
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main(args)
        said = capsys.readouterr()
        return status, said.out, said.err

    cli(["--json", "--client", "Anna"], "yes\nyes\nyes\n")
    status, out, err = cli(["forget"], "n\n")
    assert status == 1 and "Nothing was deleted." in out
    assert "cannot be undone" in err
    assert "Anna" in cli(["history"])[1]
    status, out, _ = cli(["forget"], "y\n")
    assert status == 0 and "deleted: 1" in out
    cli(["--json", "--client", "Bob"], "yes\nyes\nyes\n")
    assert cli(["forget", "--yes"])[0] == 0
    assert cli(["history", "--json"])[1] == ""


@pytest.mark.parametrize("command", ["history", "forget", "migrate", "check", "slack", "discord"])
def test_every_subcommand_has_help_and_refuses_unknown_options(
    command: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bots.cli import main

    monkeypatch.setenv("SIT_DATA_DIR", env["SIT_DATA_DIR"])
    assert main([command, "--help"]) == 0
    helped = capsys.readouterr().out
    assert f"should-i-take-it {command}" in helped
    assert "``" not in helped  # no docstring markup
    assert main([command, "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert not Path(env["SIT_DATA_DIR"]).exists()  # neither migrated anything


def test_top_level_help_lists_the_commands_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    from bots.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(None, 1) for line in out.splitlines() if line.startswith("    ")]
    assert {row[0] for row in rows} >= {"history", "forget", "migrate", "check", "slack", "discord"}
    assert "should-\ni-take-it" not in out


def test_a_reprompt_shows_the_choices_once(env: dict[str, str]) -> None:
    done = run(["--client", "Anna"], "maybe\n", env)
    after = done.stdout.split("Sorry, I didn't catch that")[1]
    assert after.count("No, I'll let it go") == 1, done.stdout
    json_mode = run(["--json", "--client", "Anna", "--fresh"], "maybe\n", env).stdout
    kinds = [json.loads(line)["type"] for line in json_mode.splitlines()]
    assert kinds == ["ask", "say", "ask"]  # scripts still get the question again


@pytest.mark.parametrize(
    ("argv", "at"),
    [
        (["check", "slack"], 0),
        (["--client", "check", "check", "slack"], 2),  # a client called "check"
        (["--cli", "slack", "slack"], 2),  # an abbreviation, as argparse takes it
        (["--client=slack", "slack"], 1),
        (["--json", "slack", "--help"], 1),
    ],
)
def test_the_command_is_found_after_the_options_values(argv: list[str], at: int) -> None:
    from bots.cli import _command_at

    assert _command_at(argv, argv[at]) == at
