"""A client that leaves in the middle of its request body is no error: one info line on the
cart (none on master-data's RPC ports), no traceback, however many do it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, ...]]:
    tmp = Path(tmp_path_factory.mktemp("leave"))
    master_data = start_master_data(tmp, ADMIN_TOKEN="admin-token")
    key = add_terminal(tmp, "T0001", "S001", "R01")
    cart = start_cart(tmp, master_data)
    yield master_data, cart, key  # type: ignore[misc]
    cart.stop()
    master_data.stop()


def leave_mid_body(port: int, head: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + b"content-length: 1000\r\n\r\n" + b"[" * 10)
        time.sleep(0.05)


def test_a_client_leaving_mid_body_is_one_info_line_and_no_traceback(
    stack: tuple[ServiceProcess, ServiceProcess, str],
) -> None:
    master_data, cart, key = stack
    for _ in range(30):
        scan = "POST /api/v1/carts/c1/lineItems HTTP/1.1\r\nhost: x\r\n"
        leave_mid_body(cart.ports["HTTP"], f"{scan}x-api-key: {key}\r\n")
        leave_mid_body(master_data.ports["HTTP"], "POST /kugel.item.v1.ItemService/GetItemDetail"
                       " HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")  # fmt: skip
        leave_mid_body(master_data.ports["HTTP"], "POST /admin/v1/import?format=json HTTP/1.1\r\n"
                       "host: x\r\nauthorization: Bearer admin-token\r\n")  # fmt: skip
    time.sleep(0.5)
    for service in (cart, master_data):
        assert "Traceback" not in service.log
        assert "unexpected error" not in service.log
    assert cart.log.count("client left during POST /api/v1/carts/c1/lineItems") == 30
