"""A gRPC address that takes calls and never answers (a hung process, a half-dead node), among
a refused one and a live replica: it costs one attempt's share of a lookup's deadline, then its
own cool-down; every scan sells over gRPC, none fails, none goes over HTTP. (Before: each time
its cool-down ended a scan waited out its whole deadline there and failed.)"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .test_grpc_balancing import lookups_over


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections, reads what comes, and never writes a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection, _ = server.accept()
                connection.setblocking(False)
                held.append(connection)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


@pytest.fixture
def refused() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed: connections to it are refused


async def test_a_silent_replica_costs_no_scan_and_no_fallback(
    tmp_path: Path, blackhole: int, refused: int
) -> None:
    master_data: ServiceProcess = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    live = master_data.ports["gRPC"]
    target = f"ipv4:127.0.0.1:{blackhole},127.0.0.1:{refused},127.0.0.1:{live}"
    cart = start_cart(tmp_path, master_data, MASTER_DATA_GRPC_URL=target, GRPC_TIMEOUT="2",
                      USE_ITEM_CACHE="false", TERMINAL_RATE_LIMIT="0",
                      GRPC_BREAKER_COOLDOWN_SECONDS="1")  # fmt: skip
    try:
        statuses = []
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
            async with http.post(cart.url() + "/api/v1/carts") as made:
                cart_id = (await made.json())["cartId"]
            for n in range(60):
                item = {"itemCode": f"ITEM{n % 39 + 1:04d}"}
                url = f"{cart.url()}/api/v1/carts/{cart_id}/lineItems"
                async with http.post(url, json=[item]) as done:
                    statuses.append(done.status)
        assert statuses == [200] * 60
        assert lookups_over(cart, "connect") == 0
        assert lookups_over(cart, "grpc") >= 60
    finally:
        cart.stop()
        master_data.stop()


async def test_an_address_that_never_handshakes_is_not_ready(
    tmp_path: Path, blackhole: int
) -> None:
    """Its TCP connection is up, its HTTP/2 never is: /readyz counts it failed, not ready, and
    the lookups after the first go straight to the HTTP fallback."""
    master_data: ServiceProcess = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(tmp_path, master_data, MASTER_DATA_GRPC_URL=f"ipv4:127.0.0.1:{blackhole}",
                      GRPC_TIMEOUT="1", USE_ITEM_CACHE="false",
                      GRPC_BREAKER_COOLDOWN_SECONDS="30")  # fmt: skip
    try:
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
            async with http.post(cart.url() + "/api/v1/carts") as made:
                cart_id = (await made.json())["cartId"]
            url = f"{cart.url()}/api/v1/carts/{cart_id}/lineItems"
            async with http.post(url, json=[{"itemCode": "ITEM0001"}]) as first:
                assert first.status == 200  # over HTTP, once its gRPC attempt ran out
            ready = None
            for _ in range(50):
                async with http.get(cart.url() + "/readyz") as said:
                    ready = (await said.json())["masterData"]["grpcAddresses"]["ready"]
                if ready == 0:
                    break
                await asyncio.sleep(0.1)
            assert ready == 0
            for n in range(5):
                async with http.post(url, json=[{"itemCode": f"ITEM{n + 2:04d}"}]) as done:
                    assert done.status == 200
        assert lookups_over(cart, "grpc") <= 1
        assert lookups_over(cart, "connect") >= 5
    finally:
        cart.stop()
        master_data.stop()
