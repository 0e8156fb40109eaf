"""Push coherence end to end: 100 price changes through master-data's admin API, each followed
by a scan of that item at the cart; every scan shows the new price, with the item cache on and
its TTL at 10 minutes, so only WatchItemChanges can have refreshed it. Over gRPC and over
Connect; on PostgreSQL (`--database=postgres`) the changes are written through another
master-data replica than the one the cart streams from. The lag from commit to eviction is the
cart's own histogram: printed (speed goals live in the note, not in asserts)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from gen.kugel.item.v1 import WatchItemChangesRequest
from tests.support.h2_client import call as h2_call
from tests.support.h2_client import frame
from tests.support.harness.postgres import SERVER_URL_ENV
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    database,
    run_cli,
    start_cart,
    start_master_data,
)

CHANGES = 100
WATCH_PATH = "/kugel.item.v1.ItemService/WatchItemChanges"
PRICE_PATH = "/admin/v1/tenants/T0001/stores/S001/prices/{item}"


def metric(service: ServiceProcess, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", service.metrics(), re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def lag_quantiles(service: ServiceProcess) -> dict[str, float]:
    """p50 and p99 of the cart's commit-to-eviction lag, as bucket upper bounds (seconds)."""
    text = service.metrics()
    buckets = [
        (float(le), float(count))
        for le, count in re.findall(
            r'^item_watch_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.MULTILINE
        )
    ]
    total = buckets[-1][1]
    return {
        q: next(le for le, count in buckets if count >= total * share)
        for q, share in (("p50", 0.5), ("p99", 0.99))
    }


@pytest.fixture(params=["grpc", "connect"])
def stack(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, ServiceProcess, str]]:
    """(the master-data the admin writes go to, the cart, its key)."""
    env = {"ADMIN_TOKEN": "admin"}
    streamed = start_master_data(tmp_path, **env)
    writer = streamed
    if SERVER_URL_ENV in os.environ:  # a second replica on the same database takes the writes
        writer = start_master_data(tmp_path, **env)
    key = add_terminal(tmp_path, "T0001", "S001", "W01")
    cart = start_cart(
        tmp_path,
        streamed,
        USE_GRPC="true" if request.param == "grpc" else "false",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
        ITEM_CACHE_TTL_SECONDS="600",
    )
    try:
        yield writer, cart, key
    finally:
        assert cart.stop() == 0, cart.log
        for service in {id(streamed): streamed, id(writer): writer}.values():
            assert service.stop() == 0, service.log


async def test_every_scan_after_a_price_change_shows_the_new_price(
    stack: tuple[ServiceProcess, ServiceProcess, str],
) -> None:
    writer, cart, key = stack
    api = cart.url() + "/api/v1"
    headers = {"X-API-KEY": key}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def scan(cart_id: str, item: str) -> int:
            async with session.post(
                f"{api}/carts/{cart_id}/lineItems", json=[{"itemCode": item}]
            ) as response:
                assert response.status == 200, await response.text()
                return int((await response.json())["lineItems"][-1]["unitPrice"])

        items = [f"ITEM{n:04d}" for n in range(1, 21)]
        async with session.post(f"{api}/carts") as response:
            cart_id = (await response.json())["cartId"]
        for item in items:  # every item cached at the cart, its old price
            await scan(cart_id, item)
        deadline = time.monotonic() + 10
        while not metric(cart, "item_watch_connected") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert metric(cart, "item_watch_connected") == 1, cart.log

        wrong = []
        for n in range(CHANGES):
            item, price = items[n % len(items)], 10_000 + n
            seen = metric(cart, "item_watch_position")
            async with session.put(
                writer.url() + PRICE_PATH.format(item=item),
                json={"unitPrice": price},
                headers={"authorization": "Bearer admin"},
            ) as response:
                assert response.status == 200, await response.text()
            deadline = time.monotonic() + 10
            while metric(cart, "item_watch_position") <= seen and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if n % 20 == 0:  # a cart now and then: 500 lines at most
                async with session.post(f"{api}/carts") as response:
                    cart_id = (await response.json())["cartId"]
            if (shown := await scan(cart_id, item)) != price:
                wrong.append((item, price, shown))
    assert wrong == []
    quantiles = lag_quantiles(cart)
    print(f"\ncommit-to-eviction lag over {CHANGES} changes: {quantiles} (bucket bounds, s)")
    assert metric(cart, "item_watch_reconnects_total") == 0


async def wait_for_metric(service: ServiceProcess, name: str, above: float) -> float:
    deadline = time.monotonic() + 15
    while (value := metric(service, name)) <= above and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return value


