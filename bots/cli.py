"""``should-i-take-it``: the one console script.

With no sub-command it holds the conversation in the terminal. Sub-commands run the other
entry points (``slack``, ``discord``), look after the data (``history``, ``forget``,
``migrate``, ``sweep``) and check a deployment (``check``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import locale
import os
import sys
from collections.abc import Sequence
from typing import Any

from bots.config import ConfigError, Settings, load_settings
from bots.errors import broken_questionnaire, friendly_store_error
from core.ports import StoreError
from core.questionnaire import InvalidDefinition, Questionnaire, load_questionnaire

PROG = "should-i-take-it"
SUBCOMMANDS = (
    "history",
    "next",
    "forget",
    "profile",
    "migrate",
    "sweep",
    "check",
    "slack",
    "discord",
)


def default_locale(env: dict[str, str] | None = None) -> str | None:
    """The terminal's locale from LC_ALL / LC_MESSAGES / LANG (``en_GB.UTF-8``)."""
    env = dict(os.environ) if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return None if value.split(".")[0].lower() in ("c", "posix") else value
    return None


def default_lang(env: dict[str, str] | None = None) -> str | None:
    """The terminal's language from LC_ALL / LC_MESSAGES / LANG (``fr_FR.UTF-8`` → ``fr``)."""
    env = dict(os.environ) if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            return None if code in ("c", "posix") else code
    try:
        code = (locale.getlocale()[0] or "").split("_")[0].lower()
    except ValueError:
        return None
    return code or None


def slack_arguments(p: argparse.ArgumentParser) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--socket",
        action="store_const",
        const="socket",
        dest="mode",
        help="Socket Mode: no public URL needed (default when SLACK_APP_TOKEN is set)",
    )
    how.add_argument(
        "--http",
        action="store_const",
        const="http",
        dest="mode",
        help="HTTP mode: serve POST /slack/events on $PORT (needs SLACK_SIGNING_SECRET)",
    )
    p.add_argument("--port", type=int, help="HTTP port (default: $PORT, else 3000)")


def discord_arguments(p: argparse.ArgumentParser) -> None:
    """No options: DISCORD_TOKEN and the other settings come from the environment."""


def check_arguments(p: argparse.ArgumentParser) -> None:
    """No options: it checks what the environment (and .env) configures."""


SUBCOMMAND_HELP = {
    "history": (
        "list your past decisions",
        "List your past decisions, newest first (only on this machine's database).",
    ),
    "next": (
        "take the next step on a past decision",
        "Take the next step on one of your past decisions (NUMBER as `history` lists them, "
        "1 = the latest) and print its draft: for instance `next 1 agreed` when the client "
        "accepted your proposal, `next 1 couldnt` when they could not, `next 1 wait 5` to be "
        "asked again in 5 working days, `next 1 stop` to stop the reminders. `history` shows "
        "the steps each decision offers.",
    ),
    "forget": (
        "delete your past decisions",
        "Delete your past decisions (and their reminders), your saved profile and any "
        "conversation in progress, after a confirmation.",
    ),
    "profile": (
        "show or change your saved profile",
        "Show your saved profile (signature, default tone and language, time zone, days "
        "before a reminder, colleagues to refer to), or change one thing in it, for example "
        "'profile tone formal', 'profile colleague add Sam Lee', 'profile clear signature' "
        "(the words of prompts/, in any of its languages). A conversation started afterwards "
        "uses it; 'forget' deletes it.",
    ),
    "migrate": (
        "bring the database schema up to date",
        "Create or upgrade the database schema (DATABASE_URL, else the SQLite file), then exit. "
        "The Procfile's release step.",
    ),
    "sweep": (
        "delete expired rows now",
        "Delete what has outlived its time in the database (DATABASE_URL, else the SQLite "
        "file): idle conversations past CONVERSATION_TTL_HOURS, old delivery ids, handled "
        "requests and sent messages, sent reminders, unused Slack install states. The "
        "running bots do it every SWEEP_INTERVAL_SECONDS; this is for cron, or a database "
        "no bot runs on. Safe to run at any time, anywhere.",
    ),
    "check": (
        "check this installation, changing nothing",
        "Check the questionnaire, the settings, the database and the Slack and Discord "
        "credentials that are set; print what is wrong and how to fix it. Changes nothing: "
        "no migration, no message sent. Exit status 1 when a check fails.",
    ),
    "slack": (
        "run the Slack bot",
        "Run the Slack bot until SIGTERM or Ctrl-C: HTTP mode (POST /slack/events on $PORT) "
        "with --http, or when SLACK_SIGNING_SECRET is set without SLACK_APP_TOKEN, or with "
        "SLACK_CLIENT_ID (installs in several workspaces); else Socket Mode (SLACK_APP_TOKEN).",
    ),
    "discord": (
        "run the Discord bot",
        "Run the Discord bot until SIGTERM or Ctrl-C (needs DISCORD_TOKEN). Its commands are "
        "registered globally; DISCORD_GUILD_ID names a server whose own copies of them, left "
        "by an earlier version, are cleared so it does not show each twice.",
    ),
}


