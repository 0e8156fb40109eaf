"""The item master's tables: common master (items), store master (store_prices), tax rules.

Timestamps are integer microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.common.migrations import Migration

from .records import (
    Barcode,
    Item,
    MasterRecord,
    ScanLayout,
    Store,
    StorePrice,
    TaxRule,
    Tenant,
)

# Migration 1: the schema as it was before migrations were recorded
# (docs/operations.md: schema changes).
DDL_V1: Final = """
CREATE TABLE IF NOT EXISTS tenants (
    tenant_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    currency_code TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stores (
    tenant_id  TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    store_code TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, store_code)
);
CREATE TABLE IF NOT EXISTS tax_rules (
    tenant_id         TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    tax_code          TEXT NOT NULL,
    name              TEXT NOT NULL,
    tax_type          TEXT NOT NULL,
    rate_basis_points INTEGER NOT NULL,
    rounding_method   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tax_code)
);
CREATE TABLE IF NOT EXISTS items (
    tenant_id     TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    item_code     TEXT NOT NULL,
    item_name     TEXT NOT NULL,
    unit_price    INTEGER NOT NULL,
    tax_code      TEXT NOT NULL,
    category_code TEXT NOT NULL,
    is_active     INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, item_code),
    -- an item keeps its tax rule: deleting a rule in use is refused
    FOREIGN KEY (tenant_id, tax_code) REFERENCES tax_rules (tenant_id, tax_code)
);
CREATE TABLE IF NOT EXISTS store_prices (
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    item_code     TEXT NOT NULL,
    unit_price    INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, store_code, item_code),
    FOREIGN KEY (tenant_id, store_code) REFERENCES stores ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, item_code) REFERENCES items ON DELETE CASCADE
);
-- One row, bumped by every write: other processes poll it to drop their read caches.
CREATE TABLE IF NOT EXISTS catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO catalog_version VALUES (1, 0);
"""
# Migration 2: the change log WatchItemChanges streams (services/master_data/change_entries.py).
CHANGE_LOG_V2: Final = """
CREATE TABLE item_changes (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT NOT NULL,
    store_code      TEXT NOT NULL,      -- '' for every store of the tenant
    item_codes      TEXT NOT NULL,      -- a JSON list, empty with all_items
    all_items       INTEGER NOT NULL,
    committed_at_us INTEGER NOT NULL
);
CREATE INDEX item_changes_by_tenant ON item_changes (tenant_id, sequence)
"""
# Migration 3: items a store may not discount (the contract's Item.discount_restricted).
DISCOUNT_RESTRICTED_V3: Final = """
ALTER TABLE items ADD COLUMN discount_restricted INTEGER NOT NULL DEFAULT 0
"""
# Migration 4: the write's trace context with each change (the contract's ItemChange.trace_parent).
TRACE_PARENT_V4: Final = """
ALTER TABLE item_changes ADD COLUMN trace_parent TEXT NOT NULL DEFAULT ''
"""
# Migration 5: barcodes (GTIN-14), one item each in a tenant; gone with their item.
BARCODES_V5: Final = """
CREATE TABLE barcodes (
    tenant_id TEXT NOT NULL,
    barcode   TEXT NOT NULL,
    item_code TEXT NOT NULL,
    PRIMARY KEY (tenant_id, barcode),
    FOREIGN KEY (tenant_id, item_code) REFERENCES items ON DELETE CASCADE
);
CREATE UNIQUE INDEX barcodes_with_item ON barcodes (tenant_id, barcode, item_code);
CREATE INDEX barcodes_by_item ON barcodes (tenant_id, item_code)
"""
# Migration 6: in-store code layouts; a prefix that overlaps another of the tenant is refused.
_LAYOUTS_TABLE: Final = """
CREATE TABLE scan_layouts (
    tenant_id         TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    layout_id         TEXT NOT NULL,
    prefix            TEXT NOT NULL,
    item_digits       INTEGER NOT NULL,
    embedded          TEXT NOT NULL,
    value_digits      INTEGER NOT NULL,
    decimals          INTEGER NOT NULL,
    unit              TEXT,
    price_check_digit {flag} NOT NULL,
    PRIMARY KEY (tenant_id, layout_id)
)"""
_OVERLAPPING: Final = """EXISTS (SELECT 1 FROM scan_layouts o WHERE o.tenant_id = NEW.tenant_id
    AND o.layout_id <> NEW.layout_id AND (substr(o.prefix, 1, length(NEW.prefix)) = NEW.prefix
    OR substr(NEW.prefix, 1, length(o.prefix)) = o.prefix))"""
SCAN_LAYOUTS_V6: Final = (
    _LAYOUTS_TABLE.format(flag="INTEGER"),
    *(
        f"CREATE TRIGGER scan_layouts_{event.lower()} BEFORE {event} ON scan_layouts"
        f" WHEN {_OVERLAPPING} BEGIN"
        " SELECT RAISE(ABORT, 'the prefix overlaps another layout of the tenant'); END"
        for event in ("INSERT", "UPDATE")
    ),
)
# Migration 7: how each tenant rounds a weighed line's amount.
WEIGHED_ROUNDING_V7: Final = """
ALTER TABLE tenants ADD COLUMN weighed_rounding TEXT NOT NULL DEFAULT 'HALF_UP'
"""
SQLITE_MIGRATIONS: Final = (
    Migration(1, "tenants, stores, tax rules, items, store prices", DDL_V1),
    Migration(2, "item change log", CHANGE_LOG_V2),
    Migration(3, "items a store may not discount", DISCOUNT_RESTRICTED_V3),
    Migration(4, "the trace context of each change", TRACE_PARENT_V4),
    Migration(5, "barcodes", BARCODES_V5),
    Migration(6, "in-store code layouts", SCAN_LAYOUTS_V6),
    Migration(7, "how a tenant rounds a weighed line", WEIGHED_ROUNDING_V7),
)

# The same schema on PostgreSQL: 64-bit integers for money and times, a real boolean.
PG_DDL_V1: Final = """
CREATE TABLE IF NOT EXISTS tenants (
    tenant_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    currency_code TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stores (
    tenant_id  TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    store_code TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, store_code)
);
CREATE TABLE IF NOT EXISTS tax_rules (
    tenant_id         TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    tax_code          TEXT NOT NULL,
    name              TEXT NOT NULL,
    tax_type          TEXT NOT NULL,
    rate_basis_points INTEGER NOT NULL,
    rounding_method   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tax_code)
);
CREATE TABLE IF NOT EXISTS items (
    tenant_id     TEXT NOT NULL REFERENCES tenants ON DELETE CASCADE,
    item_code     TEXT NOT NULL,
    item_name     TEXT NOT NULL,
    unit_price    BIGINT NOT NULL,
    tax_code      TEXT NOT NULL,
    category_code TEXT NOT NULL,
    is_active     BOOLEAN NOT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item_code),
    FOREIGN KEY (tenant_id, tax_code) REFERENCES tax_rules (tenant_id, tax_code)
);
CREATE TABLE IF NOT EXISTS store_prices (
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    item_code     TEXT NOT NULL,
    unit_price    BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, store_code, item_code),
    FOREIGN KEY (tenant_id, store_code) REFERENCES stores ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, item_code) REFERENCES items ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_version VALUES (1, 0) ON CONFLICT DO NOTHING
