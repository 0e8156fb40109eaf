"""master-data's gRPC port at its edges, over real sockets: message compression both ways, the
JSON sub-format, reflection of every service, bad headers, the size limit at the length prefix.
Each case failed on the code before the guarded gRPC server (now `services/rpc/`)."""

from __future__ import annotations

import json
import subprocess
import zlib

import grpc
import pytest
from grpclib.client import Channel

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceStub,
)
from services.wire.codec import decode_binary, encode_binary
from tests.support.h2_client import call, frame, gzip, messages
from tests.support.harness.processes import ServiceProcess

from .conftest import AUTH, TOKEN
from .test_master_data_clients import BUF

ITEM = "/kugel.item.v1.ItemService/GetItemDetail"
BATCH = "/kugel.item.v1.ItemService/BatchGetItemDetails"
HEALTH = "/grpc.health.v1.Health/Check"
AUTH_HEADER = [("authorization", f"Bearer {TOKEN}")]
REQUEST = encode_binary(
    GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
)
CODES = [f"ITEM{n:04d}" for n in range(1, 101)]
BATCH_REQUEST = BatchGetItemDetailsRequest(tenant_id="T0001", store_code="S001", item_codes=CODES)
OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 3, 8, 12, 13


def reply_item(body: bytes) -> GetItemDetailResponse:
    [(compressed, payload)] = messages(body)
    return decode_binary(zlib.decompress(payload, 16 + 15) if compressed else payload,
                         GetItemDetailResponse, 1 << 20)  # fmt: skip


def test_a_gzip_request_is_inflated(master_data: ServiceProcess) -> None:
    reply = call(
        master_data.ports["gRPC"],
        ITEM,
        frame(gzip(REQUEST), compressed=True),
        extra=[*AUTH_HEADER, ("grpc-encoding", "gzip")],
    )
    assert reply.status == OK, reply.trailers
    assert reply_item(reply.body).item.unit_price == 1930  # type: ignore[union-attr]


def test_replies_are_gzip_when_accepted_and_large(master_data: ServiceProcess) -> None:
    accepting = [*AUTH_HEADER, ("grpc-accept-encoding", "gzip")]
    port = master_data.ports["gRPC"]
    big = call(port, BATCH, frame(encode_binary(BATCH_REQUEST)), extra=accepting)
    assert big.status == OK
    assert big.headers["grpc-encoding"] == "gzip"
    [(compressed, payload)] = messages(big.body)
    assert compressed
    small = call(port, ITEM, frame(REQUEST), extra=accepting)
    assert messages(small.body)[0][0] is False  # under the threshold: sent as it is
    plain = call(port, BATCH, frame(encode_binary(BATCH_REQUEST)), extra=AUTH_HEADER)
    assert "grpc-encoding" not in plain.headers
    [(plain_compressed, plain_payload)] = messages(plain.body)
    assert not plain_compressed
    assert zlib.decompress(payload, 16 + 15) == plain_payload


def test_an_unknown_encoding_is_unimplemented_naming_what_is(master_data: ServiceProcess) -> None:
    reply = call(master_data.ports["gRPC"], ITEM, frame(REQUEST),
                 extra=[*AUTH_HEADER, ("grpc-encoding", "foo")])  # fmt: skip
    assert reply.status == UNIMPLEMENTED
    assert set(reply.headers["grpc-accept-encoding"].split(",")) == {"gzip", "identity"}


def test_a_compressed_flag_without_an_encoding_is_internal(master_data: ServiceProcess) -> None:
    reply = call(master_data.ports["gRPC"], ITEM, frame(gzip(REQUEST), compressed=True),
                 extra=AUTH_HEADER)  # fmt: skip
    assert reply.status == INTERNAL


def test_grpc_json_sub_format(master_data: ServiceProcess) -> None:
    body = json.dumps({"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0005"})
    reply = call(master_data.ports["gRPC"], ITEM, frame(body.encode()),
                 content_type="application/grpc+json", extra=AUTH_HEADER)  # fmt: skip
    assert reply.status == OK, reply.trailers
    assert reply.headers["content-type"] == "application/grpc+json"
    [(_, payload)] = messages(reply.body)
    assert json.loads(payload)["item"]["unitPrice"] == "1930"  # int64 as a string, per proto3 JSON
    health = call(master_data.ports["gRPC"], HEALTH, frame(b"{}"),
                  content_type="application/grpc+json")  # fmt: skip
    assert json.loads(messages(health.body)[0][1]) == {"status": "SERVING"}


def test_reflection_lists_every_service_and_buf_curl_calls_health(
    master_data: ServiceProcess,
) -> None:
    url = f"http://127.0.0.1:{master_data.ports['gRPC']}"
    listed = subprocess.run(
        [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", url],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.split()  # fmt: skip
    assert set(listed) >= {
        "kugel.item.v1.ItemService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    }
    health = subprocess.run(
        [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", "{}", url + HEALTH],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert json.loads(health) == {"status": "SERVING"}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            [(b":method", b"POST"), (b":scheme", b"http"), (b":path", ITEM.encode()),
             (b":authority", b"x"), (b"content-type", b"application/grpc"), (b"te", b"trailers"),
             (b"authorization", "Bearer \u00e9".encode())],
            id="non-ASCII value",
        ),
        pytest.param(
            [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"x"),
             (b"content-type", b"application/grpc"), (b"te", b"trailers")],
            id="no :path",
        ),
    ],
)  # fmt: skip
def test_bad_headers_are_invalid_argument_with_one_line_and_no_traceback(
    master_data: ServiceProcess, headers: list[tuple[bytes, bytes]]
) -> None:
    before = master_data.log
    reply = call(master_data.ports["gRPC"], ITEM, frame(REQUEST), headers=headers)
    assert reply.status == INVALID_ARGUMENT
    written = master_data.log[len(before) :]
    assert "gRPC request refused" in written
    assert "Traceback" not in written


def test_an_oversize_message_is_refused_at_its_length_prefix(master_data: ServiceProcess) -> None:
    """256 MB announced to the health check (no token needed), 10 bytes sent: refused at once."""
    reply = call(master_data.ports["gRPC"], HEALTH, frame(b"x" * 10, length=256 << 20), timeout=5)
    assert reply.status == RESOURCE_EXHAUSTED


async def test_grpcio_with_channel_gzip_gets_what_our_stub_gets(
    master_data: ServiceProcess,
) -> None:
    port = master_data.ports["gRPC"]
    channel = Channel("127.0.0.1", port)
    try:
        ours = await ItemServiceStub(channel).batch_get_item_details(
            BATCH_REQUEST, metadata=AUTH, timeout=5
        )
    finally:
        channel.close()
    target = f"127.0.0.1:{port}"
    with grpc.insecure_channel(target, compression=grpc.Compression.Gzip) as channel:
        batch = channel.unary_unary(
            BATCH,
            request_serializer=encode_binary,
            response_deserializer=lambda b: decode_binary(b, BatchGetItemDetailsResponse, 1 << 22),
        )(BATCH_REQUEST, timeout=5, metadata=list(AUTH.items()))
    assert batch == ours
    assert len(batch.items) == 100
