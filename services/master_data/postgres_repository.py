"""ItemRepository on PostgreSQL, shared by every master-data replica.

Each write bumps the catalog version and sends NOTIFY on CHANNEL in its own transaction, so
PostgreSQL delivers it at commit to every replica that LISTENs (`follow_changes`): their read
caches drop at once, not at the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Final

import asyncpg

from services.common import postgres

from .change_entries import KEEP, ChangeEntry, LoggedChange, WriteScopes, current_trace_parent
from .records import MasterRecord, ScanLayout
from .repository import (
    ChangeRejected,
    Changes,
    Deletion,
    EntryNotFound,
    MasterChange,
    PricedItem,
    StoreContext,
    reading,
)
from .repository_rows import (
    LAYOUTS as _LAYOUTS,
)
from .repository_rows import (
    layout_of,
    priced_item,
    row_values,
    runs_of_one_kind,
    target,
)
from .schema import PG_MIGRATIONS, TABLES

log = logging.getLogger(__name__)

CHANNEL: Final = "master_data_changed"
RECONNECT_SECONDS: Final = 1.0

_PRICED_ITEMS: Final = """
SELECT i.item_code, i.item_name,
       COALESCE(sp.unit_price, i.unit_price) AS unit_price,
       sp.unit_price IS NOT NULL AS store_price_applied,
       i.tax_code, i.category_code, i.is_active, i.discount_restricted, i.created_at_us,
       GREATEST(i.updated_at_us, COALESCE(sp.updated_at_us, 0)) AS updated_at_us,
       tr.name AS tax_rule_name, tr.tax_type, tr.rate_basis_points, tr.rounding_method
FROM items i
JOIN tax_rules tr ON tr.tenant_id = i.tenant_id AND tr.tax_code = i.tax_code
LEFT JOIN store_prices sp
  ON sp.tenant_id = i.tenant_id AND sp.store_code = $1 AND sp.item_code = i.item_code
WHERE i.tenant_id = $2 AND {where}
"""
_BY_CODES: Final = _PRICED_ITEMS.format(where="i.item_code = ANY($3::text[])")
_PAGE: Final = _PRICED_ITEMS.format(
    where="i.is_active AND i.item_code > $3 ORDER BY i.item_code LIMIT $4"
)
_STORE_CONTEXT: Final = """
SELECT t.currency_code, s.store_code, t.weighed_rounding
FROM tenants t LEFT JOIN stores s ON s.tenant_id = t.tenant_id AND s.store_code = $1
WHERE t.tenant_id = $2
"""
_BUMP: Final = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
# Held to the commit by every write: change-log sequences then commit in their own order.
_LOG_LOCK: Final = 0x6B75_6765_6C_02
_LOG: Final = """
INSERT INTO item_changes
    (tenant_id, store_code, item_codes, all_items, committed_at_us, trace_parent)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING sequence
