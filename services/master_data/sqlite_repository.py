"""ItemRepository on a SQLite file. Every query is parameterised; table and column names come
from the constants in `schema.py`, never from input. (Plain sqlite3 on threads rather than an
async driver: see services.common.sqlite_threads for the measurements.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from services.common.migrations import now_us
from services.common.sqlite_threads import SqliteThreads

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
from .schema import SQLITE_MIGRATIONS, TABLES

log = logging.getLogger(__name__)

_PRICED_ITEMS: Final = """
SELECT i.item_code, i.item_name,
       COALESCE(sp.unit_price, i.unit_price) AS unit_price,
       sp.unit_price IS NOT NULL AS store_price_applied,
       i.tax_code, i.category_code, i.is_active, i.discount_restricted, i.created_at_us,
       MAX(i.updated_at_us, COALESCE(sp.updated_at_us, 0)) AS updated_at_us,
       tr.name AS tax_rule_name, tr.tax_type, tr.rate_basis_points, tr.rounding_method
FROM items i
JOIN tax_rules tr ON tr.tenant_id = i.tenant_id AND tr.tax_code = i.tax_code
LEFT JOIN store_prices sp
  ON sp.tenant_id = i.tenant_id AND sp.store_code = ? AND sp.item_code = i.item_code
WHERE i.tenant_id = ? AND {where}
"""
_BY_CODES: Final = "i.item_code IN ({placeholders})"
_PAGE: Final = "i.is_active AND i.item_code > ? ORDER BY i.item_code LIMIT ?"
_STORE_CONTEXT: Final = """
SELECT t.currency_code, s.store_code, t.weighed_rounding
FROM tenants t LEFT JOIN stores s ON s.tenant_id = t.tenant_id AND s.store_code = ?
WHERE t.tenant_id = ?
"""


def _logged(r: sqlite3.Row) -> LoggedChange:
    entry = ChangeEntry(
        r["tenant_id"], r["store_code"], tuple(json.loads(r["item_codes"])), bool(r["all_items"])
    )
    return LoggedChange(r["sequence"], entry, r["committed_at_us"], r["trace_parent"])


def _execute(connection: sqlite3.Connection, run: list[MasterChange], now: int) -> None:
    first = run[0]
    if isinstance(first, Deletion):
        if connection.execute(TABLES[first.kind].delete(), first.key).rowcount == 0:
            raise EntryNotFound(first)
        return
    table = TABLES[type(first)]
    connection.executemany(
        table.upsert(),
        [row_values(change, now) for change in run if not isinstance(change, Deletion)],
    )


def _bump_version(connection: sqlite3.Connection) -> None:
    connection.execute("UPDATE catalog_version SET version = version + 1 WHERE id = 1")


def _log(
    connection: sqlite3.Connection, entries: list[ChangeEntry], now: int, trace_parent: str
) -> None:
    """Append the write's entries to the change log, and forget all but the last KEEP."""
    last = 0
    for e in entries:
        last = connection.execute(
            "INSERT INTO item_changes"
            " (tenant_id, store_code, item_codes, all_items, committed_at_us, trace_parent)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING sequence",
            (e.tenant_id, e.store_code, json.dumps(e.item_codes), e.all_items, now, trace_parent),
        ).fetchone()[0]
    if last > KEEP:
        connection.execute("DELETE FROM item_changes WHERE sequence <= ?", (last - KEEP,))