async def test_changes_made_while_master_data_was_down_all_arrive(tmp_path: Path) -> None:
    """master-data SIGKILLed; three prices changed while it is down (by the import command, on
    the same database); master-data back on the same ports: the cart resumes from its
    position and every one of the three is evicted, each checked by a scan."""
    streamed = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "W02")
    cart = start_cart(
        tmp_path,
        streamed,
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
        GRPC_BREAKER_COOLDOWN_SECONDS="0.2",
    )
    changed = {"ITEM0031": 31_000, "ITEM0032": 32_000, "ITEM0033": 33_000}
    try:
        api = cart.url() + "/api/v1"
        async with aiohttp.ClientSession(
            headers={"X-API-KEY": key}, timeout=aiohttp.ClientTimeout(total=10)
        ) as session:

            async def scan(cart_id: str, item: str) -> int:
                async with session.post(
                    f"{api}/carts/{cart_id}/lineItems", json=[{"itemCode": item}]
                ) as response:
                    assert response.status == 200, await response.text()
                    return int((await response.json())["lineItems"][-1]["unitPrice"])

            async with session.post(f"{api}/carts") as response:
                cart_id = (await response.json())["cartId"]
            old = {item: await scan(cart_id, item) for item in changed}
            assert await wait_for_metric(cart, "item_watch_connected", 0) == 1
            position = metric(cart, "item_watch_position")

            streamed.stop(signal.SIGKILL)
            master_file = tmp_path / "prices.json"
            master_file.write_text(
                json.dumps(
                    {
                        "storePrices": [
                            {"tenantId": "T0001", "storeCode": "S001", "itemCode": item,
                             "unitPrice": price}
                            for item, price in changed.items()
                        ]
                    }
                )
            )  # fmt: skip
            env = {"MASTER_DATA_DB": database(tmp_path, "master")[0]}
            run_cli(["master-data", "import", str(master_file)], env)
            ports = {
                "GRPC_PORT": str(streamed.ports["gRPC"]),
                "HTTP_PORT": str(streamed.ports["HTTP"]),
            }
            restarted = start_master_data(tmp_path, **ports)
            try:
                assert await wait_for_metric(cart, "item_watch_position", position) > position
                assert {item: await scan(cart_id, item) for item in changed} == changed
                assert old != changed
                assert metric(cart, "item_watch_reconnects_total") >= 1
            finally:
                assert restarted.stop() == 0, restarted.log
    finally:
        assert cart.stop() == 0, cart.log


ROOT = Path(__file__).resolve().parents[2]


async def read_until(stream: asyncio.StreamReader, marker: str, seconds: float) -> str:
    text = ""
    async with asyncio.timeout(seconds):
        while marker not in text:
            chunk = await stream.read(4096)
            if not chunk:
                break
            text += chunk.decode()
    return text


@pytest.mark.parametrize(
    ("protocol", "flags"),
    [
        pytest.param("grpc", ["--protocol", "grpc"], id="grpc-reflection"),
        pytest.param("connect", ["--schema", "proto"], id="connect"),
    ],
)
async def test_buf_curl_streams_the_changes(
    tmp_path: Path, protocol: str, flags: list[str]
) -> None:
    """A third-party client: `buf curl` reads WatchItemChanges (gRPC through reflection,
    Connect from the schema): the opening heartbeat, then a change made while it watches."""
    service = start_master_data(tmp_path, ADMIN_TOKEN="admin")
    port = service.ports["gRPC" if protocol == "grpc" else "HTTP"]
    curl = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "buf"),
        "curl",
        *flags,
        "--data",
        '{"tenantIds": ["T0001"]}',
        f"http://127.0.0.1:{port}/kugel.item.v1.ItemService/WatchItemChanges",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert curl.stdout is not None
    try:
        text = await read_until(curl.stdout, "heartbeat", 20)
        async with (
            aiohttp.ClientSession() as session,
            session.put(
                service.url() + PRICE_PATH.format(item="ITEM0042"),
                json={"unitPrice": 4242},
                headers={"authorization": "Bearer admin"},
            ) as response,
        ):
            assert response.status == 200
        text += await read_until(curl.stdout, "ITEM0042", 20)
    finally:
        curl.kill()
        await curl.wait()
        assert service.stop() == 0, service.log
    assert '"heartbeat"' in text
    assert '"change"' in text
    assert "ITEM0042" in text


def test_a_client_that_stops_reading_gets_resource_exhausted(tmp_path: Path) -> None:
    """A watch whose client takes no data (its HTTP/2 window stays 0) is ended after
    WATCH_SEND_TIMEOUT_SECONDS with RESOURCE_EXHAUSTED: nothing piles up for it in master-data,
    and the client may resume later."""
    service = start_master_data(tmp_path, WATCH_SEND_TIMEOUT_SECONDS="1")
    try:
        request = WatchItemChangesRequest(tenant_ids=["T0001"])
        reply = h2_call(service.ports["gRPC"], WATCH_PATH, frame(bytes(request)), window=0)
        assert reply.status == 8, reply  # RESOURCE_EXHAUSTED
        assert "resume later" in reply.trailers.get("grpc-message", "")
        assert metric(service, "item_watches_open") == 0
    finally:
        assert service.stop() == 0, service.log
