"""Schema migrations: a database made before migrations were recorded keeps its data, each
migration runs once, an upgrade keeps the data, and a newer database is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.cart.schema import SQLITE_MIGRATIONS as CART_MIGRATIONS
from services.cart.sqlite_repository import SqliteCartRepository
from services.common.migrations import Migration, SchemaTooNew, migrate
from services.master_data.schema import SQLITE_MIGRATIONS as MASTER_MIGRATIONS
from services.master_data.sqlite_repository import SqliteItemRepository


def made_by_the_previous_release(path: Path, migration: Migration, rows: list[str]) -> None:
    """A database as the release before migrations left it: its tables, no ledger."""
    with sqlite3.connect(path) as connection:
        for statement in migration.statements():
            connection.execute(statement)
        for row in rows:
            connection.execute(row)


def ledger(path: Path) -> list[int]:
    with sqlite3.connect(path) as connection:
        return [r[0] for r in connection.execute("SELECT version FROM schema_migrations")]


async def test_a_cart_database_from_before_migrations_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "cart.db"
    made_by_the_previous_release(
        path,
        CART_MIGRATIONS[0],
        [
            "INSERT INTO terminals VALUES ('k1', 'h', 'T0001', 'S001', 'R01', 1)",
            "INSERT INTO carts VALUES ('c1', 'T0001', 'S001', 'R01', 'initial', 1, "
            '\'{"cartId": "c1", "tenantId": "T0001", "storeCode": "S001", '
            '"terminalId": "R01", "version": 1, "createdAt": "2026-11-01T00:00:00Z", '
            '"updatedAt": "2026-11-01T00:00:00Z"}\', 1)',
        ],
    )
    repository = await SqliteCartRepository.open(path, create=True)
    try:
        found = await repository.find_terminal("k1")
        assert found is not None
        assert found[0].terminal_id == "R01"
        cart = await repository.load("c1")
        assert cart is not None
        assert cart.version == 1
    finally:
        await repository.close()
    assert ledger(path) == [1, 2, 3, 4, 5, 6]
    await (await SqliteCartRepository.open(path, create=True)).close()  # again: nothing to apply
    assert ledger(path) == [1, 2, 3, 4, 5, 6]


async def test_a_master_database_from_before_migrations_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "master.db"
    made_by_the_previous_release(
        path, MASTER_MIGRATIONS[0], ["INSERT INTO tenants VALUES ('T0001', 'Kugel Mart', 'JPY')"]
    )
    repository = await SqliteItemRepository.open(path, create=True)
    try:
        context = await repository.store_context("T0001", "S001")
        assert context is not None
        assert context.currency_code == "JPY"
    finally:
        await repository.close()
    assert ledger(path) == [1, 2, 3, 4, 5, 6, 7]  # the change log came with 2, discount_restricted
    # with 3, the changes' trace context with 4, barcodes with 5, in-store layouts
    # with 6, the tenant's weighed rounding with 7


def test_an_upgrade_applies_only_the_new_migration_and_keeps_the_data(tmp_path: Path) -> None:
    first = Migration(1, "t", "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
    second = Migration(2, "t.note", "ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    with sqlite3.connect(tmp_path / "t.db") as connection:
        assert migrate(connection, [first]) == [1]
        connection.execute("INSERT INTO t (k) VALUES (7)")
        assert migrate(connection, [first, second]) == [2]
        assert migrate(connection, [first, second]) == []
        assert connection.execute("SELECT k, note FROM t").fetchall() == [(7, "")]


def test_a_database_migrated_by_a_newer_release_is_refused(tmp_path: Path) -> None:
    first = Migration(1, "t", "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
    with sqlite3.connect(tmp_path / "t.db") as connection:
        migrate(connection, [first, Migration(2, "u", "CREATE TABLE u (k INTEGER)")])
        with pytest.raises(SchemaTooNew, match=r"\[2\]"):
            migrate(connection, [first])


@pytest.mark.parametrize(
    "versions", [pytest.param([2], id="not from 1"), pytest.param([1, 3, 2], id="out of order")]
)
def test_migrations_are_numbered_from_1_in_order(tmp_path: Path, versions: list[int]) -> None:
    with sqlite3.connect(tmp_path / "t.db") as connection, pytest.raises(ValueError, match="1, 2"):
        migrate(connection, [Migration(v, "x", "SELECT 1") for v in versions])


async def test_a_master_database_of_schema_1_gains_the_change_log(tmp_path: Path) -> None:
    path = tmp_path / "master.db"
    with sqlite3.connect(path) as connection:
        migrate(connection, MASTER_MIGRATIONS[:1])
        connection.execute("INSERT INTO tenants VALUES ('T0001', 'Kugel Mart', 'JPY')")
    repository = await SqliteItemRepository.open(path, create=True)
    try:
        assert await repository.log_bounds() == (0, 0)
        context = await repository.store_context("T0001", "S001")
        assert context is not None
    finally:
        await repository.close()
    assert ledger(path) == [1, 2, 3, 4, 5, 6, 7]


async def test_an_item_of_schema_2_may_be_discounted(tmp_path: Path) -> None:
    path = tmp_path / "master.db"
    with sqlite3.connect(path) as connection:
        migrate(connection, MASTER_MIGRATIONS[:2])
        connection.executescript(SCHEMA_2_ITEM)
    repository = await SqliteItemRepository.open(path, create=True)
    try:
        [item] = await repository.priced_items("T0001", "S001", ["A1"])
        assert (item.unit_price, item.discount_restricted) == (150, False)
    finally:
        await repository.close()


SCHEMA_2_ITEM = """
INSERT INTO tenants VALUES ('T0001', 'Kugel Mart', 'JPY');
INSERT INTO tax_rules VALUES ('T0001', 'TX10', 'Standard', 'EXTERNAL', 1000, 'FLOOR');
INSERT INTO items VALUES ('T0001', 'A1', 'Cola', 150, 'TX10', 'DRINK', 1, 1, 1);
"""
