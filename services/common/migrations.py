"""Numbered schema migrations, applied once each at start and recorded in the database.

Migration 1 of each service is the schema as it stood before migrations existed, written with
`CREATE ... IF NOT EXISTS`: a database made by an earlier release takes it as a no-op and keeps
its data, and from then on every change to the schema is a new, higher number. A database that
records a number this program does not know was migrated by a newer release: it refuses to
start rather than guess.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version       INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    applied_at_us INTEGER NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of a schema: `sql` is `;`-separated statements, or a tuple of statements (one
    that holds a `;` of its own: a trigger's body)."""

    version: int
    name: str
    sql: str | tuple[str, ...]

    def statements(self) -> list[str]:
        if isinstance(self.sql, tuple):
            return list(self.sql)
        return [statement for statement in self.sql.split(";") if statement.strip()]


class SchemaTooNew(RuntimeError):
    """The database was migrated past what this program knows."""


def pending(migrations: Sequence[Migration], done: set[int]) -> list[Migration]:
    """The migrations a database that recorded `done` still needs, in order."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions or versions[0] != 1:
        raise ValueError(f"migrations must be numbered 1, 2, ... in order, got {versions}")
    unknown = sorted(done - set(versions))
    if unknown:
        raise SchemaTooNew(
            f"the database has schema versions {unknown} this program does not know: "
            "it was migrated by a newer release"
        )
    return [m for m in migrations if m.version not in done]


def now_us() -> int:
    return time.time_ns() // 1000


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration]) -> list[int]:
    """Apply, in order, the migrations the database has not recorded (in the caller's
    transaction); the versions applied now. (PostgreSQL: services.common.postgres.)"""
    connection.execute(LEDGER)
    done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
    applied = []
    for migration in pending(migrations, done):
        for statement in migration.statements():
            connection.execute(statement)
        connection.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?)",
            (migration.version, migration.name, now_us()),
        )
        applied.append(migration.version)
    return applied