def subcommand_parser(name: str, parent: Any = None) -> argparse.ArgumentParser:
    """The parser of one sub-command, on its own (``parent`` None) or under the main one."""
    short, long = SUBCOMMAND_HELP[name]
    if parent is None:
        p = argparse.ArgumentParser(prog=f"{PROG} {name}", description=long)
    else:
        p = parent.add_parser(name, help=short, description=long)
    if name in ("history", "forget", "next", "profile"):
        p.add_argument("--lang", help=_VALUED["--lang"])
    if name == "history":
        p.add_argument(
            "--json", action="store_true", help="one JSON object per decision and line, for scripts"
        )
        p.add_argument("--limit", type=_positive, default=20, help="how many (default 20)")
    elif name == "next":
        p.add_argument("number", type=_positive, help="which decision (1 = the latest)")
        p.add_argument(
            "step", help="the step, as `history` lists it (agreed, couldnt, wait, stop, ...)"
        )
        p.add_argument(
            "value", nargs="?", default="", help="what the step takes: the days to wait, as listed"
        )
        p.add_argument("--json", action="store_true", help="print one JSON object per line")
    elif name == "forget":
        p.add_argument("-y", "--yes", action="store_true", help="delete without asking first")
    elif name == "profile":
        p.add_argument("--json", action="store_true", help="print the profile as JSON, for scripts")
        p.add_argument(
            "change",
            nargs=argparse.REMAINDER,
            help="what to change, e.g. 'tone formal' or 'colleague add Sam Lee' (none: show it)",
        )
    elif name == "slack":
        slack_arguments(p)
    elif name == "discord":
        discord_arguments(p)
    elif name == "check":
        check_arguments(p)
    return p


# The top-level options: those that take a value, and the switches (one table, read by the
# parser and by _command_at, which must know which words are an option's value).
_VALUED = {
    "--lang": "language, e.g. en or fr (default: your profile's, else from LC_ALL, "
    "LC_MESSAGES or LANG, else English)",
    "--tone": "tone of the reply: warm, formal or brief (default: your profile's, else your "
    "last conversation's, else warm)",
    "--client": "who the request is from (skips that question)",
    "--signature": "your name, to sign the reply (unless your profile has a signature)",
}
_SWITCHES = {
    "--json": "print one JSON object per line, for scripts",
    "--fresh": "start over even if a conversation is open",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Four questions before you take on a new client, and a reply ready to "
        "send. With no command, the conversation happens here, in the terminal.",
    )
    # The allowed languages and tones come from prompts/ (see _check_choices).
    for flag, meaning in _VALUED.items():
        p.add_argument(flag, help=meaning)
    for flag, meaning in _SWITCHES.items():
        p.add_argument(flag, action="store_true", help=meaning)
    commands = p.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", help="(try COMMAND --help)"
    )
    for name in SUBCOMMANDS:
        subcommand_parser(name, commands)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad usage (2), already printed
        return int(exc.code or 0)
    try:
        if args.command is None:
            return _terminal(parser, args)
        rest = argv[_command_at(argv, args.command) + 1 :]
        return _subcommand(args.command, args, rest)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0


