"""The HTTP ports of both services at their edges, over real sockets: an ignored h2c Upgrade
keeps its body, malformed numeric headers are 400 (not 500), request heads are bounded (431),
half-sent requests are closed (408), and the open connections of a port are capped (503)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from services.wire.codec import decode_binary, encode_binary
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)
from tests.support.raw_http import exchange, post, read_reply, status_and_json

ITEM = "/kugel.item.v1.ItemService/GetItemDetail"
GOOD = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0005"}
UPGRADE = [("connection", "Upgrade, HTTP2-Settings"), ("upgrade", "h2c"),
           ("http2-settings", "AAMAAABkAAQCAAAAAAIAAAAA")]  # fmt: skip
LIMITS = {"MAX_HEADER_BYTES": "8192", "REQUEST_READ_TIMEOUT_SECONDS": "1", "MAX_CONNECTIONS": "40"}


@dataclass
class Stack:
    master_data: ServiceProcess
    cart: ServiceProcess
    key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = Path(tmp_path_factory.mktemp("edges"))
    master_data = start_master_data(tmp, **LIMITS)
    key = add_terminal(tmp, "T0001", "S001", "R01")
    cart = start_cart(tmp, master_data, **LIMITS)
    yield Stack(master_data, cart, key)
    cart.stop()
    master_data.stop()


def ports(stack: Stack) -> list[int]:
    return [stack.master_data.ports["HTTP"], stack.cart.ports["HTTP"]]


def test_an_ignored_h2c_upgrade_keeps_its_json_body(stack: Stack) -> None:
    headers = [("content-type", "application/json"), *UPGRADE]
    reply = exchange(
        stack.master_data.ports["HTTP"], post(ITEM, json.dumps(GOOD).encode(), headers)
    )
    status, body = status_and_json(reply)
    assert status == 200, body
    assert body["item"]["unitPrice"] == "1930"


def test_an_ignored_h2c_upgrade_keeps_its_proto_body(stack: Stack) -> None:
    request = encode_binary(GetItemDetailRequest(tenant_id="T0001", store_code="S001",
                                                 item_code="ITEM0005"))  # fmt: skip
    headers = [("content-type", "application/proto"), *UPGRADE]
    reply = exchange(stack.master_data.ports["HTTP"], post(ITEM, request, headers))
    assert reply.startswith(b"HTTP/1.1 200")
    answer = decode_binary(reply.partition(b"\r\n\r\n")[2], GetItemDetailResponse, 1 << 20)
    assert answer.item is not None
    assert answer.item.item_code == "ITEM0005"


def test_malformed_numeric_headers_are_400_not_500(stack: Stack) -> None:
    superscript_two = "\u00b2"  # str.isdigit() says yes, int() says no
    connect = post(
        ITEM,
        json.dumps(GOOD).encode(),
        {"content-type": "application/json", "connect-timeout-ms": superscript_two},
    )
    status, body = status_and_json(exchange(stack.master_data.ports["HTTP"], connect))
    assert (status, body["code"]) == (400, "invalid_argument")
    cart_port, auth = stack.cart.ports["HTTP"], {"x-api-key": stack.key}
    status, created = status_and_json(exchange(cart_port, post("/api/v1/carts", b"", auth)))
    assert status == 201
    scan = post(
        f"/api/v1/carts/{created['cartId']}/lineItems",
        b'[{"itemCode": "ITEM0001"}]',
        {**auth, "content-type": "application/json", "x-request-timeout-ms": superscript_two},
    )
    status, body = status_and_json(exchange(cart_port, scan))
    assert (status, body["code"]) == (400, "validation_error")
    for service in (stack.master_data, stack.cart):
        assert "Traceback" not in service.log


def test_a_request_head_over_the_limit_is_431(stack: Stack) -> None:
    for port in ports(stack):
        big = post("/healthz", b"", {"x-padding": "a" * 20_000})
        assert exchange(port, big).startswith(b"HTTP/1.1 431")
        many = post("/healthz", b"", [(f"x-h{n}", "a" * 100) for n in range(200)])
        assert exchange(port, many).startswith(b"HTTP/1.1 431")
        fine = post("/healthz", b"", {"x-padding": "a" * 4000}).replace(b"POST", b"GET", 1)
        assert exchange(port, fine).startswith(b"HTTP/1.1 200")


def test_a_half_sent_request_is_closed_with_408(stack: Stack) -> None:
    for port in ports(stack):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /heal")
            started = time.monotonic()
            reply = read_reply(sock)
            assert reply.startswith(b"HTTP/1.1 408")
            assert time.monotonic() - started < 1 + 1.5
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert sock.recv(1024).startswith(b"HTTP/1.1 408")  # silent from the start: too


def test_a_newcomer_past_the_cap_takes_the_place_of_a_silent_connection(stack: Stack) -> None:
    for port in ports(stack):
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
        try:
            time.sleep(0.2)  # all 40 accepted: the port is at its cap
            reply = exchange(port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 200")  # in, where it was refused (503) before
            closed = 0
            for sock in held:  # the one that had sent the least (nothing, first) was closed
                sock.settimeout(0.05)
                with contextlib.suppress(TimeoutError):
                    closed += sock.recv(1024) == b""
            assert closed >= 1
        finally:
            for sock in held:
                sock.close()


def test_hypercorn_keeps_the_limits_too(tmp_path: Path) -> None:
    """With HTTP_SERVER=hypercorn: a head over the limit is 431, a half-sent connection is
    closed after the read timeout and a silent one after the idle timeout (without a 408)."""
    idle = {"HTTP_IDLE_TIMEOUT_SECONDS": "2"}
    service = start_master_data(tmp_path, HTTP_SERVER="hypercorn", **LIMITS, **idle)
    try:
        port = service.ports["HTTP"]
        big = post("/healthz", b"", {"x-padding": "a" * 20_000}).replace(b"POST", b"GET", 1)
        assert exchange(port, big).startswith(b"HTTP/1.1 431")
        # Half-sent: REQUEST_READ_TIMEOUT_SECONDS (1); silent from the start: the idle timeout.
        for first_bytes, timeout in ((b"GET /heal", 1), (b"", 2)):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(first_bytes)
                started = time.monotonic()
                assert read_reply(sock) == b""  # closed by the server
                assert time.monotonic() - started < timeout + 1.5
        fine = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
        assert exchange(port, fine).startswith(b"HTTP/1.1 200")
    finally:
        assert service.stop() == 0, service.log


def test_hypercorn_h2_survives_data_after_an_early_reply(tmp_path: Path) -> None:
    """HTTP/2 on Hypercorn: a call answered before its body was read (405 for DELETE), whose
    client then sends that body, must not take the connection down: the next call on the same
    connection is answered (Hypercorn 0.18 raised KeyError there;
    services.http_servers.hypercorn_server drops such frames)."""
    service = start_master_data(tmp_path, HTTP_SERVER="hypercorn")
    try:
        config = h2.config.H2Configuration(client_side=True)
        with socket.create_connection(("127.0.0.1", service.ports["HTTP"]), timeout=10) as sock:
            connection = h2.connection.H2Connection(config)
            connection.initiate_connection()
            head = [(":scheme", "http"), (":authority", "127.0.0.1"), (":path", ITEM),
                    ("content-type", "application/json")]  # fmt: skip

            def answer(stream: int) -> int:
                status = 0
                while True:
                    data = sock.recv(65536)
                    assert data, "the server closed the connection"
                    for event in connection.receive_data(data):
                        if isinstance(event, h2.events.ResponseReceived):
                            status = int(dict(event.headers)[b":status"])
                        if isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                            return status
                    sock.sendall(connection.data_to_send())

            connection.send_headers(1, [(":method", "DELETE"), *head])
            sock.sendall(connection.data_to_send())
            assert answer(1) == 405
            connection.send_data(1, json.dumps(GOOD).encode(), end_stream=True)  # too late
            connection.send_headers(3, [(":method", "POST"), *head])
            connection.send_data(3, json.dumps(GOOD).encode(), end_stream=True)
            sock.sendall(connection.data_to_send())
            assert answer(3) == 200
    finally:
        assert service.stop() == 0, service.log
    assert "Traceback" not in service.log
