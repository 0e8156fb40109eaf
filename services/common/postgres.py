"""PostgreSQL for the services: an asyncpg pool with the schema migrated at start.

asyncpg over psycopg 3: on the cart's hot path (load a cart row, save it at the next version,
40 tasks on a pool of 10) asyncpg did 1.35-1.45x the operations per second at 1.5x less client
CPU each, side by side in one run (`python -m loadlab.pg_drivers`). asyncpg prepares every
statement on first use and keeps it per connection, and takes parameters only ($1, $2, ...).

Every call has a deadline: connecting (CONNECT_TIMEOUT_SECONDS), waiting for a pooled
connection (ACQUIRE_TIMEOUT_SECONDS) and each statement (COMMAND_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .migrations import LEDGER, Migration, now_us, pending
from .storage_errors import StorageUnavailable

__all__ = [
    "Pool",
    "connect",
    "is_postgres",
    "now_us",
    "open_pool",
    "outages_reported",
    "redacted",
]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS: Final = 10.0
ACQUIRE_TIMEOUT_SECONDS: Final = 10.0
COMMAND_TIMEOUT_SECONDS: Final = 30.0
# One lock for every service's migrations: replicas starting together migrate one at a time.
MIGRATION_LOCK: Final = 0x6B75_6765_6C  # "kugel"

if TYPE_CHECKING:  # a pooled connection and a plain one take the same calls
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]


# What asyncpg raises when the server cannot be reached or goes away (class 08 and 57P0x), and
# OSError/TimeoutError from connecting and waiting for a pooled connection.
# InternalClientError and its kin: a connection broken under a call by a server restart.
OUTAGES: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)
P = ParamSpec("P")
T = TypeVar("T")


def outages_reported(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """A repository method whose database outages surface as StorageUnavailable."""

    @functools.wraps(method)
    async def reported(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except OUTAGES as error:
            raise StorageUnavailable(f"{type(error).__name__}: {error}") from error

    return reported


def is_postgres(location: str) -> bool:
    """Whether a database setting names PostgreSQL (a URL) rather than a SQLite file."""
    return location.startswith(("postgresql://", "postgres://"))


def redacted(location: str) -> str:
    """The location for logs: a URL's password replaced by ***."""
    if not is_postgres(location):
        return location
    parts = urlsplit(location)
    if parts.password is None:
        return location
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class Pool:
    """asyncpg's pool, every call waiting at most ACQUIRE_TIMEOUT_SECONDS for a connection: the
    pool's own fetch and execute wait without a bound (a read queued 38 s behind a held lock)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def acquire(self, *, timeout: float = ACQUIRE_TIMEOUT_SECONDS) -> Any:
        return self._pool.acquire(timeout=timeout)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            return await connection.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            return await connection.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            return await connection.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            return await connection.execute(query, *args)

    async def close(self) -> None:
        await self._pool.close()


class PooledConnection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset query (one more round trip per
    use): ours hold no session state to reset. LISTEN runs on a connection of its own, the
    migration lock is a transaction lock, and nothing SETs or opens cursors."""

    def get_reset_query(self) -> str:
        return ""


async def connect(url: str) -> asyncpg.Connection:
    """One connection outside the pool (LISTEN needs its own)."""
    return await asyncpg.connect(
        url, timeout=CONNECT_TIMEOUT_SECONDS, command_timeout=COMMAND_TIMEOUT_SECONDS
    )


async def open_pool(url: str, size: int, migrations: Sequence[Migration]) -> Pool:
    """A pool of up to `size` connections, the schema migrated to the newest of `migrations`."""
    pool = await asyncpg.create_pool(
        url,
        # No floor: asyncpg would keep reconnecting it in the background through an outage
        # (logging a stack trace each time); connections open on demand and stay open.
        min_size=0,
        max_size=size,
        timeout=CONNECT_TIMEOUT_SECONDS,
        command_timeout=COMMAND_TIMEOUT_SECONDS,
        connection_class=PooledConnection,
    )
    try:
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS) as connection:
            applied = await migrate(connection, migrations)
    except BaseException:
        await pool.close()
        raise
    if applied:
        log.info("%s: schema migrations %s applied", redacted(url), applied)
    return Pool(pool)


async def migrate(connection: Connection, migrations: Sequence[Migration]) -> list[int]:
    """Apply the migrations the database has not recorded, in one transaction, holding an
    advisory lock so that replicas starting at once do not race."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(LEDGER.replace("INTEGER", "BIGINT"))
        done = {row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in pending(migrations, done):
            for statement in migration.statements():
                await connection.execute(statement)
            await connection.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                now_us(),
            )
            applied.append(migration.version)
        return applied
