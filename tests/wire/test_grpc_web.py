"""gRPC-Web's bytes: a request's one frame, the trailers frame, grpc-timeout."""

from __future__ import annotations

import base64
import gzip

import pytest

from services.wire import grpc_web
from services.wire.connect import Code, ConnectError


def frame(data: bytes, flags: int = 0) -> bytes:
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


def test_a_request_is_exactly_one_frame() -> None:
    assert grpc_web.request_message(frame(b"abc"), "identity", 100) == b"abc"
    assert grpc_web.request_message(frame(gzip.compress(b"abc"), 1), "gzip", 100) == b"abc"
    for body, code in (
        (b"", Code.UNIMPLEMENTED),
        (frame(b"a") + frame(b"b"), Code.UNIMPLEMENTED),
        (frame(b"abc")[:-1], Code.INVALID_ARGUMENT),
        (b"\x00\x00", Code.INVALID_ARGUMENT),
        (frame(b"a", 0x80), Code.INVALID_ARGUMENT),
        (frame(b"x" * 101), Code.RESOURCE_EXHAUSTED),
        (frame(b"abc", 1), Code.INTERNAL),  # compressed, but no grpc-encoding
    ):
        with pytest.raises(ConnectError) as refused:
            grpc_web.request_message(body, "identity", 100)
        assert refused.value.code is code, body


def test_the_trailers_frame_carries_the_status_message_details_and_trailers() -> None:
    ok = grpc_web.trailers_frame(None, [("x-took", "3")])
    assert ok[0] == grpc_web.TRAILERS
    assert ok[5:] == b"grpc-status: 0\r\nx-took: 3\r\n"
    detail = {"type": "google.protobuf.Empty", "value": ""}
    error = ConnectError(Code.NOT_FOUND, "no item 50%", details=[detail])
    block = grpc_web.trailers_frame(error, [])[5:].decode()
    lines = dict(line.split(": ", 1) for line in block.strip().split("\r\n"))
    assert (lines["grpc-status"], lines["grpc-message"]) == ("5", "no item 50%25")
    status = base64.b64decode(lines["grpc-status-details-bin"] + "==")
    assert b"type.googleapis.com/google.protobuf.Empty" in status


def test_grpc_timeout() -> None:
    assert grpc_web.timeout_seconds(None) is None
    assert grpc_web.timeout_seconds("250m") == 0.25
    assert grpc_web.timeout_seconds("5S") == 5
    for bad in ("5", "m", "123456789S", "-1S", "5x", "1.5S"):
        with pytest.raises(ConnectError) as refused:
            grpc_web.timeout_seconds(bad)
        assert refused.value.code is Code.INVALID_ARGUMENT, bad
