"""asyncpg against psycopg 3 on the cart's hot path, side by side in one run: 40 tasks each
load a cart row and save it back at the next version (the ~4 KB JSON document), on a pool of
10 connections to a fresh embedded PostgreSQL. `python -m loadlab.pg_drivers` prints the
operations per second and this process's CPU per operation for each driver."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import psycopg_pool

from tests.support.harness.postgres import local_postgres

TASKS = 40
ROUNDS = 100
DOCUMENT = '{"lineItems": [' + ",".join(['{"itemCode": "ITEM0001", "amount": 100}'] * 90) + "]}"
DDL = (
    "CREATE TABLE carts (cart_id TEXT PRIMARY KEY, version BIGINT NOT NULL, document TEXT NOT NULL)"
)
LOAD = "SELECT version, document FROM carts WHERE cart_id = $1"
SAVE = "UPDATE carts SET version = $1, document = $2 WHERE cart_id = $3 AND version = $4"


async def _drive(step: Callable[[str], Awaitable[None]]) -> tuple[float, float]:
    async def till(n: int) -> None:
        for _ in range(ROUNDS):
            await step(f"cart-{n}")

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(till(n) for n in range(TASKS)))
    operations = TASKS * ROUNDS
    return operations / (time.perf_counter() - wall), (time.process_time() - cpu) / operations


async def with_asyncpg(url: str) -> tuple[float, float]:
    async with asyncpg.create_pool(url, min_size=10, max_size=10) as pool:

        async def step(cart_id: str) -> None:
            async with pool.acquire() as connection:
                version = await connection.fetchval(LOAD, cart_id)
                await connection.execute(SAVE, version + 1, DOCUMENT, cart_id, version)

        return await _drive(step)


async def with_psycopg(url: str) -> tuple[float, float]:
    load, save = (
        LOAD.replace("$1", "%s"),
        "UPDATE carts SET version = %s, document = %s WHERE cart_id = %s AND version = %s",
    )
    async with psycopg_pool.AsyncConnectionPool(url, min_size=10, max_size=10, open=False) as pool:

        async def step(cart_id: str) -> None:
            async with pool.connection() as connection:
                cursor = await connection.execute(load, (cart_id,), prepare=True)
                row = await cursor.fetchone()
                if row is None:
                    raise LookupError(cart_id)
                await connection.execute(
                    save, (row[0] + 1, DOCUMENT, cart_id, row[0]), prepare=True
                )

        return await _drive(step)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder, local_postgres(Path(folder)) as server:
        url = server.url()
        server.psql(DDL)
        values = ", ".join(f"('cart-{n}', 1, '{{}}')" for n in range(TASKS))
        server.psql(f"INSERT INTO carts VALUES {values}")  # noqa: S608 - constants
        for name, run in (("asyncpg", with_asyncpg), ("psycopg", with_psycopg)) * 2:
            per_second, cpu = await run(url)
            print(f"{name:8} {per_second:7.0f} load+save/s  {cpu * 1e6:6.0f} us CPU each")


if __name__ == "__main__":
    asyncio.run(main())
