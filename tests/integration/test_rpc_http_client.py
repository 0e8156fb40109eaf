"""The RPC layer's clients against a real master-data: the HTTP client over Connect (POST and
GET) and gRPC-Web, every answer equal to grpclib's over gRPC; codes, details, deadlines and gzip
as the protocols say; the client interceptors on the HTTP client and on the grpclib channel."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceStub,
    StreamStoreItemsRequest,
    StreamStoreItemsResponse,
)
from services.rpc.client_interceptors import ClientCall
from services.rpc.grpc_client import InterceptedChannel
from services.rpc.http_client import RpcHttpClient, RpcProtocol
from services.wire.connect import Code, ConnectError
from tests.support.harness.processes import ServiceProcess

from .conftest import AUTH, TOKEN

SERVICE = "/kugel.item.v1.ItemService/"
BATCH = BatchGetItemDetailsRequest(
    tenant_id="T0001", store_code="S001", item_codes=[f"ITEM{n:04d}" for n in range(1, 41)]
)
PROTOCOLS = [pytest.param(p, id=p.value) for p in RpcProtocol]


def client(master_data: ServiceProcess, protocol: RpcProtocol, **kwargs: object) -> RpcHttpClient:
    return RpcHttpClient(master_data.url(), protocol, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("gzip", [False, True])
async def test_a_lookup_equals_grpcs(
    master_data: ServiceProcess, protocol: RpcProtocol, gzip: bool
) -> None:
    calls = client(master_data, protocol, token=TOKEN, gzip_requests=gzip)
    try:
        reply = await calls.unary(
            SERVICE + "BatchGetItemDetails", BATCH, BatchGetItemDetailsResponse, seconds=5
        )
    finally:
        await calls.close()
    channel = Channel("127.0.0.1", master_data.ports["gRPC"])
    try:
        expected = await ItemServiceStub(channel).batch_get_item_details(
            BATCH, metadata=AUTH, timeout=5
        )
    finally:
        channel.close()
    assert reply.message == expected
    assert reply.headers  # the reply's headers are kept


@pytest.mark.parametrize("gzip", [False, True])
async def test_a_connect_get_equals_a_post(master_data: ServiceProcess, gzip: bool) -> None:
    calls = client(master_data, RpcProtocol.CONNECT, token=TOKEN, gzip_requests=gzip)
    path = SERVICE + "BatchGetItemDetails"
    try:
        posted = await calls.unary(path, BATCH, BatchGetItemDetailsResponse, seconds=5)
        got = await calls.unary(path, BATCH, BatchGetItemDetailsResponse, seconds=5,
                                use_get=True)  # fmt: skip
    finally:
        await calls.close()
    assert got.message == posted.message
    assert len(got.message.items) == len(BATCH.item_codes)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_errors_carry_their_codes(master_data: ServiceProcess, protocol: RpcProtocol) -> None:
    missing = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="NOPE")
    for token, request, code in (
        (TOKEN, missing, Code.NOT_FOUND),
        (None, missing, Code.UNAUTHENTICATED),
        (TOKEN, GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="a b"),
         Code.INVALID_ARGUMENT),
    ):  # fmt: skip
        calls = client(master_data, protocol, token=token)
        try:
            with pytest.raises(ConnectError) as raised:
                await calls.unary(SERVICE + "GetItemDetail", request, GetItemDetailResponse,
                                  seconds=5)  # fmt: skip
        finally:
            await calls.close()
        assert raised.value.code is code, (token, request)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_server_stream_and_a_deadline(
    master_data: ServiceProcess, protocol: RpcProtocol
) -> None:
    request = StreamStoreItemsRequest(tenant_id="T0001", store_code="S001")
    calls = client(master_data, protocol, token=TOKEN)
    try:
        pages = [
            page
            async for page in calls.server_stream(
                SERVICE + "StreamStoreItems", request, StreamStoreItemsResponse, seconds=10
            )
        ]
        assert sum(len(page.items) for page in pages) > 100
        with pytest.raises(ConnectError) as late:
            async for _ in calls.server_stream(
                SERVICE + "StreamStoreItems", request, StreamStoreItemsResponse, seconds=1e-6
            ):
                pass
        assert late.value.code is Code.DEADLINE_EXCEEDED
        unknown = client(master_data, protocol, token=TOKEN)
        with pytest.raises(ConnectError) as unimplemented:
            await unknown.unary(SERVICE + "Nope", request, StreamStoreItemsResponse, seconds=5)
        await unknown.close()
        assert unimplemented.value.code is Code.UNIMPLEMENTED
    finally:
        await calls.close()


async def test_an_unreachable_peer_is_unavailable() -> None:
    calls = RpcHttpClient("http://127.0.0.1:9", RpcProtocol.GRPC_WEB)
    try:
        with pytest.raises(ConnectError) as raised:
            await calls.unary(SERVICE + "GetItemDetail", GetItemDetailRequest(),
                              GetItemDetailResponse, seconds=2)  # fmt: skip
    finally:
        await calls.close()
    assert raised.value.code is Code.UNAVAILABLE


async def test_client_interceptors_on_the_grpc_channel(master_data: ServiceProcess) -> None:
    credentials = Credentials()
    channel = InterceptedChannel("127.0.0.1", master_data.ports["gRPC"], interceptors=[credentials])
    stub = ItemServiceStub(channel)
    missing = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="NOPE")
    stream = StreamStoreItemsRequest(tenant_id="T0001", store_code="S001")
    try:
        await stub.batch_get_item_details(BATCH, timeout=5)
        with pytest.raises(GRPCError) as missed:
            await stub.get_item_detail(missing, timeout=5)
        pages = stub.stream_store_items(stream, timeout=10)
        async with contextlib.aclosing(pages):
            async for _ in pages:
                break  # stop reading after the first page
        # The stub's generator wraps another; the inner one (whose context holds the call) is
        # closed by the event loop's finalizer a turn later.
        async with asyncio.timeout(5):
            while len(credentials.ended) < 3:
                await asyncio.sleep(0.01)
    finally:
        channel.close()
    assert missed.value.status is Status.NOT_FOUND
    assert credentials.ended == [
        ("BatchGetItemDetails", False, "OK"),
        ("GetItemDetail", False, "not_found"),
        ("StreamStoreItems", True, "canceled"),
    ]
    refused = InterceptedChannel("127.0.0.1", master_data.ports["gRPC"], interceptors=[Refusing()])
    try:
        with pytest.raises(GRPCError) as refusal:
            await ItemServiceStub(refused).get_item_detail(missing, timeout=5)
    finally:
        refused.close()
    assert refusal.value.status is Status.PERMISSION_DENIED


class Credentials:
    """Adds the bearer token to every call and records how each ended."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, bool, str]] = []

    def before(self, call: ClientCall) -> None:
        call.headers["authorization"] = f"Bearer {TOKEN}"

    def after(self, call: ClientCall) -> None:
        outcome = "OK" if call.error is None else call.error.code.value
        self.ended.append((call.path.rsplit("/", 1)[1], call.streaming, outcome))


