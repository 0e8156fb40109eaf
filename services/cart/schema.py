"""The cart's tables (SQLAlchemy Core): terminals and carts."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

terminals = Table(
    "terminals",
    metadata,
    Column("key_id", String(32), primary_key=True),  # the public half of an API key
    Column("key_hash", String(64), nullable=False),  # sha256 of the secret half, hex
    Column("tenant_id", String(64), nullable=False),
    Column("store_code", String(64), nullable=False),
    Column("terminal_id", String(64), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

# A cart is one JSON document with its version: a write succeeds only on the version it read.
carts = Table(
    "carts",
    metadata,
    Column("cart_id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("store_code", String(64), nullable=False),
    Column("terminal_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    Index("carts_by_store", "tenant_id", "store_code"),
)

# The receipt number sequence of each terminal.
receipt_counters = Table(
    "receipt_counters",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("store_code", String(64), primary_key=True),
    Column("terminal_id", String(64), primary_key=True),
    Column("last_receipt_no", Integer, nullable=False),
)