def _command_at(argv: list[str], command: str) -> int:
    """Where ``command`` is in ``argv``: its first occurrence that is not a top-level
    option's value (``--client check check``: a client called "check")."""
    skip = False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == command:
            return i
        if word.startswith("--") and "=" not in word:
            # argparse takes any unambiguous abbreviation: --cli for --client.
            meant = [o for o in (*_VALUED, *_SWITCHES, "--help") if o.startswith(word)]
            skip = len(meant) == 1 and meant[0] in _VALUED
    raise ValueError(f"{command!r} is not in the command line")  # argparse found it there


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head``): say nothing, and keep Python from complaining
    about the unflushable stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _settings() -> Settings:
    return load_settings()


def _quiet_logging(settings: Settings) -> None:
    """Commands that print their own results log only warnings, unless LOG_LEVEL=DEBUG
    (which shows, for instance, a database driver's own error details)."""
    from bots.bootstrap import configure_logging

    configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)


def _fail(message: str, status: int = 2) -> int:
    print(f"should-i-take-it: {message}", file=sys.stderr)
    return status


def _load(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[Settings, Questionnaire] | int:
    """The settings and the questionnaire, the options checked against it; or the exit
    status, the problem already said."""
    try:
        settings = _settings()
    except ConfigError as exc:
        return _fail(str(exc))
    try:
        q = load_questionnaire(settings.prompts_dir)
        _check_choices(parser, args, q)
    except SystemExit as exc:
        return int(exc.code or 0)
    except InvalidDefinition as exc:
        return _fail(broken_questionnaire(exc, settings), 1)
    return settings, q


def _for_command(name: str, args: argparse.Namespace) -> tuple[Settings, Questionnaire] | int:
    """For a sub-command that prints its own results (history, next, profile...): what
    :func:`_load` gives, the logging quieted."""
    loaded = _load(subcommand_parser(name), args)
    if isinstance(loaded, int):
        return loaded
    _quiet_logging(loaded[0])
    return loaded


async def _page_lang(session: Any, args: argparse.Namespace) -> str:
    """The language of a sub-command's page: ``--lang``, else the saved profile's, else the
    system's, else the first (``core.profile.page_language``, as on Slack and Discord)."""
    from bots.terminal import local_key
    from core.profile import page_language

    q = session.questionnaire
    if args.lang:
        return str(args.lang)
    return page_language(q, await session.profile(local_key()), default_lang())


def _terminal(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from bots.bootstrap import bootstrap, configure_logging
    from bots.terminal import TerminalOptions, run_terminal

    loaded = _load(parser, args)
    if isinstance(loaded, int):
        return loaded
    settings, q = loaded
    configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
    options = TerminalOptions(
        # --lang is asked for; LANG is only a default, like a platform's locale: the saved
        # profile's language beats it, and a conversation under way keeps its own.
        lang=args.lang,
        tone=args.tone,
        json=args.json,
        client=args.client,
        signature=args.signature,
        fresh=args.fresh,
        locale=default_locale() or default_lang(),
    )

    async def go() -> int:
        app = await bootstrap(settings, questionnaire=q)
        try:
            return await run_terminal(app.session, options)
        finally:
            await app.close()

    try:
        return asyncio.run(go())
    except InvalidDefinition as exc:
        return _fail(broken_questionnaire(exc, settings), 1)
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)


def _subcommand(name: str, args: argparse.Namespace, argv: list[str]) -> int:
    if name in ("history", "forget", "next"):
        return _journal(name, args)
    if name == "profile":
        return _profile(args)
    if name == "migrate":
        return _migrate()
    if name == "sweep":
        return _sweep()
    if name == "slack":
        from bots.slack.main import main as slack_main

        return slack_main(argv)
    if name == "discord":
        from bots.discord.main import main as discord_main

        return discord_main(argv)
    from bots.check import main as check_main

    return check_main(argv)


def _journal(name: str, args: argparse.Namespace) -> int:
    from bots.bootstrap import bootstrap
    from bots.terminal import confirm, local_key, steps_hint
    from core.followup import next_controls, status_line, step_argument
    from core.journal import decision_line

    loaded = _for_command(name, args)
    if isinstance(loaded, int):
        return loaded
    settings, q = loaded

    async def go() -> int:
        app = await bootstrap(settings, questionnaire=q)
        now = app.session.clock()
        try:
            lang = await _page_lang(app.session, args)
            if name == "forget":
                if not args.yes and not confirm(q, lang, sys.stdin, sys.stderr):
                    print(q.ui(lang, "kept"))
                    return 1
                count = await app.session.forget(local_key())
                print(q.ui(lang, "forgotten", count=count))
                return 0
            if name == "next":
                return await _next_step(app.session, q, lang, args)
            # One more than shown: whether there are more to say so.
            decisions = await app.session.history(local_key(), args.limit + 1)
            more, decisions = len(decisions) > args.limit, decisions[: args.limit]
            if args.json:
                for d in decisions:
                    print(
                        json.dumps(
                            {
                                "outcome": d.outcome,
                                "decided_at": d.decided_at.isoformat(),
                                "lang": d.lang,
                                "platform": d.platform,
                                "client": d.client,
                                # The last step recorded (None: none yet), and in words.
                                "status": d.status or None,
                                "stands": status_line(q, lang, d, now) or None,
                                "reminder": None
                                if d.reminder is None
                                else d.reminder.due_at.isoformat(),
                                # As `next N` takes them: "wait 3", not "wait" twice.
                                "next": [step_argument(c) for c in next_controls(q, d, lang, now)],
                            },
                            ensure_ascii=False,
                        )
                    )
                return 0
            if not decisions:
                print(q.ui(lang, "history_empty"))
                return 0
            print(q.ui(lang, "history_title"))
            for number, d in enumerate(decisions, 1):
                print(f"  {number}. " + decision_line(q, lang, d, now=now))
                hint = steps_hint(q, lang, number, next_controls(q, d, lang, now))
                if hint:
                    print("     " + hint)
            if more:
                print(q.ui(lang, "terminal_history_more", limit=args.limit))
            return 0
        finally:
            await app.close()

    try:
        return asyncio.run(go())
    except InvalidDefinition as exc:
        return _fail(broken_questionnaire(exc, settings), 1)
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)


