"""Access to the item master: a small interface and its SQL implementation.

The service layer sees only `ItemRepository`; `SqlItemRepository` works on SQLite (the embedded
default) through SQLAlchemy Core, so a PostgreSQL backend is a new engine URL and dialect insert,
not a new service layer. Every query is parameterised.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, delete, event, func, select, text, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from . import schema
from .records import Item, MasterRecord, Store, StorePrice, TaxRule, Tenant


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What a lookup needs to know of the asked store; store_known is False for an unknown one."""

    currency_code: str
    store_known: bool


@dataclass(frozen=True, slots=True)
class PricedItem:
    """An item as one store sells it: the store price applied, with its tax rule."""

    item_code: str
    item_name: str
    unit_price: int
    store_price_applied: bool
    tax_code: str
    category_code: str
    is_active: bool
    created_at_us: int
    updated_at_us: int
    tax_rule_name: str
    tax_type: str
    rate_basis_points: int
    rounding_method: str


@dataclass(frozen=True, slots=True)
class Deletion:
    """Removes one entry: `kind` names the record type, `key` its primary key in table order."""

    kind: type[MasterRecord]
    key: tuple[str, ...]


MasterChange = MasterRecord | Deletion


class ChangeRejected(Exception):
    """A change broke a reference (an unknown tenant, store, item or tax rule, or one in use)."""

    def __init__(self, index: int, change: MasterChange) -> None:
        super().__init__(f"change {index} breaks a reference: {change!r}")
        self.index = index
        self.change = change


class EntryNotFound(Exception):
    """A deletion named an entry that does not exist."""

    def __init__(self, change: Deletion) -> None:
        super().__init__(f"no {change.kind.__name__} {'/'.join(change.key)}")
        self.change = change


class ItemRepository(Protocol):
    """What master-data needs of its storage."""

    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext | None:
        """The tenant's currency and whether the store exists; None for an unknown tenant."""
        ...

    async def priced_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> list[PricedItem]:
        """The items that exist among item_codes, priced for the store."""
        ...

    async def apply(self, changes: Sequence[MasterChange]) -> int:
        """Apply all changes in one transaction, or none (raises ChangeRejected, EntryNotFound)."""
        ...

    async def version(self) -> int:
        """A number that changes whenever any process applied a change."""
        ...

    async def ping(self) -> None:
        """Raise when the database cannot be reached."""
        ...

    async def close(self) -> None: ...


_TABLES: dict[type[MasterRecord], Any] = {
    Tenant: schema.tenants,
    Store: schema.stores,
    TaxRule: schema.tax_rules,
    Item: schema.items,
    StorePrice: schema.store_prices,
}


def _now_us() -> int:
    return time.time_ns() // 1000


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no commit
    cursor.close()


