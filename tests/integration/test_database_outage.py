"""PostgreSQL stopped under running services and started again: every request in between gets a
clear 503 (cart: `storage_unavailable` with Retry-After; master-data: UNAVAILABLE, so the cart
answers `master_data_unavailable`), readiness turns 503, nothing hangs or crashes, and both
services serve again once the database is back, without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.harness.postgres import LocalPostgres, local_postgres
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    run_cli,
    start_cart,
    start_master_data,
)

CONNECT = "/kugel.item.v1.ItemService/GetItemDetail"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[LocalPostgres, ServiceProcess, ServiceProcess, str]]:
    with local_postgres(tmp_path) as server:
        env = {
            "MASTER_DATA_DB": server.create_database("master_data"),
            "CART_DB": server.create_database("cart"),
        }
        run_cli(["master-data", "seed-demo"], env)
        key = add_terminal(tmp_path, "T0001", "S001", "R1", cart_db=env["CART_DB"])
        master_data = start_master_data(tmp_path, MASTER_DATA_DB=env["MASTER_DATA_DB"])
        # No change stream: the first scan's item must stay cached through the outage, so the
        # second scan reaches the cart's own store (a stream opening would evict it first).
        cart = start_cart(
            tmp_path,
            master_data,
            CART_DB=env["CART_DB"],
            TERMINAL_RATE_LIMIT="0",
            MAX_OPEN_CARTS="0",
            USE_GRPC="true",
            WATCH_ITEM_CHANGES="false",
        )
        try:
            yield server, master_data, cart, key
        finally:
            assert cart.stop() == 0, cart.log
            assert master_data.stop() == 0, master_data.log


class Client:
    """Just enough HTTP for this test: status, JSON body, headers."""

    def __init__(self, session: aiohttp.ClientSession, key: str) -> None:
        self._session = session
        self._key = key

    async def call(self, method: str, url: str, body: object = None) -> tuple[int, dict, dict]:
        async with self._session.request(
            method,
            url,
            json=body,
            headers={"X-API-KEY": self._key},
            timeout=aiohttp.ClientTimeout(total=15),
        ) as response:
            return response.status, await response.json(content_type=None), dict(response.headers)


async def test_requests_during_an_outage_get_503_and_service_resumes(
    stack: tuple[LocalPostgres, ServiceProcess, ServiceProcess, str],
) -> None:
    server, master_data, cart, key = stack
    api = cart.url() + "/api/v1"
    lookup = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0007"}
    async with aiohttp.ClientSession() as session:
        http = Client(session, key)
        status, created, _ = await http.call("POST", f"{api}/carts")
        lines = f"{api}/carts/{created['cartId']}/lineItems"
        assert (await http.call("POST", lines, [{"itemCode": "ITEM0001"}]))[0] == 200

        server.stop()
        status, body, headers = await http.call("POST", lines, [{"itemCode": "ITEM0001"}])
        assert (status, body["code"], headers["Retry-After"]) == (503, "storage_unavailable", "1")
        assert (await http.call("POST", f"{api}/carts"))[0] == 503
        assert (await http.call("GET", cart.url() + "/readyz"))[0] == 503
        # An item master-data has not cached: its store is down, it says UNAVAILABLE.
        status, body, _ = await http.call("POST", master_data.url() + CONNECT, lookup)
        assert (status, body["code"]) == (503, "unavailable")
        status, body, _ = await http.call("POST", lines, [{"itemCode": "ITEM0007"}])
        assert status == 503, body
        assert (await http.call("GET", master_data.url() + "/readyz"))[0] == 503

        server.start()
        status, body, _ = await http.call("POST", lines, [{"itemCode": "ITEM0007"}])
        assert status == 200, body
        assert [line["itemCode"] for line in body["lineItems"]] == ["ITEM0001", "ITEM0007"]
        assert (await http.call("GET", cart.url() + "/readyz"))[0] == 200
        assert (await http.call("POST", master_data.url() + CONNECT, lookup))[0] == 200
    assert "Traceback" not in cart.log
    assert "Traceback" not in master_data.log