class Refusing:
    def before(self, call: ClientCall) -> None:
        raise ConnectError(Code.PERMISSION_DENIED, "not from here")

    def after(self, call: ClientCall) -> None:
        raise AssertionError("a refused call never started")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_client_interceptors_see_every_call_and_its_outcome(
    master_data: ServiceProcess, protocol: RpcProtocol
) -> None:
    credentials = Credentials()
    calls = client(master_data, protocol, interceptors=[credentials])
    missing = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="NOPE")
    stream = StreamStoreItemsRequest(tenant_id="T0001", store_code="S001")
    try:
        await calls.unary(SERVICE + "BatchGetItemDetails", BATCH, BatchGetItemDetailsResponse,
                          seconds=5)  # fmt: skip
        with pytest.raises(ConnectError):
            await calls.unary(SERVICE + "GetItemDetail", missing, GetItemDetailResponse, seconds=5)
        pages = calls.server_stream(
            SERVICE + "StreamStoreItems", stream, StreamStoreItemsResponse, seconds=10
        )
        async with contextlib.aclosing(pages):
            async for _ in pages:
                break  # stop reading after the first page
    finally:
        await calls.close()
    assert credentials.ended == [
        ("BatchGetItemDetails", False, "OK"),
        ("GetItemDetail", False, "not_found"),
        ("StreamStoreItems", True, "canceled"),
    ]
    refusing = client(master_data, protocol, interceptors=[Refusing()])
    try:
        with pytest.raises(ConnectError) as refused:
            await refusing.unary(SERVICE + "GetItemDetail", missing, GetItemDetailResponse,
                                 seconds=5)  # fmt: skip
    finally:
        await refusing.close()
    assert refused.value.code is Code.PERMISSION_DENIED
