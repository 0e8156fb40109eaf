"""The item master's tables (SQLAlchemy Core): common master, store master, tax rules."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency_code", String(3), nullable=False),
)

stores = Table(
    "stores",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("store_code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
)

tax_rules = Table(
    "tax_rules",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("tax_code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tax_type", String(16), nullable=False),
    Column("rate_basis_points", Integer, nullable=False),
    Column("rounding_method", String(16), nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
)

# Timestamps are integer microseconds since the Unix epoch, UTC.
items = Table(
    "items",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("item_name", String(200), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("tax_code", String(64), nullable=False),
    Column("category_code", String(64), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
    # An item keeps its tax rule: deleting a rule in use is refused.
    ForeignKeyConstraint(["tenant_id", "tax_code"], ["tax_rules.tenant_id", "tax_rules.tax_code"]),
)

store_prices = Table(
    "store_prices",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("store_code", String(64), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("unit_price", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "store_code"], ["stores.tenant_id", "stores.store_code"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "item_code"], ["items.tenant_id", "items.item_code"], ondelete="CASCADE"
    ),
)

# One row, bumped by every write: other processes poll it to drop their read caches.
catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)
