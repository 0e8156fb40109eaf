"""The official Connect Python runtime (`connectrpc`) as a client nobody here wrote, with its
defaults: Connect with proto and JSON, GET for the no-side-effect rpcs, gzip on, its gRPC
protocol (gzip by default) over HTTP/2, and its gRPC-Web protocol on the HTTP port (lookups,
error codes, a server stream). Every answer equals our own stub's.

connectrpc brings its own protobuf runtime; the codec handed to it encodes our betterproto2
messages with the project's codecs, so what is under test is its wire protocol, not ours."""

from __future__ import annotations

from typing import Any

import pyqwest
import pytest
from connectrpc.client import ConnectClient
from connectrpc.compression.gzip import GzipCompression
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.protocol import ProtocolType
from grpclib.client import Channel

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceStub,
    StreamStoreItemsRequest,
    StreamStoreItemsResponse,
)
from services.wire.codec import decode_binary, decode_json, encode_binary, encode_json
from tests.support.harness.processes import ServiceProcess

from .conftest import AUTH

CODES = [f"ITEM{n:04d}" for n in range(1, 41)]


class Codec:
    """connectrpc's Codec protocol over the project's codecs."""

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name

    def encode(self, message: Any) -> bytes:
        return encode_json(message) if self._name == "json" else encode_binary(message)

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        decode = decode_json if self._name == "json" else decode_binary
        return decode(bytes(data), message_class, 1 << 22)


def method(name: str, request: type[Any], reply: type[Any]) -> MethodInfo[Any, Any]:
    return MethodInfo(
        name=name,
        service_name="kugel.item.v1.ItemService",
        input=request,
        output=reply,
        idempotency_level=IdempotencyLevel.NO_SIDE_EFFECTS,
        stream_type=StreamType.UNARY,
    )


GET_ITEM = method("GetItemDetail", GetItemDetailRequest, GetItemDetailResponse)
BATCH = method("BatchGetItemDetails", BatchGetItemDetailsRequest, BatchGetItemDetailsResponse)
BATCH_REQUEST = BatchGetItemDetailsRequest(tenant_id="T0001", store_code="S001", item_codes=CODES)


async def ours(port: int) -> BatchGetItemDetailsResponse:
    channel = Channel("127.0.0.1", port)
    try:
        return await ItemServiceStub(channel).batch_get_item_details(
            BATCH_REQUEST, metadata=AUTH, timeout=5
        )
    finally:
        channel.close()


@pytest.mark.parametrize(
    ("protocol", "codec", "use_get"),
    [
        pytest.param(ProtocolType.CONNECT, "proto", False, id="connect proto POST"),
        pytest.param(ProtocolType.CONNECT, "json", False, id="connect json POST"),
        pytest.param(ProtocolType.CONNECT, "proto", True, id="connect proto GET"),
        pytest.param(ProtocolType.CONNECT, "json", True, id="connect json GET"),
        pytest.param(ProtocolType.GRPC, "proto", False, id="grpc"),
        pytest.param(ProtocolType.GRPC_WEB, "proto", False, id="grpc-web proto"),
        pytest.param(ProtocolType.GRPC_WEB, "json", False, id="grpc-web json"),
    ],
)
async def test_connect_python_client_defaults(
    master_data: ServiceProcess, protocol: ProtocolType, codec: str, use_get: bool
) -> None:
    grpc = protocol is ProtocolType.GRPC
    port = master_data.ports["gRPC" if grpc else "HTTP"]
    version = pyqwest.HTTPVersion.HTTP2 if grpc else None  # h2c prior knowledge for gRPC
    async with (
        pyqwest.HTTPTransport(http_version=version) as transport,
        ConnectClient(
            f"http://127.0.0.1:{port}",
            codec=Codec(codec),
            protocol=protocol,
            send_compression=GzipCompression(),  # the default, named: every request is gzip
            http_client=pyqwest.Client(transport),
            timeout_ms=5000,
        ) as client,
    ):
        batch = await client.execute_unary(
            request=BATCH_REQUEST, method=BATCH, headers=AUTH, use_get=use_get
        )
    assert batch == await ours(master_data.ports["gRPC"])


@pytest.mark.parametrize(
    "protocol",
    [
        pytest.param(ProtocolType.CONNECT, id="connect"),
        pytest.param(ProtocolType.GRPC_WEB, id="grpc-web"),
    ],
)
async def test_connect_python_client_sees_our_error_codes(
    master_data: ServiceProcess, protocol: ProtocolType
) -> None:
    async with ConnectClient(
        f"http://127.0.0.1:{master_data.ports['HTTP']}",
        codec=Codec("json"),
        protocol=protocol,
        timeout_ms=5000,
    ) as client:
        with pytest.raises(ConnectError) as raised:
            await client.execute_unary(
                request=GetItemDetailRequest(
                    tenant_id="T0001", store_code="S001", item_code="NOPE"
                ),
                method=GET_ITEM,
                headers=AUTH,
            )
    assert raised.value.code.name == "NOT_FOUND"
    async with ConnectClient(
        f"http://127.0.0.1:{master_data.ports['HTTP']}",
        codec=Codec("proto"),
        protocol=protocol,
        timeout_ms=5000,
    ) as client:
        with pytest.raises(ConnectError) as unauthenticated:
            await client.execute_unary(request=BATCH_REQUEST, method=BATCH)
    assert unauthenticated.value.code.name == "UNAUTHENTICATED"


STREAM_ITEMS = MethodInfo(
    name="StreamStoreItems",
    service_name="kugel.item.v1.ItemService",
    input=StreamStoreItemsRequest,
    output=StreamStoreItemsResponse,
    idempotency_level=IdempotencyLevel.NO_SIDE_EFFECTS,
    stream_type=StreamType.SERVER_STREAM,
)


@pytest.mark.parametrize(
    "protocol",
    [
        pytest.param(ProtocolType.CONNECT, id="connect"),
        pytest.param(ProtocolType.GRPC_WEB, id="grpc-web"),
    ],
)
async def test_connect_python_client_reads_a_server_stream(
    master_data: ServiceProcess, protocol: ProtocolType
) -> None:
    async with ConnectClient(
        f"http://127.0.0.1:{master_data.ports['HTTP']}",
        codec=Codec("proto"),
        protocol=protocol,
        send_compression=GzipCompression(),
        timeout_ms=10_000,
    ) as client:
        pages = [
            page
            async for page in client.execute_server_stream(
                request=StreamStoreItemsRequest(tenant_id="T0001", store_code="S001"),
                method=STREAM_ITEMS,
                headers=AUTH,
            )
        ]
    channel = Channel("127.0.0.1", master_data.ports["gRPC"])
    try:
        expected = [
            page
            async for page in ItemServiceStub(channel).stream_store_items(
                StreamStoreItemsRequest(tenant_id="T0001", store_code="S001"),
                metadata=AUTH,
                timeout=10,
            )
        ]
    finally:
        channel.close()
    assert pages == expected
    assert sum(len(p.items) for p in pages) > 0
