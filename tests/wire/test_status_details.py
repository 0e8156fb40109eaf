"""Error details and the codec shapes the Connect conformance suite needs: google.rpc.Status as
`grpc-status-details-bin` (parsed back by the official runtime), Connect's `details`, optional
scalars that keep their presence, and google.protobuf.Any in binary and JSON."""

from __future__ import annotations

import base64

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.any_pb2 import DESCRIPTOR as ANY_FILE

from services.wire.codec import decode_binary, decode_json, encode_binary, encode_json
from services.wire.status_details import connect_details, status_details_bin
from tests.conformance.gen.connectrpc.conformance.v1 import (
    ConformancePayloadRequestInfo,
    Header,
    UnaryRequest,
)
from tests.conformance.gen.google.protobuf import Any as AnyMessage

LIMIT = 1 << 20


def rpc_status_class() -> type:
    """google.rpc.Status, described here (googleapis-common-protos is not a dependency)."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(ANY_FILE.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(
        name="google/rpc/status.proto",
        package="google.rpc",
        dependency=["google/protobuf/any.proto"],
        syntax="proto3",
    )
    status = file.message_type.add(name="Status")
    field = descriptor_pb2.FieldDescriptorProto
    status.field.add(name="code", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    status.field.add(
        name="details",
        number=3,
        type=field.TYPE_MESSAGE,
        type_name=".google.protobuf.Any",
        label=field.LABEL_REPEATED,
    )
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


def test_status_details_are_a_google_rpc_status() -> None:
    info = ConformancePayloadRequestInfo(timeout_ms=1500)
    packed = AnyMessage(type_url="type.googleapis.com/x.Y", value=b"\x01\x02")
    status = rpc_status_class()()
    status.ParseFromString(status_details_bin(5, "not found: ü", [info, packed]))
    assert (status.code, status.message) == (5, "not found: ü")
    assert [d.type_url for d in status.details] == [
        "type.googleapis.com/connectrpc.conformance.v1.ConformancePayload.RequestInfo",
        "type.googleapis.com/x.Y",
    ]
    assert status.details[0].value == bytes(info)
    assert status.details[1].value == b"\x01\x02"


def test_connect_details_name_the_type_and_carry_unpadded_base64() -> None:
    info = ConformancePayloadRequestInfo(timeout_ms=7)
    [detail] = connect_details([info])
    assert detail["type"] == "connectrpc.conformance.v1.ConformancePayload.RequestInfo"
    assert "=" not in detail["value"]
    value = detail["value"] + "=" * (-len(detail["value"]) % 4)
    assert base64.b64decode(value) == bytes(info)


def test_an_optional_zero_keeps_its_presence_both_ways() -> None:
    zero = ConformancePayloadRequestInfo(timeout_ms=0)
    assert decode_binary(encode_binary(zero), ConformancePayloadRequestInfo, LIMIT).timeout_ms == 0
    assert b'"timeoutMs":"0"' in encode_json(zero)
    assert decode_json(encode_json(zero), ConformancePayloadRequestInfo, LIMIT).timeout_ms == 0
    unset = ConformancePayloadRequestInfo()
    assert (
        decode_binary(encode_binary(unset), ConformancePayloadRequestInfo, LIMIT).timeout_ms is None
    )
    assert encode_json(unset) == b"{}"


def test_any_travels_in_binary_and_as_type_tagged_json() -> None:
    request = UnaryRequest(request_data=b"hello")
    info = ConformancePayloadRequestInfo(
        request_headers=[Header(name="x-a", value=["1", "2"])],
        requests=[
            AnyMessage(
                type_url="type.googleapis.com/connectrpc.conformance.v1.UnaryRequest",
                value=bytes(request),
            )
        ],
    )
    assert decode_binary(encode_binary(info), ConformancePayloadRequestInfo, LIMIT) == info
    document = encode_json(info)
    assert b'"@type":"type.googleapis.com/connectrpc.conformance.v1.UnaryRequest"' in document
    assert b'"requestData":"aGVsbG8="' in document
    assert decode_json(document, ConformancePayloadRequestInfo, LIMIT) == info
