"""Schema migrations on PostgreSQL: a database made by the previous release keeps its data, an
upgrade applies only what is new, replicas starting together migrate once, and a database a
newer release migrated is refused."""

from __future__ import annotations

import asyncio
import itertools
import time

import asyncpg
import pytest

from services.cart.postgres_repository import PostgresCartRepository
from services.cart.schema import PG_MIGRATIONS as CART_MIGRATIONS
from services.common import postgres
from services.common.migrations import Migration, SchemaTooNew
from services.common.storage_errors import StorageUnavailable
from services.master_data.postgres_repository import PostgresItemRepository
from services.master_data.schema import PG_MIGRATIONS as MASTER_MIGRATIONS
from tests.support.harness.postgres import LocalPostgres

_names = itertools.count(1)


def new_database(server: LocalPostgres) -> str:
    return server.create_database(f"migrations_{next(_names)}")


async def ledger(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        return [r[0] for r in await connection.fetch("SELECT version FROM schema_migrations")]
    finally:
        await connection.close()


async def made_by_the_previous_release(url: str, migration: Migration, rows: list[str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in migration.statements() + rows:
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_a_cart_database_from_before_migrations_keeps_its_data(
    postgres_server: LocalPostgres,
) -> None:
    url = new_database(postgres_server)
    await made_by_the_previous_release(
        url,
        CART_MIGRATIONS[0],
        [
            "INSERT INTO terminals VALUES ('k1', 'h', 'T0001', 'S001', 'R01', 1)",
            "INSERT INTO receipt_counters VALUES ('T0001', 'S001', 'R01', 41)",
        ],
    )
    repository = await PostgresCartRepository.open(url, 2)
    try:
        found = await repository.find_terminal("k1")
        assert found is not None
        assert found[0].terminal_id == "R01"
    finally:
        await repository.close()
    assert await ledger(url) == [1, 2, 3, 4, 5, 6]
    await (await PostgresCartRepository.open(url, 2)).close()  # again: nothing to apply
    assert await ledger(url) == [1, 2, 3, 4, 5, 6]


async def test_replicas_starting_together_migrate_once(postgres_server: LocalPostgres) -> None:
    url = new_database(postgres_server)
    opened = await asyncio.gather(*(PostgresItemRepository.open(url, 1) for _ in range(4)))
    for repository in opened:
        await repository.close()
    assert await ledger(url) == [1, 2, 3, 4, 5, 6, 7]


async def test_an_upgrade_applies_only_the_new_migration_and_keeps_the_data(
    postgres_server: LocalPostgres,
) -> None:
    url = new_database(postgres_server)
    first = Migration(1, "t", "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
    second = Migration(2, "t.note", "ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    connection = await asyncpg.connect(url)
    try:
        assert await postgres.migrate(connection, [first]) == [1]
        await connection.execute("INSERT INTO t (k) VALUES (7)")
        assert await postgres.migrate(connection, [first, second]) == [2]
        assert await postgres.migrate(connection, [first, second]) == []
        assert [tuple(r) for r in await connection.fetch("SELECT k, note FROM t")] == [(7, "")]
        with pytest.raises(SchemaTooNew, match=r"\[2\]"):
            await postgres.migrate(connection, [first])
    finally:
        await connection.close()


async def test_a_master_database_keeps_its_catalog_version(postgres_server: LocalPostgres) -> None:
    url = new_database(postgres_server)
    await made_by_the_previous_release(
        url, MASTER_MIGRATIONS[0], ["UPDATE catalog_version SET version = 12"]
    )
    repository = await PostgresItemRepository.open(url, 1)
    try:
        assert await repository.version() == 12
    finally:
        await repository.close()


async def test_an_item_of_master_schema_2_may_be_discounted(
    postgres_server: LocalPostgres,
) -> None:
    url = new_database(postgres_server)
    connection = await asyncpg.connect(url)
    try:
        await postgres.migrate(connection, MASTER_MIGRATIONS[:2])
        await connection.execute(
            "INSERT INTO tenants VALUES ('T0001', 'Kugel Mart', 'JPY');"
            "INSERT INTO tax_rules VALUES ('T0001', 'TX10', 'Standard', 'EXTERNAL', 1000, 'FLOOR');"
            "INSERT INTO items VALUES ('T0001', 'A1', 'Cola', 150, 'TX10', 'DRINK', true, 1, 1)"
        )
    finally:
        await connection.close()
    repository = await PostgresItemRepository.open(url, 1)
    try:
        [item] = await repository.priced_items("T0001", "S001", ["A1"])
        assert (item.unit_price, item.discount_restricted) == (150, False)
    finally:
        await repository.close()
    assert await ledger(url) == [1, 2, 3, 4, 5, 6, 7]


async def test_a_read_waits_for_a_pooled_connection_no_longer_than_the_acquire_timeout(
    postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "ACQUIRE_TIMEOUT_SECONDS", 0.3)
    repository = await PostgresCartRepository.open(new_database(postgres_server), 1)
    try:
        async with repository._pool.acquire():  # the pool's only connection, held
            started = time.monotonic()
            with pytest.raises(StorageUnavailable):
                await repository.load("any")
            assert time.monotonic() - started < 5  # not the 38 s a held lock once cost
    finally:
        await repository.close()
