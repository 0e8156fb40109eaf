"""master-data as a process: start-up checks, the import command, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from grpclib.client import Channel

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub
from tests.support.harness.processes import BIN, database, run_cli, start_master_data

REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0001")
CONNECT = "/kugel.item.v1.ItemService/GetItemDetail"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("GRPC_PORT", "seventy", id="port not a number"),
        pytest.param("HTTP_PORT", "70000", id="port out of range"),
        pytest.param("USE_GRPC", "maybe", id="not a boolean"),
        pytest.param("MAX_REQUEST_BYTES", "10", id="limit too small"),
    ],
)
def test_bad_setting_fails_at_start_naming_it(tmp_path: Path, name: str, value: str) -> None:
    result = subprocess.run(
        [str(BIN / "master-data"), "serve"],
        env={**os.environ, "MASTER_DATA_DB": database(tmp_path, "master")[0], name: value},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert name in result.stderr


def test_import_command_all_or_nothing(tmp_path: Path) -> None:
    env = {"MASTER_DATA_DB": database(tmp_path, "master")[0]}
    run_cli(["master-data", "seed-demo"], env)
    good = tmp_path / "items.csv"
    good.write_text(
        "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"
        "T0001,CSV1,Imported,321,TX10,FOOD\n"
    )
    assert "1 record written" in run_cli(
        ["master-data", "import", str(good), "--kind", "items"], env
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"
        "T0001,CSV2,Fine,1,TX10,FOOD\nT0001,CSV3,Broken,1.5,TX10,FOOD\n"
    )
    result = subprocess.run(
        [str(BIN / "master-data"), "import", str(bad), "--kind", "items"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "row 3, unit_price" in result.stderr
    assert "2 records checked, nothing written" in result.stderr


async def test_sigterm_finishes_calls_in_flight(tmp_path: Path) -> None:
    service = start_master_data(tmp_path, DEBUG_RPC_DELAY_MS="400")
    channel = Channel("127.0.0.1", service.ports["gRPC"])
    stub = ItemServiceStub(channel)
    try:
        async with aiohttp.ClientSession() as session:

            async def over_connect() -> int:
                async with session.post(
                    service.url() + CONNECT,
                    json=REQUEST.to_dict(),
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as response:
                    await response.read()
                    return response.status

            grpc_calls = [
                asyncio.create_task(stub.get_item_detail(REQUEST, timeout=10)) for _ in range(20)
            ]
            http_calls = [asyncio.create_task(over_connect()) for _ in range(20)]
            await asyncio.sleep(0.2)  # every call is now inside the server, sleeping
            started = time.monotonic()
            service.process.send_signal(signal.SIGTERM)
            grpc_results = await asyncio.gather(*grpc_calls)
            http_results = await asyncio.gather(*http_calls)
    finally:
        channel.close()
    assert all(r.item is not None and r.item.item_code == "ITEM0001" for r in grpc_results)
    assert http_results == [200] * 20
    assert await asyncio.to_thread(service.process.wait, 10) == 0
    assert time.monotonic() - started < 5
    assert "draining 40 calls in flight" in service.log
    assert "master-data stopped" in service.log


async def test_readyz_and_healthz(tmp_path: Path) -> None:
    service = start_master_data(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            for probe, body in (
                ("/healthz", {"status": "ok"}),
                ("/readyz", {"status": "ready", "database": "ok"}),
            ):
                async with session.get(
                    service.url() + probe, timeout=aiohttp.ClientTimeout(total=5)
                ) as r:
                    assert (r.status, await r.json()) == (200, body)
    finally:
        assert service.stop() == 0
    assert service.log.count("master-data ready") == 1
    # The database the suite runs on (pytest --database), named without a password.
    assert f"db={database(tmp_path, 'master')[0]}" in service.log


async def test_workers_share_the_ports_and_one_catalog(tmp_path: Path) -> None:
    service = start_master_data(
        tmp_path, WORKERS="2", ADMIN_TOKEN="admin", CATALOG_POLL_SECONDS="0.2"
    )
    try:
        deadline = time.monotonic() + 10
        while service.log.count("master-data ready") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert service.log.count("master-data ready") == 2
        url = service.url()

        async def prices_seen() -> set[str]:
            seen = set()
            for _ in range(20):  # new connections: the kernel spreads them over both workers
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(
                        url + CONNECT,
                        json=REQUEST.to_dict(),
                        timeout=aiohttp.ClientTimeout(total=5),
                    ) as response,
                ):
                    seen.add((await response.json())["item"]["unitPrice"])
            return seen

        assert await prices_seen() == {"470"}  # both workers have the old price cached now
        async with (
            aiohttp.ClientSession() as admin,
            admin.put(
                url + "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0001",
                json={"unitPrice": 12345},
                headers={"authorization": "Bearer admin"},
            ) as response,
        ):
            assert response.status == 200
        await asyncio.sleep(1.0)  # every worker's poll has seen the new catalog version
        assert await prices_seen() == {"12345"}
    finally:
        assert service.stop() == 0
    assert service.log.count("master-data stopped") == 2


@pytest.mark.parametrize(
    ("command", "variable"), [("master-data", "MASTER_DATA_DB"), ("cart", "CART_DB")]
)
def test_init_makes_the_schema_and_migrate_finds_it_up_to_date(
    tmp_path: Path, command: str, variable: str
) -> None:
    env = {**os.environ, variable: database(tmp_path, command)[0]}

    def run(subcommand: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / command), subcommand],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    first, second = run("init"), run("migrate")
    assert "schema migrations [1" in first.stderr  # every one, from 1
    assert "applied" not in second.stderr
    assert "is up to date" in second.stdout


def test_a_master_data_that_serves_no_tenant_says_so(tmp_path: Path) -> None:
    location = database(tmp_path, "empty")[0]
    subprocess.run([str(BIN / "master-data"), "init"], env={**os.environ, "MASTER_DATA_DB":
                   location}, check=True, capture_output=True, timeout=60)  # fmt: skip
    service = start_master_data(tmp_path, MASTER_DATA_DB=location)
    try:
        assert "tenants=0" in service.log
        warned = "master-data serves no tenant: every lookup answers tenant_not_found"
        for _ in range(50):  # the warning follows the ready line the harness waited for
            if warned in service.log:
                break
            time.sleep(0.1)
        assert warned in service.log
    finally:
        service.stop()
    (tmp_path / "seeded").mkdir()
    seeded = start_master_data(tmp_path / "seeded")
    try:
        assert "tenants=0" not in seeded.log
        assert "serves no tenant" not in seeded.log
    finally:
        seeded.stop()
