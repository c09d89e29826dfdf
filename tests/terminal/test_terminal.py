"""The terminal bot, driven as a real subprocess: human mode, --json through pipes, exit
statuses, the locale default, and kill -9 in the middle of a conversation."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.core.paths import PATHS

COMMAND = [sys.executable, "-m", "bots.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "LC_", "DATABASE_URL"))
    }
    return {
        **clean,
        "SIT_DATA_DIR": str(tmp_path / "data"),
        "LANG": "en_US.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }


def run(args: list[str], stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def run_here(
    args: list[str],
    stdin: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """The console script's ``main`` in this process (the same code as a subprocess, less
    the second of interpreter start-up per run); stdin is a pipe, not a terminal."""
    from bots.cli import main

    for name in os.environ:
        if name not in env:  # what the subprocess tests leave out (tokens, DATABASE_URL)
            monkeypatch.delenv(name)
    for name in ("SIT_DATA_DIR", "LANG"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = main(args)
    return status, capsys.readouterr().out


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("outcome", sorted(PATHS))
def test_every_outcome_through_json_mode(
    outcome: str,
    lang: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = ["Anna", *PATHS[outcome]]
    status, out = run_here(
        ["--json", "--lang", lang, "--tone", "formal", "--signature", "Camille"],
        "\n".join(answers) + "\n",
        env,
        monkeypatch,
        capsys,
    )
    assert status == 0, out
    said = lines(out)
    assert said[0]["type"] == "ask" and said[0]["question"] == "client"
    result = said[-1]
    assert result["type"] == "result"
    assert (result["outcome"], result["lang"], result["tone"]) == (outcome, lang, "formal")
    assert set(result) >= {"outcome", "draft", "advice", "lang", "tone"}
    assert (result["draft"] is None) == (outcome == "no_reply")
    asks = [s for s in said if s["type"] == "ask"]
    assert {"question", "text", "choices", "input", "progress"} <= set(asks[1])
    assert asks[1]["progress"]["current"] == 1 and asks[1]["progress"]["total"] == 4
    assert all(set(c) == {"id", "label"} for a in asks for c in a["choices"])


def test_human_mode_shows_numbered_choices_and_the_reply_to_copy(env: dict[str, str]) -> None:
    done = run(["--signature", "Camille"], "Anna\n1\n2\nhelp\nmaybe\n2\n1\nSam Lee\n", env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert (
        "[Question 1 of 4]" in out
        and "  1. Yes, I have the time" in out
        and "  2. No, not really" in out
    )
    assert "back" in out.lower() and "restart" in out.lower()  # the help text
    assert "Sorry, I didn't catch that" in out
    block = out.split("─" * 60)
    assert (
        len(block) == 3 and "Sam Lee" in block[1] and "Anna" in block[1] and "Camille" in block[1]
    )


def test_json_lines_hold_a_conversation_through_pipes(env: dict[str, str]) -> None:
    """Another program answers each question as it arrives: only works if every line is flushed."""
    proc = subprocess.Popen(
        [*COMMAND, "--json", "--client", "Anna"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin and proc.stdout
    replies = {
        "respond": "yes",
        "time": "no",
        "not_yet": "yes",
        "what_would_work": "timeline",
        "free_from": "15/03/2027",
    }
    seen = []
    while True:
        message = json.loads(proc.stdout.readline())
        seen.append(message)
        if message["type"] == "result":
            break
        if message["type"] == "ask":
            proc.stdin.write(replies[message["question"]] + "\n")
            proc.stdin.flush()
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert seen[-1]["outcome"] == "negotiate_timeline" and "March 15, 2027" in seen[-1]["draft"]


def test_after_a_result_a_tone_or_language_word_rewrites_it(env: dict[str, str]) -> None:
    done = run(["--json", "--client", "Anna"], "yes\nyes\nyes\nbrief\nfr\n", env)
    assert done.returncode == 0, done.stderr
    results = [s for s in lines(done.stdout) if s["type"] == "result"]
    assert [(r["tone"], r["lang"]) for r in results] == [
        ("warm", "en"),
        ("brief", "en"),
        ("brief", "fr"),
    ]
    assert len({r["draft"] for r in results}) == 3


def test_the_language_defaults_to_the_terminal_locale(env: dict[str, str]) -> None:
    done = run(["--json"], "", {**env, "LANG": "fr_FR.UTF-8"})
    assert lines(done.stdout)[0]["lang"] == "fr"


def test_exit_statuses(env: dict[str, str]) -> None:
    assert run([], "Anna\n1\ncancel\n", env).returncode == 1  # cancelled
    assert run(["--fresh"], "Anna\n1\n", env).returncode == 1  # input ended early
    bad = run(["--tone", "sarcastic"], "", env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert run(["--no-such-flag"], "", env).returncode == 2


def test_a_broken_questionnaire_stops_start_up_naming_file_and_key(
    env: dict[str, str], tmp_path: Path
) -> None:
    from core.questionnaire import default_prompts_dir

    prompts = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), prompts)
    flow = prompts / "flow.yaml"
    flow.write_text(flow.read_text().replace("yes: {ask: terms}", "yes: {ask: nowhere}"))
    done = run([], "", {**env, "PROMPTS_DIR": str(prompts)})
    assert done.returncode == 1
    assert f"PROMPTS_DIR: the questionnaire files in {str(prompts)!r} are broken" in done.stderr
    assert "flow.yaml: questions.time.next.yes.ask: unknown question 'nowhere'" in done.stderr


def test_a_bad_setting_names_the_variable(env: dict[str, str]) -> None:
    done = run([], "", {**env, "CONVERSATION_TTL_HOURS": "soon"})
    assert done.returncode == 2 and "CONVERSATION_TTL_HOURS" in done.stderr


def test_quitting_and_starting_again_offers_to_resume(env: dict[str, str]) -> None:
    quit = run(["--json"], "Anna\nyes\nno\n", env)
    assert quit.returncode == 1 and "Saved. Run again to continue." in quit.stderr
    plain = run([], "", env)  # Ctrl-D at once: said too, on stdout this time
    assert plain.returncode == 1 and plain.stdout.endswith("\nSaved. Run again to continue.\n")
    again = lines(run(["--json"], "1\nyes\n", env).stdout)
    assert again[0]["question"] == "resume"
    assert again[1]["question"] == "not_yet"


def test_kill_9_mid_conversation_then_restart_resumes_at_the_same_question(
    env: dict[str, str],
) -> None:
    proc = subprocess.Popen(
        [*COMMAND, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin and proc.stdout
    for answer in ("Anna", "yes", "no", "no"):
        assert json.loads(proc.stdout.readline())["type"] == "ask"
        proc.stdin.write(answer + "\n")
        proc.stdin.flush()
    current = json.loads(proc.stdout.readline())
    assert current["question"] == "refer"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    done = run(["--json"], "continue\nyes\nSam Lee\n", env)
    said = lines(done.stdout)
    assert said[0]["question"] == "resume"
    assert said[1]["question"] == "refer"  # the question it was on
    assert (
        said[-1]["outcome"] == "refer"
        and "Anna" in said[-1]["draft"]
        and "Sam Lee" in said[-1]["draft"]
    )


def test_history_and_forget(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(args: list[str], stdin: str = "") -> tuple[int, str]:
        return run_here(args, stdin, env, monkeypatch, capsys)

    cli(["--json", "--client", "Anna"], "yes\nyes\nyes\n")
    cli(["--json", "--fresh"], "skip\nno\n")
    status, out = cli(["history", "--json"])
    assert [(h["outcome"], h["client"]) for h in lines(out)] == [
        ("no_reply", None),
        ("accept", "Anna"),
    ]
    assert "Anna" in cli(["history"])[1]
    status, out = cli(["forget", "--yes"])
    assert status == 0 and "2" in out
    assert cli(["history", "--json"])[1] == ""


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "should-i-take-it"
    assert script.exists(), "pip install -e . should install the should-i-take-it command"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--json" in done.stdout


def test_after_a_result_back_restart_and_help_work_too(env: dict[str, str]) -> None:
    done = run(["--json", "--client", "Anna"], "yes\nyes\nyes\nhelp\nback\nno\nfee\nskip\n", env)
    assert done.returncode == 0, done.stderr
    said = lines(done.stdout)
    assert [s["outcome"] for s in said if s["type"] == "result"] == ["accept", "negotiate_fee"]
    assert any(s["type"] == "say" and s["kind"] == "help" for s in said)
    # A restart after the result leaves a conversation open: input ends early, exit 1.
    assert (
        run(["--json", "--client", "Anna", "--fresh"], "yes\nyes\nyes\nrestart\n", env).returncode
        == 1
    )


def test_at_a_real_terminal_it_prompts_and_offers_to_rewrite(env: dict[str, str]) -> None:
    import pty

    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*COMMAND, "--client", "Anna", "--lang", "fr"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    os.write(main, b"oui\noui\noui\n\n")
    output = b""
    while True:  # read until the child closes the terminal
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=30)
    os.close(main)
    text = output.decode()
    assert proc.returncode == 0
    assert "> " in text
    assert "«\u00a0retour\u00a0» pour modifier votre dernière réponse" in text


@pytest.mark.parametrize(
    ("lang_env", "written"), [("en_GB.UTF-8", "15 March 2027"), ("en_US.UTF-8", "March 15, 2027")]
)
def test_dates_are_written_the_way_the_terminals_locale_writes_them(
    lang_env: str,
    written: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = ["Anna", *PATHS["booked"]]
    status, out = run_here(
        ["--json"], "\n".join(answers) + "\n", {**env, "LANG": lang_env}, monkeypatch, capsys
    )
    result = lines(out)[-1]
    assert status == 0 and result["outcome"] == "booked"
    assert written in result["draft"]


def test_help_in_the_conversation_names_the_terminal_commands(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = run_here(["--lang", "en"], "history\n", env, monkeypatch, capsys)
    assert '"should-i-take-it history" lists your past decisions' in out
