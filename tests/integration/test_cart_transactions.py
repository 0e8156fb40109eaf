"""Transactions across two cart processes on one database (SQLite here, PostgreSQL in the
PostgreSQL pass): a sale voided from both at once is voided once, returns racing from both
never return more than was sold, receipt numbers stay unique per terminal, another store's
terminal is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
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

TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True)
class TwoCarts:
    urls: tuple[str, str]  # the /api/v1 of each process
    keys: dict[str, str]


@pytest.fixture(scope="module")
def two_carts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoCarts]:
    tmp = Path(tmp_path_factory.mktemp("transactions"))
    master_data = start_master_data(tmp)
    keys = {
        name: add_terminal(tmp, "T0001", store, terminal)
        for name, (store, terminal) in {
            "r1": ("S001", "R01"),
            "r2": ("S001", "R02"),
            "other_store": ("S002", "R01"),
        }.items()
    }
    env = {"TERMINAL_RATE_LIMIT": "0", "MAX_OPEN_CARTS": "0"}
    carts: list[ServiceProcess] = [start_cart(tmp, master_data, **env) for _ in range(2)]
    yield TwoCarts((carts[0].url() + "/api/v1", carts[1].url() + "/api/v1"), keys)
    for cart in carts:
        assert cart.stop() == 0, cart.log
    master_data.stop()


async def call(method: str, url: str, key: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session,
        session.request(method, url, json=body) as response,
    ):
        return response.status, await response.json()


async def sell(api: str, key: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    _, cart = await call("POST", f"{api}/carts", key)
    path = f"{api}/carts/{cart['cartId']}"
    assert (await call("POST", f"{path}/lineItems", key, lines))[0] == 200
    _, totals = await call("POST", f"{path}/subtotal", key)
    await call("POST", f"{path}/payments", key, {"method": "cash", "amount": totals["total"]})
    status, billed = await call("POST", f"{path}/bill", key)
    assert status == 200, billed
    return dict(billed)


async def test_a_sale_voided_from_two_processes_at_once_is_voided_once(
    two_carts: TwoCarts,
) -> None:
    first, second = two_carts.urls
    key = two_carts.keys["r1"]
    for _ in range(5):
        sale = await sell(first, key, [{"itemCode": "ITEM0005"}])
        outcomes = await asyncio.gather(
            *(call("POST", f"{api}/transactions/{sale['transactionId']}/void", key)
              for api in (first, second))
        )  # fmt: skip
        assert sorted(status for status, _ in outcomes) == [201, 409], outcomes
        [void] = [body for status, body in outcomes if status == 201]
        _, stored = await call("GET", f"{second}/transactions/{sale['transactionId']}", key)
        assert stored["voidTransactionId"] == void["transactionId"]


async def test_returns_racing_from_two_processes_never_exceed_the_sale(
    two_carts: TwoCarts,
) -> None:
    first, second = two_carts.urls
    keys = two_carts.keys
    sale = await sell(first, keys["r1"], [{"itemCode": "ITEM0005", "quantity": 3}])
    path = f"/transactions/{sale['transactionId']}/return"
    body = {"lines": [{"lineNo": 1, "quantity": 2}], "refundMethod": "cash"}
    outcomes = await asyncio.gather(
        call("POST", first + path, keys["r1"], body), call("POST", second + path, keys["r2"], body)
    )
    assert sorted(status for status, _ in outcomes) == [201, 400], outcomes
    last = {"lines": [{"lineNo": 1, "quantity": 1}], "refundMethod": "card",
            "refundReason": "card refund at the customer's request"}  # fmt: skip
    status, rest = await call("POST", second + path, keys["r2"], last)
    assert status == 201, rest
    [returned] = [b for s, b in outcomes if s == 201]
    assert returned["total"] + rest["total"] == sale["total"]
    status, refused = await call("POST", first + path, keys["r1"], last)
    assert (status, refused["code"]) == (400, "validation_error")
    status, hidden = await call("POST", first + path, keys["other_store"], last)
    assert (status, hidden["code"]) == (404, "transaction_not_found")


async def test_receipt_numbers_stay_unique_per_terminal_across_every_type(
    two_carts: TwoCarts,
) -> None:
    first, second = two_carts.urls
    keys = two_carts.keys
    sales = await asyncio.gather(
        *(sell(api, keys[name], [{"itemCode": "ITEM0001"}])
          for api in (first, second) for name in ("r1", "r2"))
    )  # fmt: skip
    await asyncio.gather(
        *(call("POST", f"{api}/transactions/{sale['transactionId']}/void", keys[name])
          for sale in sales for api, name in ((first, "r1"), (second, "r2")))
    )  # fmt: skip
    every: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        _, listed = await call("GET", f"{second}/transactions?limit=100&page={page}", keys["r1"])
        every += listed["transactions"]
        page = listed.get("nextPage")
    by_terminal: dict[str, list[int]] = {}
    for transaction in every:
        by_terminal.setdefault(transaction["terminalId"], []).append(transaction["receiptNo"])
    for terminal, numbers in by_terminal.items():
        assert len(numbers) == len(set(numbers)), terminal
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), terminal  # no gaps either
    _, others = await call("GET", f"{first}/transactions", keys["other_store"])
    assert others == {"transactions": []}