async def _next_step(session: Any, q: Questionnaire, lang: str, args: argparse.Namespace) -> int:
    """``next NUMBER STEP [VALUE]``: the step taken on the NUMBERth latest decision."""
    from bots.terminal import Renderer, local_key, steps_hint
    from core.controls import NextStep
    from core.followup import Refused, next_controls, refusal, step_for_word

    decisions = await session.history(local_key(), args.number)
    if len(decisions) < args.number:
        return _fail(q.ui(lang, "terminal_no_such_decision", number=args.number), 1)
    entry = decisions[args.number - 1]
    # "attendre" or "wait": the step's word in any language, or its id.
    step = step_for_word(q, args.step)
    now = session.clock()
    hint = steps_hint(q, lang, args.number, next_controls(q, entry, lang, now))
    if step is None:  # not a step at all: say which ones are open, not "no longer open"
        hint = hint or q.ui(lang, "terminal_nothing_open", number=args.number)
        return _fail(q.ui(lang, "terminal_no_such_step", step=args.step) + " " + hint, 1)
    refused = refusal(entry, step, args.value, now)
    if refused is not None:  # the core's reason, in this page's words
        values = ", ".join(refused.values)
        key = f"terminal_step_{refused.why}"
        said = q.ui(lang, key, step=args.step, number=args.number, values=values)
        if refused.why in (Refused.NOT_HERE, Refused.NOT_OPEN):
            said = f"{said} {hint}".strip()
        return _fail(said, 1)
    turn = await session.handle(local_key(), NextStep(entry.ref, step, args.value))
    renderer = Renderer(q, sys.stdout, args.json)
    for action in turn.actions:
        renderer.render(action)
    return 1 if turn.private else 0