class SqlItemRepository:
    """ItemRepository on SQLAlchemy Core; `open_sqlite` makes one on a SQLite file."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open_sqlite(cls, path: Path) -> SqlItemRepository:
        """Open (creating if need be) the database file in WAL mode, with its tables."""
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        async with engine.begin() as conn:
            await conn.execute(text("PRAGMA journal_mode=WAL"))
            await conn.run_sync(schema.metadata.create_all)
            await conn.execute(
                insert(schema.catalog_version).values(id=1, version=0).on_conflict_do_nothing()
            )
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    async def version(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(schema.catalog_version.c.version)) or 0)

    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext | None:
        t, s = schema.tenants, schema.stores
        query = (
            select(t.c.currency_code, s.c.store_code)
            .select_from(
                t.outerjoin(s, and_(s.c.tenant_id == t.c.tenant_id, s.c.store_code == store_code))
            )
            .where(t.c.tenant_id == tenant_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StoreContext(currency_code=row.currency_code, store_known=row.store_code is not None)

    async def priced_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> list[PricedItem]:
        i, sp, tr = schema.items, schema.store_prices, schema.tax_rules
        query = (
            select(
                i.c.item_code,
                i.c.item_name,
                func.coalesce(sp.c.unit_price, i.c.unit_price).label("unit_price"),
                sp.c.unit_price.is_not(None).label("store_price_applied"),
                i.c.tax_code,
                i.c.category_code,
                i.c.is_active,
                i.c.created_at_us,
                func.max(i.c.updated_at_us, func.coalesce(sp.c.updated_at_us, 0)).label(
                    "updated_at_us"
                ),
                tr.c.name.label("tax_rule_name"),
                tr.c.tax_type,
                tr.c.rate_basis_points,
                tr.c.rounding_method,
            )
            .select_from(
                i.join(
                    tr, and_(tr.c.tenant_id == i.c.tenant_id, tr.c.tax_code == i.c.tax_code)
                ).outerjoin(
                    sp,
                    and_(
                        sp.c.tenant_id == i.c.tenant_id,
                        sp.c.store_code == store_code,
                        sp.c.item_code == i.c.item_code,
                    ),
                )
            )
            .where(i.c.tenant_id == tenant_id, i.c.item_code.in_(list(item_codes)))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            PricedItem(
                item_code=r.item_code,
                item_name=r.item_name,
                unit_price=int(r.unit_price),
                store_price_applied=bool(r.store_price_applied),
                tax_code=r.tax_code,
                category_code=r.category_code,
                is_active=bool(r.is_active),
                created_at_us=int(r.created_at_us),
                updated_at_us=int(r.updated_at_us),
                tax_rule_name=r.tax_rule_name,
                tax_type=r.tax_type,
                rate_basis_points=int(r.rate_basis_points),
                rounding_method=r.rounding_method,
            )
            for r in rows
        ]

    async def apply(self, changes: Sequence[MasterChange]) -> int:
        try:
            await self._apply_all(changes, batched=True)
        except IntegrityError:
            # Batches are fast but hide which change broke a reference: replay one by one
            # (in a new transaction, the failed one having rolled back) to name it.
            await self._apply_all(changes, batched=False)
        return len(changes)

    async def _apply_all(self, changes: Sequence[MasterChange], *, batched: bool) -> None:
        now = _now_us()
        async with self._engine.begin() as conn:
            if batched:
                for run in _runs_of_one_kind(changes):
                    await self._execute(conn, run, now)
            else:
                for index, change in enumerate(changes):
                    try:
                        await self._execute(conn, [change], now)
                    except IntegrityError as error:
                        raise ChangeRejected(index, change) from error
            await conn.execute(
                update(schema.catalog_version)
                .where(schema.catalog_version.c.id == 1)
                .values(version=schema.catalog_version.c.version + 1)
            )

    async def _execute(self, conn: AsyncConnection, run: list[MasterChange], now: int) -> None:
        first = run[0]
        if isinstance(first, Deletion):
            table = _TABLES[first.kind]
            key_columns = list(table.primary_key.columns)
            result = await conn.execute(
                delete(table).where(
                    and_(*(c == v for c, v in zip(key_columns, first.key, strict=True)))
                )
            )
            if result.rowcount == 0:
                raise EntryNotFound(first)
            return
        table = _TABLES[type(first)]
        rows = [_row(change, table, now) for change in run if not isinstance(change, Deletion)]
        statement = insert(table)
        keys = [c.name for c in table.primary_key.columns]
        # On conflict every column but the key and created_at takes the new value.
        kept = {*keys, "created_at_us"}
        updates = {name: statement.excluded[name] for name in rows[0] if name not in kept}
        await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)


_BATCH_SIZE = 500


def _runs_of_one_kind(changes: Sequence[MasterChange]) -> list[list[MasterChange]]:
    """Consecutive upserts of one record type, in batches; every deletion alone."""
    runs: list[list[MasterChange]] = []
    for change in changes:
        last = runs[-1] if runs else None
        if (
            last is not None
            and not isinstance(change, Deletion)
            and type(last[0]) is type(change)
            and len(last) < _BATCH_SIZE
        ):
            last.append(change)
        else:
            runs.append([change])
    return runs


def _row(record: MasterRecord, table: Any, now: int) -> dict[str, Any]:
    row = record.model_dump(mode="json")  # enums as their names
    if "updated_at_us" in table.c:
        row["updated_at_us"] = now
    if "created_at_us" in table.c:
        row["created_at_us"] = now
    return row
