"""Mistakes in how a service is set up (a port in use, a database it cannot open or reach, an
unknown database scheme): one line naming the thing and the variable that set it, exit 2,
never a traceback."""

from __future__ import annotations

import errno
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

from .migrations import SchemaTooNew
from .postgres import is_postgres, redacted
from .sqlite_threads import DatabaseFileError

EXIT_SETUP: int = 2  # as for a bad setting (settings_loader)


class SetupError(Exception):
    """What the operator must change, in one line."""


@contextmanager
def exit_on_setup_error(program: str) -> Iterator[None]:
    """Around a command: a SetupError is printed as `program: message` and exits 2."""
    try:
        yield
    except SetupError as error:
        print(f"{program}: {error}", file=sys.stderr)
        raise SystemExit(EXIT_SETUP) from None


def bind_failed(host: str, port: int, setting: str, error: OSError) -> SetupError:
    where = f"{host}:{port}" + (f" ({setting})" if setting else "")
    if error.errno == errno.EADDRINUSE:
        hint = f"; stop what holds it or set {setting} to another port" if setting else ""
        return SetupError(f"cannot listen on {where}: the port is in use{hint}")
    return SetupError(f"cannot listen on {where}: {error.strerror or error}")


def check_scheme(location: str, setting: str) -> None:
    """A database location is a SQLite file path or a postgresql:// URL; anything else with a
    scheme (mysql://, postgres+asyncpg://, a typo) is refused rather than made a file."""
    if "://" in location and not is_postgres(location):
        scheme = location.split("://", 1)[0]
        raise SetupError(
            f"{setting}: unknown database scheme {scheme!r} in {redacted(location)}: "
            "give a SQLite file path or a postgresql:// URL"
        )


# What opening a database raises when the environment is wrong, not the code.
OPEN_FAILURES = (
    OSError,
    SchemaTooNew,
    TimeoutError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


@asynccontextmanager
async def opening_database(
    location: str, setting: str, *, missing_hint: str = ""
) -> AsyncIterator[None]:
    """Around opening a database: its failures as one line naming it (password redacted);
    `missing_hint` says how to make a SQLite file that is not there."""
    check_scheme(location, setting)
    try:
        yield
    except OPEN_FAILURES as error:
        what = "reach" if is_postgres(location) else "open"
        reason = str(error).strip() or type(error).__name__
        if isinstance(error, DatabaseFileError) and "no database file" in reason and missing_hint:
            reason += f" ({missing_hint})"
        raise SetupError(
            f"cannot {what} the database {setting}={redacted(location)}: {reason}"
        ) from None


@asynccontextmanager
async def writing_database(location: str, setting: str, outcome: str) -> AsyncIterator[None]:
    """Around a command's writes (an import, the demo data, a terminal): a database that fails
    them (a full disk, a file made read-only meanwhile) is one line, `outcome` said plainly."""
    try:
        yield
    except OPEN_FAILURES as error:
        reason = str(error).strip() or type(error).__name__
        raise SetupError(
            f"cannot write the database {setting}={redacted(location)}: {reason}; {outcome}"
        ) from None
