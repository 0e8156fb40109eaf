"""A terminal set up for a tenant or store master-data does not know: every scan says so with
its own code (tenant_not_found, store_not_found), never item_not_found, over gRPC and over the
Connect fallback alike (master-data's NotFoundDetail carries what was not found)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(tmp_path_factory.mktemp("md"))
    yield service
    service.stop()


@pytest.mark.parametrize("use_grpc", ["true", "false"], ids=["grpc", "connect"])
@pytest.mark.parametrize(
    ("tenant", "store", "code", "expected"),
    [
        ("T9999", "S001", "ITEM0005", "tenant_not_found"),
        ("T0001", "S999", "ITEM0005", "store_not_found"),
        ("T0001", "S001", "NOPE", "item_not_found"),
    ],
)
async def test_a_scan_names_what_master_data_does_not_know(
    tmp_path: Path, master_data: ServiceProcess, use_grpc: str, tenant: str, store: str,
    code: str, expected: str,
) -> None:  # fmt: skip
    key = add_terminal(tmp_path, tenant, store, "R01")
    cart = start_cart(tmp_path, master_data, USE_GRPC=use_grpc)
    try:
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
            async with http.post(f"{cart.url()}/api/v1/carts") as created:
                cart_id = (await created.json())["cartId"]
            url = f"{cart.url()}/api/v1/carts/{cart_id}/lineItems"
            async with http.post(url, json=[{"itemCode": code}]) as scanned:
                body = await scanned.json()
        assert scanned.status == 404, body
        assert body["code"] == expected, body
    finally:
        cart.stop()
