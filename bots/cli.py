"""``should-i-take-it``: the one console script.

With no sub-command it holds the conversation in the terminal. Sub-commands run the other
entry points (``slack``, ``discord``), look after the data (``history``, ``forget``,
``migrate``) and check a deployment (``check``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import locale
import os
import sys
from collections.abc import Sequence

from bots.config import ConfigError, Settings, load_dotenv_if_present
from core.ports import StoreError
from core.questionnaire import InvalidDefinition, Questionnaire, load_questionnaire

SUBCOMMANDS = ("history", "forget", "slack", "discord", "check", "migrate")


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="should-i-take-it",
        description="Four questions before you take on a new client, and a reply ready to send.",
        epilog=f"Other commands: {', '.join(SUBCOMMANDS)} (try 'should-i-take-it slack --help').",
    )
    # The allowed languages and tones come from prompts/ (see _check_choices).
    p.add_argument("--lang", help="language, e.g. en or fr (default: from LANG, else English)")
    p.add_argument("--tone", help="tone of the reply: warm, formal or brief (default: warm)")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per line, for scripts"
    )
    p.add_argument("--client", help="who the request is from (skips that question)")
    p.add_argument("--signature", help="your name, to sign the reply")
    p.add_argument("--fresh", action="store_true", help="start over even if a conversation is open")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _subcommand(argv[0], argv[1:])
        return _terminal(argv)
    except KeyboardInterrupt:
        return 1


def _settings() -> Settings:
    load_dotenv_if_present()
    return Settings.from_env()


def _fail(message: str, status: int = 2) -> int:
    print(f"should-i-take-it: {message}", file=sys.stderr)
    return status


def _terminal(argv: list[str]) -> int:
    from bots.bootstrap import bootstrap, configure_logging
    from bots.terminal import TerminalOptions, run_terminal

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        settings = _settings()
        q = load_questionnaire(settings.prompts_dir)
        _check_choices(parser, args, q)
    except SystemExit as exc:
        return int(exc.code or 0)
    except ConfigError as exc:
        return _fail(str(exc))
    except InvalidDefinition as exc:
        return _fail(f"the questionnaire files are broken: {exc}", 1)
    configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
    lang = args.lang or default_lang()
    options = TerminalOptions(
        lang=lang if lang in q.languages else None,
        tone=args.tone,
        json=args.json,
        client=args.client,
        signature=args.signature,
        fresh=args.fresh,
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
        return _fail(f"the questionnaire files are broken: {exc}", 1)
    except StoreError as exc:
        return _fail(f"cannot open the conversation store: {exc}", 1)


def _subcommand(name: str, argv: list[str]) -> int:
    if name in ("history", "forget"):
        return _journal(name, argv)
    if name == "migrate":
        return _migrate(argv)
    if name == "slack":
        from bots.slack.main import main as slack_main

        return slack_main(argv)
    if name == "discord":
        from bots.discord.main import main as discord_main

        return discord_main(argv)
    from bots.check import main as check_main

    return check_main(argv)


def _journal(name: str, argv: list[str]) -> int:
    from bots.bootstrap import bootstrap
    from bots.terminal import local_key
    from core.journal import decision_line

    p = argparse.ArgumentParser(prog=f"should-i-take-it {name}")
    p.add_argument("--lang", help="language, e.g. en or fr (default: from LANG)")
    if name == "history":
        p.add_argument("--json", action="store_true")
        p.add_argument("--limit", type=_positive, default=20, help="how many (default 20)")
    try:
        args = p.parse_args(argv)
        settings = _settings()
        q = load_questionnaire(settings.prompts_dir)
        _check_choices(p, args, q)
    except SystemExit as exc:
        return int(exc.code or 0)
    except ConfigError as exc:
        return _fail(str(exc))
    except InvalidDefinition as exc:
        return _fail(f"the questionnaire files are broken: {exc}", 1)
    lang = args.lang or default_lang()
    lang = lang if lang in q.languages else q.languages[0]

    async def go() -> int:
        app = await bootstrap(settings, questionnaire=q)
        try:
            if name == "forget":
                count = await app.session.forget(local_key())
                print(q.ui(lang, "forgotten", count=count))
                return 0
            decisions = await app.session.history(local_key(), args.limit)
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
                            },
                            ensure_ascii=False,
                        )
                    )
                return 0
            if not decisions:
                print(q.ui(lang, "history_empty"))
                return 0
            print(q.ui(lang, "history_title"))
            for d in decisions:
                print("  " + decision_line(q, lang, d))
            return 0
        finally:
            await app.close()

    try:
        return asyncio.run(go())
    except (StoreError, InvalidDefinition) as exc:
        return _fail(str(exc), 1)


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


def _migrate(argv: list[str]) -> int:
    from core.store import migrate

    try:
        settings = _settings()
        migrate(settings.database_url, data_dir=settings.data_dir)
    except ConfigError as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(str(exc), 1)
    print("database is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