def _profile(args: argparse.Namespace) -> int:
    from bots.bootstrap import bootstrap
    from bots.terminal import local_key, run_profile

    try:
        _options_after_the_change(args)
    except SystemExit as exc:  # the usage error, already printed
        return int(exc.code or 0)
    loaded = _for_command("profile", args)
    if isinstance(loaded, int):
        return loaded
    settings, q = loaded

    async def go() -> int:
        app = await bootstrap(settings, questionnaire=q)
        try:
            lang = await _page_lang(app.session, args)
            change = " ".join(args.change)
            return await run_profile(app.session, local_key(), change, lang, as_json=args.json)
        finally:
            await app.close()

    try:
        return asyncio.run(go())
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)


def _options_after_the_change(args: argparse.Namespace) -> None:
    """``profile tone formal --lang fr``: argparse leaves what follows the first word of the
    change to the change; ``--json`` and ``--lang X`` there are options, not part of it.
    A ``--lang`` without its value is refused as argparse would (exit 2)."""
    change: list[str] = []
    words = iter(args.change)
    for word in words:
        if word == "--json":
            args.json = True
        elif word == "--lang":
            args.lang = next(words, None)
            if args.lang is None:
                subcommand_parser("profile").error("argument --lang: expected one argument")
        elif word.startswith("--lang="):
            args.lang = word.partition("=")[2]
        else:
            change.append(word)
    args.change = change


def _check_choices(
    parser: argparse.ArgumentParser, args: argparse.Namespace, q: Questionnaire
) -> None:
    """--lang and --tone against what prompts/ declares; argparse's own wording and exit 2."""
    for name, allowed in (("lang", q.languages), ("tone", q.tones)):
        value = getattr(args, name, None)
        if value is not None and value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            parser.error(f"argument --{name}: invalid choice: {value!r} (choose from {choices})")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return value


def _migrate() -> int:
    from core.store.migrate import migrate

    try:
        settings = _settings()
    except ConfigError as exc:
        return _fail(str(exc))
    _quiet_logging(settings)
    try:
        migrate(settings.database_url, data_dir=settings.data_dir)
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)
    print("database is up to date")
    return 0


def _sweep() -> int:
    from bots.bootstrap import bootstrap
    from bots.retention import sweep

    try:
        settings = _settings()
        q = load_questionnaire(settings.prompts_dir)
    except ConfigError as exc:
        return _fail(str(exc))
    except InvalidDefinition as exc:
        return _fail(broken_questionnaire(exc, settings), 1)
    _quiet_logging(settings)

    async def go() -> int:
        app = await bootstrap(settings, questionnaire=q)
        try:
            swept = await sweep(app)
        finally:
            await app.close()
        print(
            f"deleted {swept.rows} expired row(s) (conversations, delivery ids, handled "
            "requests, sent messages and reminders)"
            f" and {swept.oauth_states} Slack install state(s)"
        )
        return 0

    try:
        return asyncio.run(go())
    except StoreError as exc:
        return _fail(friendly_store_error(exc, settings), 1)


if __name__ == "__main__":
    raise SystemExit(main())
