"""TLS on every hop, with a throwaway CA made by the test: master-data's gRPC and HTTP sides,
the cart's item lookups over both, and the cart API itself."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import grpc
import pytest

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from services.wire.codec import encode_binary
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .conftest import tls_env


def https(service: ServiceProcess) -> str:
    return f"https://127.0.0.1:{service.ports['HTTP']}"


@pytest.mark.parametrize(
    "use_grpc", [pytest.param("false", id="http"), pytest.param("true", id="grpc")]
)
async def test_checkout_over_tls_everywhere(
    tmp_path: Path, pki: dict[str, Path], use_grpc: str
) -> None:
    master_data = start_master_data(tmp_path, **tls_env(pki))
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(
        tmp_path,
        master_data,
        **tls_env(pki),
        USE_GRPC=use_grpc,
        USE_ITEM_CACHE="false",
        MASTER_DATA_GRPC_TLS="true",
        MASTER_DATA_CA_FILE=str(pki["ca"]),
        MASTER_DATA_HTTP_URL=https(master_data),
    )
    try:
        trusted = ssl.create_default_context(cafile=str(pki["ca"]))
        connector = aiohttp.TCPConnector(ssl=trusted)
        async with aiohttp.ClientSession(
            connector=connector, headers={"X-API-KEY": key}
        ) as session:
            async with session.post(https(cart) + "/api/v1/carts") as response:
                cart_id = (await response.json())["cartId"]
            async with session.post(
                f"{https(cart)}/api/v1/carts/{cart_id}/lineItems", json=[{"itemCode": "ITEM0005"}]
            ) as response:
                assert response.status == 200, await response.text()
            async with session.get(https(cart) + "/metrics") as response:
                transport = "grpc" if use_grpc == "true" else "connect"
                assert (
                    f'item_lookups_total{{outcome="ok",transport="{transport}"}} 1.0'
                    in await response.text()
                )
        async with aiohttp.ClientSession() as untrusting:  # the system store does not know our CA
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await untrusting.get(https(cart) + "/healthz")
    finally:
        cart.stop()
        master_data.stop()


def test_grpcio_over_tls_and_no_plaintext(tmp_path: Path, pki: dict[str, Path]) -> None:
    master_data = start_master_data(tmp_path, **tls_env(pki))
    target = f"127.0.0.1:{master_data.ports['gRPC']}"
    request = encode_binary(
        GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0001")
    )
    try:
        credentials = grpc.ssl_channel_credentials(pki["ca"].read_bytes())
        with grpc.secure_channel(target, credentials) as channel:
            call = channel.unary_unary("/kugel.item.v1.ItemService/GetItemDetail")
            reply = GetItemDetailResponse.parse(call(request, timeout=5))
            assert reply.item is not None
        with grpc.insecure_channel(target) as channel:
            call = channel.unary_unary("/kugel.item.v1.ItemService/GetItemDetail")
            with pytest.raises(grpc.RpcError) as raised:
                call(request, timeout=5)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert master_data.stop() == 0
