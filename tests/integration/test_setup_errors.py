"""Setup mistakes a newcomer makes: each is one line on stderr naming the thing and the
variable, exit 2, no traceback; `serve --help` lists the variables with their defaults."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

pytestmark = pytest.mark.integration


def _run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if " INFO " not in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (["cart", "serve"], "HTTP_PORT"),
        (["master-data", "serve"], "HTTP_PORT"),
        (["master-data", "serve"], "GRPC_PORT"),
    ],
)
def test_a_port_in_use_is_named_with_its_variable(
    tmp_path: Path, busy_port: int, command: list[str], variable: str
) -> None:
    ports = {"HTTP_PORT": "0", "GRPC_PORT": "0", variable: str(busy_port)}
    databases = {"CART_DB": str(tmp_path / "c.db"), "MASTER_DATA_DB": str(tmp_path / "m.db")}
    _run([command[0], "init"], **databases)
    result = _run(
        command,
        **databases,
        USE_GRPC="true",
        BIND_HOST="127.0.0.1",
        **ports,
    )
    _one_line_error(result, f"{busy_port} ({variable})", "in use")


def test_workers_report_a_port_in_use_too(tmp_path: Path, busy_port: int) -> None:
    _run(["cart", "init"], CART_DB=str(tmp_path / "c.db"))
    result = _run(
        ["cart", "serve"],
        CART_DB=str(tmp_path / "c.db"),
        HTTP_PORT=str(busy_port),
        BIND_HOST="127.0.0.1",
        WORKERS="2",
    )
    _one_line_error(result, f"{busy_port} (HTTP_PORT)")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("mysql://x/y", ["MASTER_DATA_DB", "unknown database scheme 'mysql'"]),
        (
            "/etc/passwd/master.db",
            ["cannot open the database MASTER_DATA_DB=/etc/passwd/master.db"],
        ),
        (
            "postgresql://kugel:secret@127.0.0.1:1/db",
            ["cannot reach the database", "postgresql://kugel:***@127.0.0.1:1/db"],
        ),
    ],
    ids=["unknown scheme", "unwritable path", "unreachable postgres"],
)
@pytest.mark.parametrize("command", ["serve", "migrate", "seed-demo"])
def test_a_database_that_cannot_be_used_is_named(
    tmp_path: Path, location: str, expected: list[str], command: str
) -> None:
    result = _run(["master-data", command], MASTER_DATA_DB=location, HTTP_PORT="0")
    line = _one_line_error(result, *expected)
    assert "secret" not in line
    assert not Path("mysql:").exists()  # no SQLite file made of a URL


def test_the_cart_names_its_database_too(tmp_path: Path) -> None:
    result = _run(["cart", "terminals", "add", "--tenant", "T1", "--store", "S1", "--terminal",
                   "R1"], CART_DB="sqlite:///tmp/x.db")  # fmt: skip
    _one_line_error(result, "CART_DB", "unknown database scheme 'sqlite'")


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        ("cart", ["CART_DB", "HTTP_PORT", "MASTER_DATA_GRPC_URL", "USE_GRPC", "GRPC_TIMEOUT"]),
        ("master-data", ["MASTER_DATA_DB", "GRPC_PORT", "HTTP_PORT", "USE_GRPC"]),
    ],
)
def test_serve_help_lists_the_variables_with_defaults(command: str, variables: list[str]) -> None:
    result = _run([command, "serve", "--help"])
    assert result.returncode == 0
    for variable in variables:
        assert variable in result.stdout
    assert "50051" in result.stdout or command == "cart"


async def test_the_carts_readiness_says_how_master_data_is_reached(tmp_path: Path) -> None:
    import aiohttp  # noqa: PLC0415

    master_data = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart: ServiceProcess | None = None
    try:
        cart = start_cart(tmp_path, master_data)
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
            async with http.post(cart.url() + "/api/v1/carts") as made:
                cart_id = (await made.json())["cartId"]
            scan = cart.url() + f"/api/v1/carts/{cart_id}/lineItems"
            async with http.post(scan, json=[{"itemCode": "ITEM0001"}]) as scanned:
                assert scanned.status == 200
            async with http.get(cart.url() + "/readyz") as ready:
                body = await ready.json()
                assert ready.status == 200
            assert body["masterData"]["transport"] == "grpc"
            assert body["masterData"]["lastLookup"] == "answered"
            assert body["masterData"]["grpcAddresses"]["addresses"] == 1
            assert body["masterData"]["grpcAddresses"]["ready"] == 1
            master_data.stop()
            async with http.post(scan, json=[{"itemCode": "ITEM0002"}]) as unknown:
                assert unknown.status != 200  # never looked up, master-data away
            async with http.get(cart.url() + "/readyz") as ready:
                body = await ready.json()
                assert ready.status == 200  # the till sells on: still ready
            assert body["database"] == "ok"
            assert body["masterData"]["lastLookup"] == "unreachable"
            assert body["masterData"]["grpcAddresses"]["ready"] == 0
    finally:
        if cart is not None:
            cart.stop()
        master_data.stop()


def test_a_misspelled_variable_is_warned_about_with_the_name_meant(tmp_path: Path) -> None:
    database = str(tmp_path / "c.db")
    _run(["cart", "init"], CART_DB=database)
    result = _run(["cart", "migrate"], CART_DB=database, USE_GRCP="true")
    assert result.returncode == 0, result.stderr
    assert (
        "cart: warning: USE_GRCP is not a variable of cart (ignored): did you mean USE_GRPC?"
        in (result.stderr)
    )


def test_a_refused_value_names_the_values_accepted(tmp_path: Path) -> None:
    result = _run(["master-data", "migrate"], MASTER_DATA_DB=str(tmp_path / "m.db"),
                  USE_GRPC="yes-please")  # fmt: skip
    line = _one_line_error(result, "USE_GRPC")
    assert "accepted: true, false, 1, 0, yes, no, on, off" in line