"""
# Writers take an advisory lock before appending (PostgresItemRepository.apply), so sequences
# commit in their own order and a reader never skips one still in flight.
PG_CHANGE_LOG_V2: Final = """
CREATE TABLE item_changes (
    sequence        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    store_code      TEXT NOT NULL,
    item_codes      TEXT[] NOT NULL,
    all_items       BOOLEAN NOT NULL,
    committed_at_us BIGINT NOT NULL
);
CREATE INDEX item_changes_by_tenant ON item_changes (tenant_id, sequence)
"""
PG_DISCOUNT_RESTRICTED_V3: Final = """
ALTER TABLE items ADD COLUMN discount_restricted BOOLEAN NOT NULL DEFAULT false
"""
# Writers of layouts take the table's lock first, so two overlapping ones never both commit.
PG_SCAN_LAYOUTS_V6: Final = (
    _LAYOUTS_TABLE.format(flag="BOOLEAN"),
    f"""CREATE FUNCTION scan_layouts_apart() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE scan_layouts IN SHARE ROW EXCLUSIVE MODE;
    IF {_OVERLAPPING} THEN
        RAISE EXCEPTION 'the prefix overlaps another layout of the tenant'
            USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NEW;
END $$""",
    "CREATE TRIGGER scan_layouts_apart BEFORE INSERT OR UPDATE ON scan_layouts"
    " FOR EACH ROW EXECUTE FUNCTION scan_layouts_apart()",
)
PG_MIGRATIONS: Final = (
    Migration(1, "tenants, stores, tax rules, items, store prices", PG_DDL_V1),
    Migration(2, "item change log", PG_CHANGE_LOG_V2),
    Migration(3, "items a store may not discount", PG_DISCOUNT_RESTRICTED_V3),
    Migration(4, "the trace context of each change", TRACE_PARENT_V4),
    Migration(5, "barcodes", BARCODES_V5),
    Migration(6, "in-store code layouts", PG_SCAN_LAYOUTS_V6),
    Migration(7, "how a tenant rounds a weighed line", WEIGHED_ROUNDING_V7),
)


@dataclass(frozen=True, slots=True)
class TableOf:
    """Where a record type is stored: its table, key columns, and the columns it writes."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    stamps: tuple[str, ...] = ()  # written with the time of the write
    # Written once, never moved: the same row again is no change, the key with other values a
    # constraint violation (a barcode is not taken from one item by giving it to another).
    write_once: bool = False

    def upsert(self, numbered: bool = False) -> str:
        """INSERT ... ON CONFLICT DO UPDATE: every column but the key and created_at_us.
        Parameters are `?` (SQLite), or `$1, $2, ...` when numbered (PostgreSQL)."""
        names = (*self.columns, *self.stamps)
        insert = (
            f"INSERT INTO {self.table} ({', '.join(names)})"  # noqa: S608 - names are constants
            f" VALUES ({', '.join(_parameters(len(names), numbered))})"
        )
        if self.write_once:  # the conflict target is every column: a unique index of its own
            return f"{insert} ON CONFLICT ({', '.join(self.columns)}) DO NOTHING"
        updates = [n for n in names if n not in self.key and n != "created_at_us"]
        return f"{insert} ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET " + ", ".join(
            f"{n} = excluded.{n}" for n in updates
        )

    def exists(self, numbered: bool = False) -> str:
        parameters = _parameters(len(self.key), numbered)
        where = " AND ".join(f"{k} = {p}" for k, p in zip(self.key, parameters, strict=True))
        return f"SELECT 1 FROM {self.table} WHERE {where}"  # noqa: S608 - names are constants

    def delete(self, numbered: bool = False) -> str:
        parameters = _parameters(len(self.key), numbered)
        where = " AND ".join(f"{k} = {p}" for k, p in zip(self.key, parameters, strict=True))
        return f"DELETE FROM {self.table} WHERE {where}"  # noqa: S608 - names are constants


