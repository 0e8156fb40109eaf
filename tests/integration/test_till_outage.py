"""The till keeps selling while master-data is away (SIGKILLed under a running cart), over gRPC
and over Connect: items scanned before sell again past their TTL at their last known copy,
marked `last_known` in the cart and on the receipt; an item whose price changed just before the
outage sells at the new price; an item never seen answers 503; a copy older than
MAX_STALE_SECONDS is not used; once master-data is back, lines are `master_data` again."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
KNOWN = ["ITEM0001", "ITEM0002", "ITEM0003"]


def metric(service: ServiceProcess, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", service.metrics(), re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def until(condition: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert condition()


@dataclass
class Till:
    session: aiohttp.ClientSession
    api: str

    async def new_cart(self) -> str:
        async with self.session.post(f"{self.api}/carts") as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["cartId"])

    async def scan(self, cart_id: str, item: str) -> tuple[int, dict[str, Any]]:
        async with self.session.post(
            f"{self.api}/carts/{cart_id}/lineItems", json=[{"itemCode": item}]
        ) as response:
            return response.status, await response.json()

    async def bill(self, cart_id: str, total: int) -> dict[str, Any]:
        for path, body in (
            ("subtotal", None),
            ("payments", {"method": "cash", "amount": total}),
            ("bill", None),
        ):
            async with self.session.post(f"{self.api}/carts/{cart_id}/{path}", json=body) as reply:
                assert reply.status == 200, await reply.text()
                answer = await reply.json()
        return dict(answer["receipt"])


@pytest.fixture(params=["grpc", "connect"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess, Till]]:
    master_data = start_master_data(tmp_path, ADMIN_TOKEN="admin")
    key = add_terminal(tmp_path, "T0001", "S001", "O01")
    cart = start_cart(
        tmp_path,
        master_data,
        USE_GRPC="true" if request.param == "grpc" else "false",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
        ITEM_CACHE_TTL_SECONDS="1",
        GRPC_BREAKER_COOLDOWN_SECONDS="0.3",
        GRPC_TIMEOUT="1",
        MAX_STALE_SECONDS="30",
    )
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers={"X-API-KEY": key}, timeout=timeout) as session:
        try:
            yield master_data, cart, Till(session, cart.url() + "/api/v1")
        finally:
            assert cart.stop() == 0, cart.log
            master_data.stop()


async def test_known_items_sell_through_an_outage_marked_and_then_live_again(
    stack: tuple[ServiceProcess, ServiceProcess, Till], tmp_path: Path
) -> None:
    master_data, cart, till = stack
    cart_id = await till.new_cart()
    for item in KNOWN:
        status, _ = await till.scan(cart_id, item)
        assert status == 200
    await until(lambda: metric(cart, "item_watch_connected") == 1)

    # A price changed just before the outage: the cart fetches the new copy at once.
    async with till.session.put(
        master_data.url() + PRICE_PATH.format(item="ITEM0002"),
        json={"unitPrice": 7_777},
        headers={"authorization": "Bearer admin"},
    ) as response:
        assert response.status == 200
    await until(lambda: metric(cart, "item_watch_evicted_items_total") >= 1)
    await asyncio.sleep(0.3)  # the new copy is fetched off the scan path, right after

    master_data.stop(signal.SIGKILL)
    await asyncio.sleep(1.5)  # every copy is now past its 1 s TTL

    outage_cart = await till.new_cart()
    for item in KNOWN:
        status, body = await till.scan(outage_cart, item)
        assert status == 200, (item, body, cart.log[-3000:])
        line = body["lineItems"][-1]
        assert line["priceSource"] == "last_known", line
    assert body["lineItems"][1]["unitPrice"] == 7_777  # the price of the last change received
    status, body = await till.scan(outage_cart, "ITEM0009")  # never seen, never preloaded
    assert (status, body["code"]) == (503, "master_data_unavailable")
    receipt = await till.bill(outage_cart, 100_000)
    assert receipt["lastKnownLineNos"] == [1, 2, 3]
    assert metric(cart, "item_lookups_last_known_total") >= 3
    assert metric(cart, "item_master_outage") == 1
    assert cart.log.count("master-data unreachable: scans of known items") == 1

    restarted = start_master_data(
        tmp_path,
        ADMIN_TOKEN="admin",
        GRPC_PORT=str(master_data.ports["gRPC"]),
        HTTP_PORT=str(master_data.ports["HTTP"]),
    )
    try:
        back_cart = await till.new_cart()

        async def live() -> bool:
            status, body = await till.scan(back_cart, "ITEM0001")
            return status == 200 and body["lineItems"][-1]["priceSource"] == "master_data"

        deadline = time.monotonic() + 15
        while not await live() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await live()
        status, body = await till.scan(back_cart, "ITEM0002")
        assert body["lineItems"][-1]["unitPrice"] == 7_777  # nothing changed before is lost
        assert metric(cart, "item_master_outage") == 0
        assert "items were sold at last known copies" in cart.log
    finally:
        assert restarted.stop() == 0, restarted.log


async def test_a_copy_older_than_max_stale_is_not_used(tmp_path: Path) -> None:
    master_data = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "O02")
    cart = start_cart(
        tmp_path,
        master_data,
        USE_GRPC="true",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
        ITEM_CACHE_TTL_SECONDS="0.5",
        WATCH_ITEM_CHANGES="false",
        GRPC_TIMEOUT="1",
        MAX_STALE_SECONDS="1",
    )
    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}, timeout=timeout) as session:
            till = Till(session, cart.url() + "/api/v1")
            cart_id = await till.new_cart()
            assert (await till.scan(cart_id, "ITEM0001"))[0] == 200
            master_data.stop(signal.SIGKILL)
            await asyncio.sleep(0.7)
            status, body = await till.scan(cart_id, "ITEM0001")  # stale, but young enough
            assert (status, body["lineItems"][-1]["priceSource"]) == (200, "last_known")
            await asyncio.sleep(1.0)
            status, body = await till.scan(cart_id, "ITEM0001")
            assert (status, body["code"]) == (503, "master_data_unavailable")
    finally:
        assert cart.stop() == 0, cart.log
