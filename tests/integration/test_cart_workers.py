"""The cart with WORKERS=2: two processes on one port over one database. The per-cart lock
holds only within a process; across them the version check on every save keeps every
acknowledged line, and the receipt counter gives unique receipt numbers per terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

TIMEOUT = aiohttp.ClientTimeout(total=15)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str]]:
    tmp = Path(tmp_path_factory.mktemp("workers"))
    master_data = start_master_data(tmp)
    key = add_terminal(tmp, "T0001", "S001", "R01")
    cart = start_cart(tmp, master_data, WORKERS="2", TERMINAL_RATE_LIMIT="0", MAX_OPEN_CARTS="0")
    yield cart, key
    assert cart.stop() == 0, cart.log
    master_data.stop()


async def post(url: str, key: str, body: Any = None) -> tuple[int, Any]:
    # A session of its own: a new connection, which the kernel hands to either worker.
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session,
        session.post(url, json=body) as response,
    ):
        return response.status, await response.json()


async def test_both_workers_serve(two_workers: tuple[ServiceProcess, str]) -> None:
    cart, _ = two_workers
    deadline = time.monotonic() + 10  # the harness returns at the first worker's ready line
    while cart.log.count("cart ready") < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert cart.log.count("cart ready") == 2


async def test_concurrent_adds_through_both_workers_lose_nothing(
    two_workers: tuple[ServiceProcess, str],
) -> None:
    cart, key = two_workers
    api = cart.url() + "/api/v1"
    _, created = await post(f"{api}/carts", key)
    url = f"{api}/carts/{created['cartId']}/lineItems"
    results = await asyncio.gather(
        *(post(url, key, [{"itemCode": f"ITEM{n % 49 + 1:04d}"}]) for n in range(40))
    )
    acknowledged = [body["lineItems"][-1] for status, body in results if status == 200]
    assert {status for status, _ in results} <= {200, 409}
    assert len(acknowledged) >= 10  # the rest lost 5 version races in a row: 409, never lost
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session,
        session.get(f"{api}/carts/{created['cartId']}") as response,
    ):
        final = await response.json()
    assert len(final["lineItems"]) == len(acknowledged)
    assert final["version"] == len(acknowledged) + 1
    assert sorted(line["lineNo"] for line in final["lineItems"]) == list(
        range(1, len(acknowledged) + 1)
    )


async def test_concurrent_bills_through_both_workers_get_unique_receipts(
    two_workers: tuple[ServiceProcess, str],
) -> None:
    cart, key = two_workers
    api = cart.url() + "/api/v1"

    async def sale() -> str:
        _, created = await post(f"{api}/carts", key)
        path = f"{api}/carts/{created['cartId']}"
        await post(f"{path}/lineItems", key, [{"itemCode": "ITEM0001"}])
        _, totals = await post(f"{path}/subtotal", key)
        await post(f"{path}/payments", key, {"method": "cash", "amount": totals["total"]})
        return path

    paths = await asyncio.gather(*(sale() for _ in range(20)))
    bills = await asyncio.gather(*(post(f"{path}/bill", key) for path in paths))
    numbers = [body["receipt"]["receiptNo"] for status, body in bills if status == 200]
    assert len(numbers) == 20
    assert len(set(numbers)) == 20
