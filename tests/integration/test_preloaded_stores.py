"""PRELOAD_STORES over real processes, on both transports (and both engines with
`--database=postgres`): every item of the store is in the cart before its first scan and sells
without a hop; a change reaches the preloaded copy; a cart restarted while master-data is away
still sells every preloaded item, marked `last_known`, and an item of another store does not."""

from __future__ import annotations

import asyncio
import re
import signal
import time
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

PRICE_PATH = "/admin/v1/tenants/T0001/stores/S001/prices/{item}"


def sample(service: ServiceProcess, pattern: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{pattern} (\S+)$", service.metrics(), re.M))


async def until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert condition()


async def scan(session: aiohttp.ClientSession, api: str, item: str) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{api}/carts") as response:
        cart_id = (await response.json())["cartId"]
    async with session.post(
        f"{api}/carts/{cart_id}/lineItems", json=[{"itemCode": item}]
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("transport", ["grpc", "connect"])
async def test_a_preloaded_store_sells_without_a_hop_and_through_a_restart_in_an_outage(
    tmp_path: Path, transport: str
) -> None:
    master_data = start_master_data(tmp_path, ADMIN_TOKEN="admin")
    key = add_terminal(tmp_path, "T0001", "S001", "P01")
    env = {
        "USE_GRPC": "true" if transport == "grpc" else "false",
        "TERMINAL_RATE_LIMIT": "0",
        "MAX_OPEN_CARTS": "0",
        "PRELOAD_STORES": "T0001/S001",
        "ITEM_CACHE_TTL_SECONDS": "1",
        "GRPC_TIMEOUT": "1",
    }
    cart = start_cart(tmp_path, master_data, **env)
    restarted: ServiceProcess | None = None
    headers = {"X-API-KEY": key}
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as session:
            api = cart.url() + "/api/v1"
            await until(lambda: "preloaded T0001/S001 over" in cart.log)
            await until(lambda: sample(cart, "item_watch_connected") == 1)
            lookups = sample(cart, r"item_lookups_total\{[^}]*\}")
            for item in ("ITEM0007", "ITEM0123", "ITEM0299"):
                status, body = await scan(session, api, item)
                assert status == 200, body
                assert body["lineItems"][0]["priceSource"] == "master_data"
            assert sample(cart, r"item_lookups_total\{[^}]*\}") == lookups  # no hop

            async with session.put(
                master_data.url() + PRICE_PATH.format(item="ITEM0123"),
                json={"unitPrice": 4_321},
                headers={"authorization": "Bearer admin"},
            ) as response:
                assert response.status == 200

            async def changed() -> bool:
                _, body = await scan(session, api, "ITEM0123")
                return bool(body["lineItems"][0]["unitPrice"] == 4_321)

            deadline = time.monotonic() + 10
            while not await changed() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert await changed()

            master_data.stop(signal.SIGKILL)
            assert cart.stop() == 0, cart.log
            await asyncio.sleep(1.2)  # the kept copy is now past its TTL
            restarted = start_cart(tmp_path, master_data, **env)
            api = restarted.url() + "/api/v1"
            for item, price in (("ITEM0042", None), ("ITEM0123", 4_321)):
                status, body = await scan(session, api, item)
                assert status == 200, body
                line = body["lineItems"][0]
                assert line["priceSource"] == "last_known"
                assert price is None or line["unitPrice"] == price
            assert "preloaded T0001/S001 from the cart's database" in restarted.log
    finally:
        for service in (restarted, cart):
            if service is not None:
                service.stop()
        master_data.stop()
