"""Scans over real processes, over gRPC and over Connect, on either engine (`--database`): a
JAN and a weight label sell, and the weighed line's return refunds exactly what was sold; a
layout change reaches the cart's kept scans through WatchItemChanges (the time it took is
printed); a scan known before sells through a master-data outage, one never seen does not.
(The last-known path past the TTL is the item's, as `test_till_outage.py` drives it.)"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.common.gtin import with_check_digit
from services.master_data import demo_data
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .test_till_outage import Till, metric, until

JAN_5 = demo_data.jan(5)  # ITEM0005: 1,930 at S001, external 10 % floor
PRICE_LABEL = with_check_digit("020000100198")  # DELI0001 at 198 yen (layout JP-PRICE)
WEIGHT_LABEL = with_check_digit("210000201237")  # MEAT0001, 1,237 g at 3,980 yen a kg
ADMIN = {"authorization": "Bearer admin"}


async def scan(till: Till, cart_id: str, scan: str) -> tuple[int, dict[str, Any]]:
    async with till.session.post(
        f"{till.api}/carts/{cart_id}/lineItems", json=[{"scan": scan}]
    ) as response:
        return response.status, await response.json()


@pytest.fixture(params=["grpc", "connect"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess, Till]]:
    master_data = start_master_data(tmp_path, ADMIN_TOKEN="admin")
    key = add_terminal(tmp_path, "T0001", "S001", "B01")
    cart = start_cart(
        tmp_path,
        master_data,
        USE_GRPC="true" if request.param == "grpc" else "false",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
        ITEM_CACHE_TTL_SECONDS="600",  # only the change stream can refresh what is kept
        GRPC_BREAKER_COOLDOWN_SECONDS="0.3",
        GRPC_TIMEOUT="1",
        MAX_STALE_SECONDS="60",
    )
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers={"X-API-KEY": key}, timeout=timeout) as session:
        try:
            yield master_data, cart, Till(session, cart.url() + "/api/v1")
        finally:
            assert cart.stop() == 0, cart.log
            master_data.stop()


async def test_a_scan_sells_and_a_weighed_lines_return_refunds_exactly(
    stack: tuple[ServiceProcess, ServiceProcess, Till],
) -> None:
    _, _, till = stack
    cart_id = await till.new_cart()
    status, body = await scan(till, cart_id, JAN_5)
    assert status == 200, body
    status, body = await scan(till, cart_id, WEIGHT_LABEL)
    assert status == 200, body
    weighed = body["lineItems"][-1]
    # 3,980 x 1.237 = 4,923.26 -> 4,923 (half up); ITEM0005: 1,930 + 193 external tax
    assert (weighed["itemCode"], weighed["amount"]) == ("MEAT0001", 4923)
    assert body["total"] == 1930 + 193 + 4923
    receipt = await till.bill(cart_id, body["total"])
    async with till.session.get(f"{till.api}/transactions") as response:
        sale = (await response.json())["transactions"][0]
    assert sale["receiptNo"] == receipt["receiptNo"]
    async with till.session.post(
        f"{till.api}/transactions/{sale['transactionId']}/return",
        json={"lines": [{"lineNo": 2, "quantity": 1}], "refundMethod": "cash"},
    ) as response:
        assert response.status == 201, await response.text()
        returned = await response.json()
    assert [(li["lineNo"], li["amount"]) for li in returned["lines"]] == [(2, 4923)]
    assert returned["total"] == 4923


async def test_a_layout_change_reaches_the_carts_kept_scans(
    stack: tuple[ServiceProcess, ServiceProcess, Till],
) -> None:
    master_data, cart, till = stack
    cart_id = await till.new_cart()
    status, body = await scan(till, cart_id, PRICE_LABEL)
    assert (status, body["lineItems"][-1]["unitPrice"]) == (200, 198)
    await until(lambda: metric(cart, "item_watch_connected") == 1)
    seen = metric(cart, "item_watch_position")
    started = time.monotonic()
    # JP-PRICE now reads 4 item digits and a 6-digit price: the same label names item 0000
    async with till.session.put(
        master_data.url() + "/admin/v1/tenants/T0001/scan-layouts/JP-PRICE",
        json={"prefix": "02", "itemDigits": 4, "embedded": "price", "valueDigits": 6},
        headers=ADMIN,
    ) as response:
        assert response.status == 200, await response.text()
    await until(lambda: metric(cart, "item_watch_position") > seen)
    reached = time.monotonic() - started
    status, body = await scan(till, cart_id, PRICE_LABEL)
    assert (status, body["code"]) == (404, "item_not_found"), body
    assert body["details"][0]["barcode"] == "00200000000004"
    print(f"\nlayout change: commit to the cart's kept scans dropped in {reached * 1000:.0f} ms")


async def test_a_known_scan_sells_through_an_outage(
    stack: tuple[ServiceProcess, ServiceProcess, Till],
) -> None:
    master_data, cart, till = stack
    cart_id = await till.new_cart()
    status, _ = await till.scan(cart_id, "ITEM0001")  # the tenant watched from here on
    assert status == 200
    await until(lambda: metric(cart, "item_watch_connected") == 1)
    for known in (JAN_5, WEIGHT_LABEL):
        status, body = await scan(till, cart_id, known)
        assert status == 200, body
    master_data.stop(signal.SIGKILL)
    await asyncio.sleep(0.5)
    outage_cart = await till.new_cart()
    for known in (JAN_5, WEIGHT_LABEL):
        status, body = await scan(till, outage_cart, known)
        assert status == 200, (known, body, cart.log[-3000:])
        # the copies are within their TTL (600 s): fresh, not yet last known
        assert body["lineItems"][-1]["priceSource"] == "master_data"
    assert body["lineItems"][-1]["amount"] == 4923  # the weight is the label's, as before
    status, body = await scan(till, outage_cart, with_check_digit("210000200500"))
    assert (status, body["code"]) == (503, "master_data_unavailable")  # a label never seen
