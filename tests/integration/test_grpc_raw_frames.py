"""Raw HTTP/2 frames at master-data's gRPC port (the h2 library, no gRPC client to tidy them):
wrong length prefixes, a compressed flag without compression, truncated and random protobuf.
Every call ends with a gRPC status, never a hang or a crash, and the server keeps serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gen.kugel.item.v1 import GetItemDetailRequest
from services.wire.codec import encode_binary
from tests.support.h2_client import call, frame
from tests.support.harness.processes import ServiceProcess, start_master_data

PATH = "/kugel.item.v1.ItemService/GetItemDetail"
GOOD = encode_binary(
    GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0001")
)
OK, INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, INTERNAL, UNIMPLEMENTED = 0, 3, 5, 8, 13, 12


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(Path(tmp_path_factory.mktemp("raw")), MAX_REQUEST_BYTES="32768")
    yield service
    assert service.stop() == 0, service.log


def raw_call(
    port: int, body: bytes, path: str = PATH, extra: list[tuple[str, str]] | None = None
) -> int:
    """Send one request as raw frames; the grpc-status the server ends the stream with."""
    return call(port, path, body, extra=extra).status


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(frame(GOOD), {OK}, id="well-formed"),
        pytest.param(
            frame(GOOD, length=len(GOOD) + 10), {INTERNAL}, id="prefix longer than the message"
        ),
        pytest.param(frame(GOOD)[:3], {INTERNAL, OK}, id="prefix cut short"),
        pytest.param(
            frame(GOOD, length=2**32 - 1), {INTERNAL, RESOURCE_EXHAUSTED}, id="prefix of 4 GiB"
        ),
        pytest.param(
            frame(GOOD, compressed=True),
            {INTERNAL, UNIMPLEMENTED},
            id="compressed flag, no compression",
        ),
        pytest.param(frame(GOOD[:-2]), {INVALID_ARGUMENT}, id="truncated protobuf"),
        pytest.param(frame(b"\x0f\xff\xff"), {INVALID_ARGUMENT}, id="garbage protobuf"),
        pytest.param(
            frame(b"\x0a" + b"\xff" * 10), {INVALID_ARGUMENT}, id="varint length overflow"
        ),
        pytest.param(frame(b"x" * 40_000), {RESOURCE_EXHAUSTED}, id="over the size limit"),
        # As grpc-go and the Connect conformance suite have it: a unary rpc takes exactly one.
        pytest.param(frame(GOOD) + frame(GOOD), {UNIMPLEMENTED}, id="two messages for a unary rpc"),
        pytest.param(b"", {UNIMPLEMENTED}, id="no message at all"),
    ],
)
def test_malformed_frames(server: ServiceProcess, body: bytes, expected: set[int]) -> None:
    assert raw_call(server.ports["gRPC"], body) in expected
    assert raw_call(server.ports["gRPC"], frame(GOOD)) == OK


@settings(max_examples=60)
@given(
    payload=st.binary(max_size=200),
    compressed=st.booleans(),
    skew=st.integers(min_value=-5, max_value=5),
)
def test_random_frames_always_get_a_status(
    server: ServiceProcess, payload: bytes, compressed: bool, skew: int
) -> None:
    length = max(0, len(payload) + skew)
    status = raw_call(server.ports["gRPC"], frame(payload, compressed=compressed, length=length))
    assert 0 <= status <= 16


def test_unknown_rpc_and_still_serving(server: ServiceProcess) -> None:
    assert (
        raw_call(server.ports["gRPC"], frame(GOOD), path="/kugel.item.v1.ItemService/Nope")
        == UNIMPLEMENTED
    )
    assert raw_call(server.ports["gRPC"], frame(GOOD)) == OK


def test_a_client_that_opens_many_streams_before_reading_the_settings_is_served(
    server: ServiceProcess,
) -> None:
    """An eager client (grpc-go at load) opens streams before it has read the server's SETTINGS:
    150 in one write are all answered; h2's default limit of 100 reset the whole connection."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    for _ in range(150):
        stream = client.get_next_available_stream_id()
        client.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"), (":path", PATH), (":authority", "x"),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ])  # fmt: skip
        client.send_data(stream, frame(GOOD), end_stream=True)
    ended = 0
    with socket.create_connection(("127.0.0.1", server.ports["gRPC"]), timeout=10) as sock:
        sock.sendall(client.data_to_send())
        while ended < 150:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in client.receive_data(data):
                ended += isinstance(event, h2.events.StreamEnded)
            sock.sendall(client.data_to_send())
    assert ended == 150
