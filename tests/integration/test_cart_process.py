"""The cart service as a real process in front of a real master-data, over real sockets."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
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

from .conftest import TOKEN

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass
class Stack:
    master_data: ServiceProcess
    cart: ServiceProcess
    keys: dict[str, str]
    tmp_path: Path

    @property
    def api(self) -> str:
        return self.cart.url() + "/api/v1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp("stack")
    master_data = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN)
    keys = {
        "r1": add_terminal(tmp_path, "T0001", "S001", "R01"),
        "r2": add_terminal(tmp_path, "T0001", "S001", "R02"),
        "other_store": add_terminal(tmp_path, "T0001", "S002", "R01"),
        "other_tenant": add_terminal(tmp_path, "T0002", "S001", "R01"),
    }
    cart = start_cart(tmp_path, master_data, MASTER_DATA_TOKEN=TOKEN)
    yield Stack(master_data, cart, keys, tmp_path)
    assert cart.stop() == 0, cart.log
    assert master_data.stop() == 0, master_data.log


@pytest.fixture
async def session(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        timeout=TIMEOUT, headers={"X-API-KEY": stack.keys["r1"]}
    ) as session:
        yield session


async def call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, json=body, **kwargs) as response:
        return response.status, await response.json()


async def test_every_endpoint_and_transition(stack: Stack, session: aiohttp.ClientSession) -> None:
    status, cart = await call(session, "POST", f"{stack.api}/carts")
    assert (status, cart["state"]) == (201, "initial")
    url = f"{stack.api}/carts/{cart['cartId']}"
    assert (await call(session, "GET", url))[1]["cartId"] == cart["cartId"]

    status, cart = await call(
        session,
        "POST",
        f"{url}/lineItems",
        [
            {"itemCode": "ITEM0001", "quantity": 3},  # 470 external 10 % floor
            {"itemCode": "ITEM0003"},  # 1,210 internal 8 % half-up
            {"itemCode": "ITEM0014", "unitPrice": 99, "priceOverride": True},  # exempt
            {"itemCode": "ITEM0002"},
        ],
    )
    assert (status, cart["state"], len(cart["lineItems"])) == (200, "entering_items", 4)
    status, cart = await call(session, "POST", f"{url}/lineItems/4/cancel")
    assert cart["lineItems"][3]["cancelled"] is True
    status, cart = await call(session, "PATCH", f"{url}/lineItems/1/quantity", {"quantity": 2})
    assert cart["lineItems"][0]["amount"] == 940
    discount = [{"type": "amount", "value": 40}]
    status, cart = await call(session, "POST", f"{url}/lineItems/1/discounts", discount)
    assert (status, cart["lineItems"][0]["netAmount"]) == (200, 900)
    status, cart = await call(session, "POST", f"{url}/lineItems/1/discounts", [])
    status, cart = await call(session, "POST", f"{url}/discounts", discount)
    assert (status, cart["discountTotal"]) == (200, 40)
    status, cart = await call(session, "POST", f"{url}/discounts", [])
    status, cart = await call(session, "PATCH", f"{url}/lineItems/3/unitPrice", {"unitPrice": 99})
    assert (status, cart["lineItems"][2]["priceOverridden"]) == (200, True)
    assert (await call(session, "POST", f"{url}/payments", {"method": "cash", "amount": 1}))[
        0
    ] == 409

    status, cart = await call(session, "POST", f"{url}/subtotal")
    assert (status, cart["state"]) == (200, "paying")
    assert cart["subtotal"] == 940 + 1210 + 99
    assert cart["total"] == 940 + 1210 + 99 + 94
    assert (await call(session, "POST", f"{url}/lineItems", [{"itemCode": "ITEM0001"}]))[0] == 409
    assert (await call(session, "POST", f"{url}/bill"))[1]["code"] == "balance_due"

    status, cart = await call(session, "POST", f"{url}/payments", {"method": "card", "amount": 343})
    assert cart["balance"] == 2000
    status, cart = await call(
        session, "POST", f"{url}/payments", {"method": "cash", "amount": 5000}
    )
    assert (cart["paid"], cart["change"]) == (5343, 3000)
    status, billed = await call(session, "POST", f"{url}/bill")
    assert (status, billed["state"], billed["receipt"]["change"]) == (200, "completed", 3000)
    sale = f"{stack.api}/transactions/{billed['transactionId']}"
    assert (await call(session, "GET", sale))[1]["total"] == billed["total"]
    back = {"lines": [{"lineNo": 2, "quantity": 1}], "refundMethod": "cash"}
    status, returned = await call(session, "POST", f"{sale}/return", back)
    assert (status, returned["total"]) == (201, 1210)
    assert (await call(session, "POST", f"{sale}/void"))[0] == 409  # it has a return
    status, error = await call(session, "POST", f"{url}/cancel")
    assert (status, error["code"]) == (409, "invalid_state")
    assert "completed" in error["message"]

    status, other = await call(session, "POST", f"{stack.api}/carts")
    status, cancelled = await call(session, "POST", f"{stack.api}/carts/{other['cartId']}/cancel")
    assert cancelled["state"] == "cancelled"

    async with session.get(stack.cart.url() + "/openapi.json") as response:
        assert "paths" in await response.json()
    async with session.get(stack.cart.url() + "/metrics") as response:
        assert 'item_lookups_total{outcome="ok",transport="grpc"}' in await response.text()


@pytest.mark.parametrize(
    ("key", "status"),
    [
        pytest.param("", 401, id="missing key"),
        pytest.param("0123456789abcdef.not-the-secret", 401, id="wrong key"),
        pytest.param("other_tenant", 404, id="other tenant"),
        pytest.param("other_store", 404, id="other store"),
    ],
)
async def test_auth(stack: Stack, session: aiohttp.ClientSession, key: str, status: int) -> None:
    _, cart = await call(session, "POST", f"{stack.api}/carts")
    url = f"{stack.api}/carts/{cart['cartId']}"
    headers = {"X-API-KEY": stack.keys.get(key, key)}
    async with aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as intruder:
        for method, path, body in [
            ("GET", "", None),
            ("POST", "/lineItems", [{"itemCode": "ITEM0001"}]),
            ("POST", "/cancel", None),
        ]:
            got, error = await call(intruder, method, url + path, body)
            assert got == status, (method, path)
            assert error["code"] in {"unauthenticated", "cart_not_found"}
    _, same = await call(session, "GET", url)
    assert (same["state"], same["lineItems"]) == ("initial", [])
    for secret in (*stack.keys.values(), TOKEN):
        assert secret not in stack.cart.log
        assert secret not in stack.master_data.log
    headers = {"X-API-KEY": stack.keys["r2"]}  # another terminal of the same store may
    async with aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as colleague:
        assert (await call(colleague, "GET", url))[0] == 200


async def test_fifty_concurrent_adds_lose_nothing(
    stack: Stack, session: aiohttp.ClientSession
) -> None:
    _, cart = await call(session, "POST", f"{stack.api}/carts")
    url = f"{stack.api}/carts/{cart['cartId']}/lineItems"

    async def scan(n: int) -> tuple[int, str]:
        code = f"ITEM{n % 49 + 1:04d}"
        status, _ = await call(session, "POST", url, [{"itemCode": code}])
        return status, code

    results = await asyncio.gather(*(scan(n) for n in range(50)))
    acknowledged = sorted(code for status, code in results if status == 200)
    assert {status for status, _ in results} <= {200, 409}
    _, final = await call(session, "GET", f"{stack.api}/carts/{cart['cartId']}")
    assert sorted(line["itemCode"] for line in final["lineItems"]) == acknowledged
    assert [line["lineNo"] for line in final["lineItems"]] == list(range(1, len(acknowledged) + 1))
    assert final["version"] == len(acknowledged) + 1
    assert len(acknowledged) == 50  # one process serialises them: nobody had to lose


async def test_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    master_data = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(tmp_path, master_data)
    acknowledged: dict[str, list[str]] = {}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session:
            api = cart.url() + "/api/v1"
            for _ in range(5):
                _, created = await call(session, "POST", f"{api}/carts")
                codes = acknowledged.setdefault(created["cartId"], [])
                for n in range(1, 8):
                    status, _ = await call(
                        session,
                        "POST",
                        f"{api}/carts/{created['cartId']}/lineItems",
                        [{"itemCode": f"ITEM{n:04d}"}],
                    )
                    assert status == 200
                    codes.append(f"ITEM{n:04d}")
            sold = list(acknowledged)[:2]  # two of them billed: their sales are acknowledged too
            for cart_id in sold:
                _, totals = await call(session, "POST", f"{api}/carts/{cart_id}/subtotal")
                payment = {"method": "cash", "amount": totals["total"]}
                await call(session, "POST", f"{api}/carts/{cart_id}/payments", payment)
                assert (await call(session, "POST", f"{api}/carts/{cart_id}/bill"))[0] == 200
            cart.stop(signal.SIGKILL)
            cart = start_cart(tmp_path, master_data)
            api = cart.url() + "/api/v1"
            for cart_id, codes in acknowledged.items():
                status, stored = await call(session, "GET", f"{api}/carts/{cart_id}")
                assert status == 200
                assert [line["itemCode"] for line in stored["lineItems"]] == codes
                assert stored["version"] == len(codes) + 1 + (3 if cart_id in sold else 0)
            _, listed = await call(session, "GET", f"{api}/transactions")
            assert {t["cartId"] for t in listed["transactions"]} == set(sold)
    finally:
        cart.stop()
        master_data.stop()