"""


async def _execute(connection: postgres.Connection, run: list[MasterChange], now: int) -> None:
    first = run[0]
    if isinstance(first, Deletion):
        status = await connection.execute(TABLES[first.kind].delete(numbered=True), *first.key)
        if status.endswith(" 0"):  # "DELETE 0"
            raise EntryNotFound(first)
        return
    await connection.executemany(
        TABLES[type(first)].upsert(numbered=True),
        [row_values(change, now) for change in run if not isinstance(change, Deletion)],
    )


def _logged(r: asyncpg.Record) -> LoggedChange:
    entry = ChangeEntry(r["tenant_id"], r["store_code"], tuple(r["item_codes"]), r["all_items"])
    return LoggedChange(r["sequence"], entry, r["committed_at_us"], r["trace_parent"])


class PostgresItemRepository:
    """ItemRepository on a PostgreSQL database (a pool of `pool_size` connections)."""

    engine = "postgresql"  # db.system.name in traces

    def __init__(self, pool: postgres.Pool, url: str) -> None:
        self._pool = pool
        self._url = url

    @classmethod
    async def open(cls, url: str, pool_size: int) -> PostgresItemRepository:
        return cls(await postgres.open_pool(url, pool_size, PG_MIGRATIONS), url)

    async def close(self) -> None:
        await asyncio.wait_for(self._pool.close(), postgres.COMMAND_TIMEOUT_SECONDS)

    @postgres.outages_reported
    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    @postgres.outages_reported
    async def tenant_count(self) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM tenants"))

    @postgres.outages_reported
    async def version(self) -> int:
        value = await self._pool.fetchval("SELECT version FROM catalog_version WHERE id = 1")
        return 0 if value is None else int(value)

    @postgres.outages_reported
    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext | None:
        row = await self._pool.fetchrow(_STORE_CONTEXT, store_code, tenant_id)
        if row is None:
            return None
        return StoreContext(
            currency_code=row["currency_code"],
            store_known=row["store_code"] is not None,
            weighed_rounding=row["weighed_rounding"],
        )

    @postgres.outages_reported
    async def has(self, kind: type[MasterRecord], key: tuple[str, ...]) -> bool:
        return await self._pool.fetchval(TABLES[kind].exists(numbered=True), *key) is not None

    @postgres.outages_reported
    async def priced_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> list[PricedItem]:
        rows = await self._pool.fetch(_BY_CODES, store_code, tenant_id, list(item_codes))
        return [priced_item(r) for r in rows]

    @postgres.outages_reported
    async def store_items(
        self, tenant_id: str, store_code: str, after_code: str, limit: int
    ) -> list[PricedItem]:
        rows = await self._pool.fetch(_PAGE, store_code, tenant_id, after_code, limit)
        return [priced_item(r) for r in rows]

    @postgres.outages_reported
    @postgres.outages_reported
    async def barcode_items(self, tenant_id: str, barcodes: Sequence[str]) -> dict[str, str]:
        rows = await self._pool.fetch(
            "SELECT barcode, item_code FROM barcodes WHERE tenant_id = $1 AND barcode = ANY($2)",
            tenant_id,
            list(barcodes),
        )
        return {str(row[0]): str(row[1]) for row in rows}

    @postgres.outages_reported
    async def scan_layouts(self, tenant_id: str) -> list[ScanLayout]:
        rows = await self._pool.fetch(_LAYOUTS.replace("?", "$1"), tenant_id)
        return [layout_of(dict(row)) for row in rows]

    async def apply(self, changes: Changes) -> int:
        now = postgres.now_us()
        read = reading(changes)
        traced = current_trace_parent()
        async with self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection:
            try:
                async with connection.transaction():
                    scopes, count = WriteScopes(), 0
                    for run in runs_of_one_kind(read()):
                        for change in run:
                            scopes.add(target(change))
                        await _execute(connection, run, now)
                        count += len(run)
                    await self._changed(connection, scopes.entries(), now, traced)
            except asyncpg.IntegrityConstraintViolationError:
                # A batch hides which change broke a reference: replay one by one (the failed
                # transaction rolled back) to name it.
                async with connection.transaction():
                    scopes, count = WriteScopes(), 0
                    for index, change in enumerate(read()):
                        scopes.add(target(change))
                        try:
                            await _execute(connection, [change], now)
                        except asyncpg.IntegrityConstraintViolationError as error:
                            raise ChangeRejected(index, change) from error
                        count += 1
                    await self._changed(connection, scopes.entries(), now, traced)
        return count

    @staticmethod
    async def _changed(
        connection: postgres.Connection, entries: list[ChangeEntry], now: int, trace_parent: str
    ) -> None:
        """Bump the version, append to the change log, and NOTIFY (sent at the commit)."""
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOG_LOCK)
        await connection.execute(_BUMP)
        last = 0
        for e in entries:
            last = await connection.fetchval(
                _LOG, e.tenant_id, e.store_code, list(e.item_codes), e.all_items, now,
                trace_parent,
            )  # fmt: skip
        if last > KEEP:
            await connection.execute("DELETE FROM item_changes WHERE sequence <= $1", last - KEEP)
        await connection.execute("SELECT pg_notify($1, '')", CHANNEL)

    @postgres.outages_reported
    async def changes_after(
        self, sequence: int, tenant_ids: Sequence[str], limit: int
    ) -> list[LoggedChange]:
        rows = await self._pool.fetch(
            "SELECT * FROM item_changes WHERE sequence > $1 AND tenant_id = ANY($2::text[])"
            " ORDER BY sequence LIMIT $3",
            sequence,
            list(tenant_ids),
            limit,
        )
        return [_logged(r) for r in rows]

    @postgres.outages_reported
    async def all_changes_after(self, sequence: int, limit: int) -> list[LoggedChange]:
        rows = await self._pool.fetch(
            "SELECT * FROM item_changes WHERE sequence > $1 ORDER BY sequence LIMIT $2",
            sequence,
            limit,
        )
        return [_logged(r) for r in rows]

    @postgres.outages_reported
    async def log_bounds(self) -> tuple[int, int]:
        row = await self._pool.fetchrow("SELECT MIN(sequence), MAX(sequence) FROM item_changes")
        return (row[0] or 0, row[1] or 0) if row is not None else (0, 0)

    async def follow_changes(self, changed: Callable[[], None], check_seconds: float) -> None:
        """LISTEN on its own connection; every `check_seconds` a query checks that connection is
        alive. A lost connection may have missed notifications: `changed` then, and again once
        listening again."""
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await postgres.connect(self._url)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, lambda *_: changed())
                changed()  # anything written while nobody listened
                log.info("now listening for master data changes")
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), check_seconds)
                    except TimeoutError:
                        await connection.fetchval("SELECT 1", timeout=check_seconds + 5)
                log.warning("the connection listening for master data changes was lost: retrying")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("listening for master data changes failed (%s): retrying", error)
            finally:
                if connection is not None:
                    connection.terminate()
            changed()
            await asyncio.sleep(RECONNECT_SECONDS)
