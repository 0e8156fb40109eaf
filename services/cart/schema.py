"""The cart's schema on both engines, side by side: numbered migrations for SQLite and for
PostgreSQL (services.common.migrations applies them once each, in order)."""

from __future__ import annotations

from typing import Final

from services.common.migrations import Migration

# Migration 1: the schema as it was before migrations were recorded
# (docs/operations.md: schema changes).
SQLITE_SCHEMA_V1: Final = """
CREATE TABLE IF NOT EXISTS terminals (
    key_id        TEXT PRIMARY KEY,  -- the public half of an API key
    key_hash      TEXT NOT NULL,     -- sha256 of the secret half, hex
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    created_at_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS carts (
    cart_id       TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    state         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    document      TEXT NOT NULL,     -- the cart as JSON
    updated_at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS carts_by_store ON carts (tenant_id, store_code);
CREATE TABLE IF NOT EXISTS receipt_counters (
    tenant_id       TEXT NOT NULL,
    store_code      TEXT NOT NULL,
    terminal_id     TEXT NOT NULL,
    last_receipt_no INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, store_code, terminal_id)
);
"""


# Migration 2: the items of preloaded stores (PRELOAD_STORES), each kept as the cart's JSON.
PRELOAD_V2: Final = """
CREATE TABLE preloaded_stores (
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    sequence      BIGINT NOT NULL,  -- the change-log position the copy is current at
    loaded_at_us  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, store_code)
);
CREATE TABLE preloaded_items (
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    item_code     TEXT NOT NULL,
    document      TEXT NOT NULL,    -- the item as the cart knows it, JSON
    PRIMARY KEY (tenant_id, store_code, item_code)
)
"""
# Migration 3: each Idempotency-Key a terminal sent with a change, stored with the change.
IDEMPOTENCY_V3: Final = """
CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,    -- the terminal's API key id
    idem_key      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,    -- sha256 of the request's method, path and body
    document      TEXT NOT NULL,    -- the cart as the change left it: the answer to repeat
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_us)
"""
# Migration 4: a terminal's carts by state, for the cap on open carts (MAX_OPEN_CARTS).
CARTS_BY_TERMINAL_V4: Final = """
CREATE INDEX carts_by_terminal ON carts (tenant_id, store_code, terminal_id, state)
"""
# Migration 5: a cart's lines as rows of their own, so a scan writes its line and the cart's
# header, not the whole cart (a 500-line cart rewrote 141 KB per scan). A cart stored before
# keeps its whole document (a header that holds its lines) until its next save moves them.
LINE_ROWS_V5: Final = """
CREATE TABLE cart_lines (
    cart_id       TEXT NOT NULL,
    line_no       INTEGER NOT NULL,
    document      TEXT NOT NULL,    -- the line as JSON, as the API shows it
    PRIMARY KEY (cart_id, line_no)
)
"""
# Migration 6: every bill, cancel, void and return as a transaction; a sale's status (its void,
# the quantities returned of each line) beside its content, under a version of its own. A
# receipt number is taken once per terminal: the unique index holds it.
TRANSACTIONS_V6: Final = """
CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    store_code     TEXT NOT NULL,
    terminal_id    TEXT NOT NULL,
    type           TEXT NOT NULL,     -- sale, cancel, void, return
    receipt_no     BIGINT NOT NULL,
    business_date  TEXT NOT NULL,     -- YYYY-MM-DD in BUSINESS_TIMEZONE
    created_at_us  BIGINT NOT NULL,
    original_id    TEXT,              -- the sale a void or return reverses
    document       TEXT NOT NULL,     -- the transaction as JSON, without the status below
    void_id        TEXT,              -- a sale's void
    returned       TEXT NOT NULL DEFAULT '{}',  -- a sale's returned quantity per line, JSON
    version        BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX transactions_by_receipt
    ON transactions (tenant_id, store_code, terminal_id, receipt_no);
CREATE INDEX transactions_by_store ON transactions (tenant_id, store_code, created_at_us)
"""
SQLITE_MIGRATIONS: Final = (
    Migration(1, "terminals, carts, receipt counters", SQLITE_SCHEMA_V1),
    Migration(2, "preloaded stores and their items", PRELOAD_V2),
    Migration(3, "idempotency keys", IDEMPOTENCY_V3),
    Migration(4, "carts by terminal and state", CARTS_BY_TERMINAL_V4),
    Migration(5, "cart lines as rows", LINE_ROWS_V5),
    Migration(6, "transactions", TRANSACTIONS_V6),
)


PG_SCHEMA_V1: Final = """
CREATE TABLE IF NOT EXISTS terminals (
    key_id        TEXT PRIMARY KEY,
    key_hash      TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS carts (
    cart_id       TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    store_code    TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    state         TEXT NOT NULL,
    version       BIGINT NOT NULL,
    document      TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS carts_by_store ON carts (tenant_id, store_code);
CREATE TABLE IF NOT EXISTS receipt_counters (
    tenant_id       TEXT NOT NULL,
    store_code      TEXT NOT NULL,
    terminal_id     TEXT NOT NULL,
    last_receipt_no BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, store_code, terminal_id)
)
"""
PG_MIGRATIONS: Final = (
    Migration(1, "terminals, carts, receipt counters", PG_SCHEMA_V1),
    Migration(2, "preloaded stores and their items", PRELOAD_V2),
    Migration(3, "idempotency keys", IDEMPOTENCY_V3),
    Migration(4, "carts by terminal and state", CARTS_BY_TERMINAL_V4),
    Migration(5, "cart lines as rows", LINE_ROWS_V5),
    Migration(6, "transactions", TRANSACTIONS_V6),
)
