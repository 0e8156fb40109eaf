"""master-data replicas on one PostgreSQL (`pytest --database=postgres`): an admin write on one
replica clears the other's read cache through LISTEN/NOTIFY, not a poll (the poll interval is
set to a minute here), and a replica whose listening connection is cut clears its cache and
listens again."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.support.harness.postgres import SERVER_URL_ENV
from tests.support.harness.processes import ServiceProcess, database, start_master_data

CONNECT = "/kugel.item.v1.ItemService/GetItemDetail"
REQUEST = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0001"}
PRICE_PATH = "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0001"


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    if SERVER_URL_ENV not in os.environ:
        pytest.skip("replicas share a database on PostgreSQL only: pytest --database=postgres")
    env = {"ADMIN_TOKEN": "admin", "CATALOG_POLL_SECONDS": "60"}
    one = start_master_data(tmp_path, **env)
    two = start_master_data(tmp_path, **env)  # the same database: the demo data is there
    yield one, two
    assert one.stop() == 0, one.log
    assert two.stop() == 0, two.log


async def price_at(session: aiohttp.ClientSession, service: ServiceProcess) -> str:
    async with session.post(
        service.url() + CONNECT, json=REQUEST, timeout=aiohttp.ClientTimeout(total=5)
    ) as response:
        return str((await response.json())["item"]["unitPrice"])


async def set_price(session: aiohttp.ClientSession, service: ServiceProcess, price: int) -> None:
    async with session.put(
        service.url() + PRICE_PATH,
        json={"unitPrice": price},
        headers={"authorization": "Bearer admin"},
        timeout=aiohttp.ClientTimeout(total=5),
    ) as response:
        assert response.status == 200


async def seen_within(
    session: aiohttp.ClientSession, service: ServiceProcess, price: int, seconds: float
) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await price_at(session, service) == str(price):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_write_on_one_replica_clears_the_others_cache_at_once(
    replicas: tuple[ServiceProcess, ServiceProcess],
) -> None:
    one, two = replicas
    async with aiohttp.ClientSession() as session:
        cached = await price_at(session, two)  # now in two's read cache
        await set_price(session, one, 23456)
        assert cached != "23456"
        # Polling every 60 s cannot explain a change seen within 5 s: the NOTIFY did it.
        assert await seen_within(session, two, 23456, 5.0)


async def test_a_replica_that_loses_its_listening_connection_listens_again(
    replicas: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    one, two = replicas
    url = database(tmp_path, "master")[0]
    async with aiohttp.ClientSession() as session:
        await price_at(session, two)
        connection = await asyncpg.connect(url)
        try:
            cut = await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        finally:
            await connection.close()
        assert len(cut) == 2  # both replicas listen
        for _ in range(200):
            if two.log.count("now listening for master data changes") >= 2:  # again
                break
            await asyncio.sleep(0.05)
        assert "was lost: retrying" in two.log
        assert two.log.count("now listening for master data changes") == 2
        await price_at(session, two)  # the old price, cached again
        await set_price(session, one, 34567)
        assert await seen_within(session, two, 34567, 5.0)