class SqliteItemRepository:
    """ItemRepository on a SQLite file (WAL; synchronous=NORMAL: a process crash loses no
    commit, and an admin write lost to a power cut can be written again)."""

    engine = "sqlite"  # db.system.name in traces

    def __init__(self, database: SqliteThreads) -> None:
        self._db = database

    @classmethod
    async def open(cls, path: Path, *, create: bool = False) -> SqliteItemRepository:
        """Open the database file with its tables (with `create`, a missing one is made)."""
        db = await SqliteThreads.open(path, SQLITE_MIGRATIONS, synchronous="NORMAL", create=create)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await self._db.ping()

    async def tenant_count(self) -> int:
        row = await self._db.read(lambda c: c.execute("SELECT count(*) FROM tenants").fetchone())
        return int(row[0])

    async def version(self) -> int:
        row = await self._db.read(
            lambda c: c.execute("SELECT version FROM catalog_version WHERE id = 1").fetchone()
        )
        return 0 if row is None else int(row[0])

    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext | None:
        row = await self._db.read(
            lambda c: c.execute(_STORE_CONTEXT, (store_code, tenant_id)).fetchone()
        )
        if row is None:
            return None
        return StoreContext(
            currency_code=row["currency_code"],
            store_known=row["store_code"] is not None,
            weighed_rounding=row["weighed_rounding"],
        )

    async def has(self, kind: type[MasterRecord], key: tuple[str, ...]) -> bool:
        query = TABLES[kind].exists()
        return await self._db.read(lambda c: c.execute(query, key).fetchone() is not None)

    async def priced_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> list[PricedItem]:
        codes = list(item_codes)
        where = _BY_CODES.format(placeholders=", ".join("?" for _ in codes))
        query = _PRICED_ITEMS.format(where=where)
        rows = await self._db.read(
            lambda c: c.execute(query, (store_code, tenant_id, *codes)).fetchall()
        )
        return [priced_item(r) for r in rows]

    async def store_items(
        self, tenant_id: str, store_code: str, after_code: str, limit: int
    ) -> list[PricedItem]:
        query = _PRICED_ITEMS.format(where=_PAGE)
        rows = await self._db.read(
            lambda c: c.execute(query, (store_code, tenant_id, after_code, limit)).fetchall()
        )
        return [priced_item(r) for r in rows]

    async def changes_after(
        self, sequence: int, tenant_ids: Sequence[str], limit: int
    ) -> list[LoggedChange]:
        tenants = list(tenant_ids)
        query = (
            "SELECT * FROM item_changes WHERE sequence > ?"  # noqa: S608 - placeholders only
            f" AND tenant_id IN ({', '.join('?' for _ in tenants)}) ORDER BY sequence LIMIT ?"
        )
        rows = await self._db.read(
            lambda c: c.execute(query, (sequence, *tenants, limit)).fetchall()
        )
        return [_logged(r) for r in rows]

    async def all_changes_after(self, sequence: int, limit: int) -> list[LoggedChange]:
        rows = await self._db.read(
            lambda c: c.execute(
                "SELECT * FROM item_changes WHERE sequence > ? ORDER BY sequence LIMIT ?",
                (sequence, limit),
            ).fetchall()
        )
        return [_logged(r) for r in rows]

    async def log_bounds(self) -> tuple[int, int]:
        row = await self._db.read(
            lambda c: c.execute("SELECT MIN(sequence), MAX(sequence) FROM item_changes").fetchone()
        )
        return (row[0] or 0, row[1] or 0)

    async def follow_changes(self, changed: Callable[[], None], check_seconds: float) -> None:
        """Poll the catalog version (another process may write the same file)."""
        seen: int | None = None
        while True:
            try:
                version = await self.version()
            except Exception:
                log.exception("could not read the catalog version")
            else:
                if seen is not None and version != seen:
                    changed()
                seen = version
            await asyncio.sleep(check_seconds)

    async def barcode_items(self, tenant_id: str, barcodes: Sequence[str]) -> dict[str, str]:
        marks = ", ".join("?" for _ in barcodes)
        query = (
            "SELECT barcode, item_code FROM barcodes"  # noqa: S608 - only placeholders joined
            f" WHERE tenant_id = ? AND barcode IN ({marks})"
        )
        rows = await self._db.read(lambda c: c.execute(query, (tenant_id, *barcodes)).fetchall())
        return {str(row[0]): str(row[1]) for row in rows}

    async def scan_layouts(self, tenant_id: str) -> list[ScanLayout]:
        rows = await self._db.read(lambda c: c.execute(_LAYOUTS, (tenant_id,)).fetchall())
        return [layout_of(dict(row)) for row in rows]

    async def apply(self, changes: Changes) -> int:
        now = now_us()
        read = reading(changes)
        traced = current_trace_parent()  # here: the writer thread has no trace context

        def batched(connection: sqlite3.Connection) -> int:
            scopes, count = WriteScopes(), 0
            for run in runs_of_one_kind(read()):  # read on this thread, a batch at a time
                for change in run:
                    scopes.add(target(change))
                _execute(connection, run, now)
                count += len(run)
            _bump_version(connection)
            _log(connection, scopes.entries(), now, traced)
            return count

        def one_by_one(connection: sqlite3.Connection) -> int:
            scopes, count = WriteScopes(), 0
            for index, change in enumerate(read()):
                scopes.add(target(change))
                try:
                    _execute(connection, [change], now)
                except sqlite3.IntegrityError as error:
                    raise ChangeRejected(index, change) from error
                count += 1
            _bump_version(connection)
            _log(connection, scopes.entries(), now, traced)
            return count

        try:
            return await self._db.write(batched)
        except sqlite3.IntegrityError:
            # A batch hides which change broke a reference: replay one by one (the failed
            # transaction rolled back) to name it.
            return await self._db.write(one_by_one)
