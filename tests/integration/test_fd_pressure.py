"""Under file-descriptor pressure: master-data allowed 256 open files caps each port's
connections below that (with room for its own files), and at the cap closes the connection
that has sent the least (a silent socket) to let a newcomer in: with 300 silent sockets held
on each port, a normal client is answered within 1 s on both."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.common.process_limits import raise_open_file_limit
from tests.support.h2_client import call, frame
from tests.support.harness.processes import ServiceProcess, start_master_data
from tests.support.raw_http import exchange

HEALTH = "/grpc.health.v1.Health/Check"
SILENT = 300


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    raise_open_file_limit()  # this test holds 600 sockets
    service = start_master_data(Path(tmp_path_factory.mktemp("fds")), file_limit=256)
    yield service
    service.stop()


def grpc_ok(port: int) -> bool:
    return call(port, HEALTH, frame(b""), timeout=5).status == 0


def http_ok(port: int) -> bool:
    return exchange(port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize(("kind", "check"), [("gRPC", grpc_ok), ("HTTP", http_ok)])
def test_a_normal_client_gets_in_past_silent_sockets(
    master_data: ServiceProcess, kind: str, check: Callable[[int], bool]
) -> None:
    port = master_data.ports[kind]
    assert "connections capped at 64 a port" in master_data.log
    held: list[socket.socket] = []

    def hold() -> None:
        for _ in range(SILENT):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=10))

    attack = threading.Thread(target=hold)
    attack.start()
    took = []
    try:
        while attack.is_alive() or len(took) < 5:
            started = time.monotonic()
            assert check(port)
            took.append(time.monotonic() - started)
            time.sleep(0.05)
        attack.join()
    finally:
        for sock in held:
            sock.close()
    assert max(took) < 1.0, took
