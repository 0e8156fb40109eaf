"""Hostile sockets against all three ports, each attack bounded in count and time and aimed at
loopback only. While an attack runs, a well-behaved client on the same port gets its answer
within 1 s; afterwards the attacked process's RSS is within 20 % of where it started."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from services.common.process_limits import raise_open_file_limit
from tests.support.h2_client import call, frame
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)
from tests.support.raw_http import exchange

HEALTH = "/grpc.health.v1.Health/Check"
READ_TIMEOUT = 2.0
ENHANCE_YOUR_CALM = 11


@dataclass
class Stack:
    master_data: ServiceProcess
    cart: ServiceProcess


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    raise_open_file_limit()  # this test process holds a few thousand sockets
    tmp = Path(tmp_path_factory.mktemp("hostile"))
    limits = {"REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)}
    master_data = start_master_data(tmp, **limits)
    add_terminal(tmp, "T0001", "S001", "R01")
    cart = start_cart(tmp, master_data, **limits)
    yield Stack(master_data, cart)
    cart.stop()
    master_data.stop()


def http_ok(port: int) -> Callable[[], bool]:
    return lambda: exchange(port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").startswith(
        b"HTTP/1.1 200"
    )


def grpc_ok(port: int) -> Callable[[], bool]:
    return lambda: call(port, HEALTH, frame(b""), timeout=5).status == 0


def served_while(attack: threading.Thread, well_behaved: Callable[[], bool]) -> list[float]:
    """Run the attack; meanwhile time the well-behaved client's calls, one after the other."""
    took = []
    attack.start()
    while attack.is_alive() or not took:
        started = time.monotonic()
        assert well_behaved()
        took.append(time.monotonic() - started)
        time.sleep(0.05)
    attack.join()
    return took


def settled_rss(pid: int) -> int:
    time.sleep(0.5)
    return rss_kib(pid)


def test_half_sent_requests_on_every_port_are_closed(stack: Stack) -> None:
    """1,100 sockets per port, each with half a request line (or half the HTTP/2 preface)."""
    targets = [
        (stack.master_data, stack.master_data.ports["HTTP"], b"GET /heal", http_ok),
        (stack.master_data, stack.master_data.ports["gRPC"], b"PRI * HTTP/2.0\r\n", grpc_ok),
        (stack.cart, stack.cart.ports["HTTP"], b"POST /api/v1/ca", http_ok),
    ]
    for service, port, half, check in targets:
        start_rss = settled_rss(service.process.pid)
        held: list[socket.socket] = []

        def attack(port: int = port, half: bytes = half, held: list[socket.socket] = held) -> None:
            for _ in range(1100):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(half)
                held.append(sock)

        try:
            took = served_while(threading.Thread(target=attack), check(port))
            assert max(took) < 1.0, (port, max(took))
            deadline = time.monotonic() + READ_TIMEOUT + 5
            for sock in held:  # every one is closed by the server after the read timeout
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                with contextlib.suppress(ConnectionResetError):
                    while sock.recv(4096):
                        pass
        finally:
            for sock in held:
                sock.close()
        assert check(port)()
        assert settled_rss(service.process.pid) < start_rss * 1.2


def test_a_100_mb_request_head_is_cut_off(stack: Stack) -> None:
    for service in (stack.master_data, stack.cart):
        port = service.ports["HTTP"]
        start_rss = settled_rss(service.process.pid)
        sent = 0
        reply = b""

        def attack(port: int = port) -> None:
            nonlocal sent, reply
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-padding: ")
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    while sent < 100 << 20:
                        sock.sendall(b"a" * 65536)
                        sent += 65536
                with contextlib.suppress(ConnectionResetError):
                    reply = sock.recv(1024)

        took = served_while(threading.Thread(target=attack), http_ok(port))
        assert max(took) < 1.0
        assert sent < 100 << 20  # the server hung up long before
        assert reply.startswith(b"HTTP/1.1 431") or reply == b""
        assert settled_rss(service.process.pid) < start_rss * 1.2


def test_a_256_mb_grpc_message_is_refused_before_it_is_buffered(stack: Stack) -> None:
    port = stack.master_data.ports["gRPC"]
    start_rss = settled_rss(stack.master_data.process.pid)
    # As much as HTTP/2 flow control lets a client send before the server reads anything.
    reply = call(port, HEALTH, frame(b"x" * 60_000, length=256 << 20))
    assert reply.status == 8  # RESOURCE_EXHAUSTED
    assert settled_rss(stack.master_data.process.pid) < start_rss * 1.2


