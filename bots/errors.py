"""Database and questionnaire failures told in one line a person can act on: which
setting, what failed.

The driver's own wording (SQLAlchemy's class paths, its "Background on this error" links)
goes to the debug log only. Passwords in ``DATABASE_URL`` are never shown.
"""

from __future__ import annotations

import logging
import socket

from bots.config import Settings
from core.ports import StoreError
from core.questionnaire import InvalidDefinition

log = logging.getLogger("should_i_take_it")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _where(settings: Settings) -> tuple[str, str, str]:
    """(host:port, database, variable) without the password."""
    if not settings.database_url:
        return "", "", "SIT_DATA_DIR"
    try:
        from core.store import database_url

        url = database_url(settings.database_url, data_dir=settings.data_dir)
    except StoreError:
        return "", "", "DATABASE_URL"
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    return host, str(url.database or ""), "DATABASE_URL"


def friendly_store_error(exc: StoreError, settings: Settings) -> str:
    """One line naming the variable and what failed; the details go to the debug log."""
    log.debug("database error", exc_info=exc)
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    root = chain[-1]
    host, name, variable = _where(settings)
    detail = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    if variable == "SIT_DATA_DIR":
        return (
            f"cannot use the SQLite database file ({detail}). Check that SIT_DATA_DIR (or the "
            "default ~/.local/share/should-i-take-it) is a writable directory, or set "
            "DATABASE_URL."
        )
    if "cannot be parsed" in str(exc) or "unsupported database" in str(exc):
        return (
            f"DATABASE_URL: {str(exc).removeprefix('store: ')}. Write it as "
            "postgresql://user:password@host:5432/dbname or sqlite:///path/file.sqlite3."
        )
    if any(isinstance(e, socket.gaierror) for e in chain):
        return (
            f"DATABASE_URL: the database host {host.rsplit(':', 1)[0]!r} is unknown ({detail}). "
            "Check the host name in DATABASE_URL."
        )
    if "InvalidCatalogNameError" in names:
        return (
            f"DATABASE_URL: the database {name!r} does not exist on {host}. Create it "
            f"(createdb {name}) or fix the name at the end of DATABASE_URL."
        )
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        return (
            f"DATABASE_URL: the server at {host} refused the user name or password ({detail}). "
            "Check the user:password part of DATABASE_URL."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return (
            f"DATABASE_URL: nothing answers at {host} (connection refused). Is PostgreSQL "
            "running there, and are the host and port in DATABASE_URL right?"
        )
    if any(isinstance(e, TimeoutError) for e in chain) or "timeout" in detail.lower():
        return (
            f"DATABASE_URL: the database server at {host} did not answer in time. Check that "
            "it is reachable from here."
        )
    if any(isinstance(e, OSError) for e in chain):
        return f"DATABASE_URL: cannot reach the database server at {host} ({detail})."
    doing = str(exc).removeprefix("store: ").split(" failed:")[0]
    return f"DATABASE_URL: the database at {host} failed while {doing} ({detail})."


def broken_questionnaire(exc: InvalidDefinition, settings: Settings) -> str:
    """One line naming the broken file and key, and ``PROMPTS_DIR`` when it chose the files
    (the built-in ones are checked by the test suite: broken, they are this program's bug)."""
    if settings.prompts_dir is not None:
        where = str(settings.prompts_dir)
        return f"PROMPTS_DIR: the questionnaire files in {where!r} are broken: {exc}"
    return f"the built-in questionnaire files are broken (please report it): {exc}"
