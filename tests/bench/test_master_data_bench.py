"""master-data lookup latency against a running server with a warm cache (pytest-benchmark).

Each round is one lookup driven by `loop.run_until_complete`, which adds a few microseconds
of its own to every figure. Run with `just bench`; in `just test` each runs once as a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import grpc
import pytest
from grpclib.client import Channel
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse
from pytest_benchmark.fixture import BenchmarkFixture

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceStub,
)
from services.wire.codec import (
    decode_binary,
    decode_json,
    encode_binary,
    encode_json,
)
from services.wire.grpc import StrictProtoCodec
from tests.support.harness.processes import ServiceProcess

SINGLE = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
BATCH = BatchGetItemDetailsRequest(
    tenant_id="T0001", store_code="S001", item_codes=[f"ITEM{n:04d}" for n in range(1, 21)]
)
PATH = "/kugel.item.v1.ItemService/"


@pytest.fixture(scope="module")
def stub(loop: asyncio.AbstractEventLoop, master_data: ServiceProcess) -> Iterator[ItemServiceStub]:
    async def make() -> Channel:
        return Channel("127.0.0.1", master_data.ports["gRPC"], codec=StrictProtoCodec(1 << 22))

    channel = loop.run_until_complete(make())
    yield ItemServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def session(loop: asyncio.AbstractEventLoop) -> Iterator[aiohttp.ClientSession]:
    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    session = loop.run_until_complete(make())
    yield session
    loop.run_until_complete(session.close())


@pytest.mark.benchmark(group="master-data lookup")
def test_grpc_single(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, stub: ItemServiceStub
) -> None:
    result = benchmark(lambda: loop.run_until_complete(stub.get_item_detail(SINGLE, timeout=5)))
    assert result.item.item_code == "ITEM0005"


@pytest.mark.benchmark(group="master-data lookup")
def test_grpc_batch_of_20(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, stub: ItemServiceStub
) -> None:
    result = benchmark(
        lambda: loop.run_until_complete(stub.batch_get_item_details(BATCH, timeout=5))
    )
    assert len(result.items) == 20


def _connect(
    loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession, url: str, body: bytes
) -> bytes:
    async def call() -> bytes:
        async with session.post(
            url,
            data=body,
            headers={"content-type": "application/json", "connect-timeout-ms": "5000"},
        ) as response:
            assert response.status == 200
            return await response.read()

    return loop.run_until_complete(call())


@pytest.mark.benchmark(group="master-data lookup")
def test_connect_json_single(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    session: aiohttp.ClientSession,
    master_data: ServiceProcess,
) -> None:
    url, body = master_data.url() + PATH + "GetItemDetail", encode_json(SINGLE)
    assert b"ITEM0005" in benchmark(_connect, loop, session, url, body)


@pytest.mark.benchmark(group="master-data lookup")
def test_connect_json_batch_of_20(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    session: aiohttp.ClientSession,
    master_data: ServiceProcess,
) -> None:
    url, body = master_data.url() + PATH + "BatchGetItemDetails", encode_json(BATCH)
    assert b"ITEM0020" in benchmark(_connect, loop, session, url, body)


@pytest.fixture(scope="module")
def response_bytes(loop: asyncio.AbstractEventLoop, stub: ItemServiceStub) -> bytes:
    return encode_binary(loop.run_until_complete(stub.get_item_detail(SINGLE, timeout=5)))


@pytest.mark.benchmark(group="item message codec")
def test_decode_item_strict(benchmark: BenchmarkFixture, response_bytes: bytes) -> None:
    message = benchmark(decode_binary, response_bytes, GetItemDetailResponse, 1 << 20)
    assert message.item is not None


@pytest.mark.benchmark(group="item message codec")
def test_decode_item_betterproto2_only(benchmark: BenchmarkFixture, response_bytes: bytes) -> None:
    assert benchmark(GetItemDetailResponse.parse, response_bytes).item is not None


@pytest.mark.benchmark(group="item message codec")
def test_encode_item(benchmark: BenchmarkFixture, response_bytes: bytes) -> None:
    message = GetItemDetailResponse.parse(response_bytes)
    assert benchmark(encode_binary, message) == response_bytes


@pytest.mark.benchmark(group="item message codec")
def test_encode_item_betterproto2_only(benchmark: BenchmarkFixture, response_bytes: bytes) -> None:
    message = GetItemDetailResponse.parse(response_bytes)
    assert benchmark(bytes, message) == response_bytes


@pytest.mark.benchmark(group="item message codec")
def test_json_round_trip_item(benchmark: BenchmarkFixture, response_bytes: bytes) -> None:
    message = GetItemDetailResponse.parse(response_bytes)
    assert (
        benchmark(lambda: decode_json(encode_json(message), GetItemDetailResponse, 1 << 20))
        == message
    )


# The floors: the same transports answering with none of our code (grpclib's own health
# service, a bare Starlette route). Our figures read best as a ratio to these, measured in
# the same run: this machine's absolute speed varies severalfold from hour to hour.


@pytest.mark.benchmark(group="master-data lookup")
def test_floor_grpclib_health_check(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, stub: ItemServiceStub
) -> None:
    health = HealthStub(stub.channel)
    reply = benchmark(
        lambda: loop.run_until_complete(health.Check(HealthCheckRequest(), timeout=5))
    )
    assert reply.status == HealthCheckResponse.SERVING


@pytest.mark.benchmark(group="master-data lookup")
def test_floor_starlette_healthz(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    session: aiohttp.ClientSession,
    master_data: ServiceProcess,
) -> None:
    async def call() -> int:
        async with session.get(master_data.url() + "/healthz") as response:
            await response.read()
            return response.status

    assert benchmark(lambda: loop.run_until_complete(call())) == 200


@pytest.mark.benchmark(group="master-data lookup")
def test_grpcio_client_single(benchmark: BenchmarkFixture, master_data: ServiceProcess) -> None:
    """Google's grpcio (C core) client against our server: the reference client, same server."""
    with grpc.insecure_channel(f"127.0.0.1:{master_data.ports['gRPC']}") as channel:
        call = channel.unary_unary(
            "/kugel.item.v1.ItemService/GetItemDetail",
            request_serializer=None,
            response_deserializer=None,
        )
        body = encode_binary(SINGLE)
        reply = benchmark(call, body, timeout=5)
    assert b"ITEM0005" in reply