Send = Callable[[h2.connection.H2Connection, int], None]


def h2_flood(port: int, send: Send, rounds: int) -> int:
    """Send `send` frames in rounds on one connection; the GOAWAY error code that ended it."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        sock.setblocking(False)
        try:
            for n in range(rounds):
                send(connection, n)
                sock.setblocking(True)
                sock.sendall(connection.data_to_send())
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    data = sock.recv(65536)
                    if not data:
                        break
                    for event in connection.receive_data(data):
                        if isinstance(event, h2.events.ConnectionTerminated):
                            return event.error_code
        except (BrokenPipeError, ConnectionResetError, h2.exceptions.ProtocolError):
            pass
        sock.setblocking(True)
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError, h2.exceptions.ProtocolError):
            while data := sock.recv(65536):
                for event in connection.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        return event.error_code
    return -1


def rapid_reset(connection: h2.connection.H2Connection, _: int) -> None:
    stream = connection.get_next_available_stream_id()
    connection.send_headers(stream, [
        (":method", "POST"), (":scheme", "http"), (":path", HEALTH), (":authority", "x"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ])  # fmt: skip
    connection.reset_stream(stream)


def ping(connection: h2.connection.H2Connection, n: int) -> None:
    for k in range(20):
        connection.ping((n * 20 + k).to_bytes(8, "big"))


def window_update(connection: h2.connection.H2Connection, _: int) -> None:
    for _ in range(20):
        connection.increment_flow_control_window(1)


def priority(connection: h2.connection.H2Connection, n: int) -> None:
    for k in range(20):
        connection.prioritize((n * 20 + k) * 2 + 1, weight=16)


EMPTY_DATA = b"\x00\x00\x00" + b"\x00" + b"\x00" + (1).to_bytes(4, "big")  # stream 1


def empty_data(connection: h2.connection.H2Connection, n: int) -> None:
    """Empty DATA frames on stream 1, written raw: they go on after the server has answered
    the stream (the client's own h2 would refuse to send them then)."""
    if n == 0:
        connection.send_headers(1, [
            (":method", "POST"), (":scheme", "http"), (":path", HEALTH), (":authority", "x"),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ])  # fmt: skip
    connection._data_to_send += EMPTY_DATA * 20


def settings(connection: h2.connection.H2Connection, _: int) -> None:
    for _ in range(20):
        connection.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 0})


FLOODS = [
    pytest.param(rapid_reset, 5000, id="rapid reset"),
    pytest.param(ping, 10_000, id="ping"),
    pytest.param(window_update, 10_000, id="window update"),
    pytest.param(priority, 10_000, id="priority"),
    pytest.param(empty_data, 10_000, id="empty data"),
]


@pytest.mark.parametrize(("send", "rounds"), FLOODS)
def test_control_frame_floods_end_in_enhance_your_calm(
    stack: Stack, send: Send, rounds: int
) -> None:
    port = stack.master_data.ports["gRPC"]
    start_rss = settled_rss(stack.master_data.process.pid)
    ended: list[int] = []
    attack = threading.Thread(target=lambda: ended.append(h2_flood(port, send, rounds)))
    took = served_while(attack, grpc_ok(port))
    assert ended == [ENHANCE_YOUR_CALM]
    assert max(took) < 1.0
    assert settled_rss(stack.master_data.process.pid) < start_rss * 1.2


@pytest.fixture(scope="module")
def hypercorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(Path(tmp_path_factory.mktemp("h2flood")), HTTP_SERVER="hypercorn")
    yield service
    service.stop()


@pytest.mark.parametrize(
    ("send", "rounds"),
    [pytest.param(window_update, 10_000, id="window update"),
     pytest.param(settings, 10_000, id="settings"), pytest.param(ping, 10_000, id="ping")],
)  # fmt: skip
def test_hypercorn_floods_end_in_enhance_your_calm(
    hypercorn: ServiceProcess, send: Send, rounds: int
) -> None:
    port = hypercorn.ports["HTTP"]
    ended: list[int] = []
    attack = threading.Thread(target=lambda: ended.append(h2_flood(port, send, rounds)))
    took = served_while(attack, http_ok(port))
    assert ended == [ENHANCE_YOUR_CALM]
    assert max(took) < 1.0