def _parameters(count: int, numbered: bool) -> list[str]:
    return [f"${n}" if numbered else "?" for n in range(1, count + 1)]


TABLES: Final[dict[type[MasterRecord], TableOf]] = {
    Tenant: TableOf(
        "tenants", ("tenant_id",), ("tenant_id", "name", "currency_code", "weighed_rounding")
    ),
    Store: TableOf("stores", ("tenant_id", "store_code"), ("tenant_id", "store_code", "name")),
    TaxRule: TableOf(
        "tax_rules",
        ("tenant_id", "tax_code"),
        ("tenant_id", "tax_code", "name", "tax_type", "rate_basis_points", "rounding_method"),
    ),
    Item: TableOf(
        "items",
        ("tenant_id", "item_code"),
        (
            "tenant_id",
            "item_code",
            "item_name",
            "unit_price",
            "tax_code",
            "category_code",
            "is_active",
            "discount_restricted",
        ),
        stamps=("created_at_us", "updated_at_us"),
    ),
    StorePrice: TableOf(
        "store_prices",
        ("tenant_id", "store_code", "item_code"),
        ("tenant_id", "store_code", "item_code", "unit_price"),
        stamps=("updated_at_us",),
    ),
    Barcode: TableOf(
        "barcodes",
        ("tenant_id", "barcode"),
        ("tenant_id", "barcode", "item_code"),
        write_once=True,
    ),
    ScanLayout: TableOf(
        "scan_layouts",
        ("tenant_id", "layout_id"),
        (
            "tenant_id",
            "layout_id",
            "prefix",
            "item_digits",
            "embedded",
            "value_digits",
            "decimals",
            "unit",
            "price_check_digit",
        ),
    ),
}
