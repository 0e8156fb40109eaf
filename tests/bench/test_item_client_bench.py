"""The cart's ItemMasterClient against a running master-data (pytest-benchmark): uncached
lookups per transport, a cache hit, and a batch of 20 against one item."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from pytest_benchmark.fixture import BenchmarkFixture

from services.cart.item_master import ItemMasterClient
from services.cart.item_master_wiring import build_item_master_client
from services.cart.settings import CartSettings
from tests.support.harness.processes import ServiceProcess

CODES_20 = [f"ITEM{n:04d}" for n in range(1, 21)]


def _client(
    loop: asyncio.AbstractEventLoop, master_data: ServiceProcess, **settings: object
) -> Iterator[ItemMasterClient]:
    config = CartSettings(
        master_data_grpc_url=f"127.0.0.1:{master_data.ports['gRPC']}",
        master_data_http_url=master_data.url(),
        **settings,  # type: ignore[arg-type]
    )
    client = build_item_master_client(config, CollectorRegistry())
    yield client
    loop.run_until_complete(client.close())


@pytest.fixture(scope="module")
def grpc_client(
    loop: asyncio.AbstractEventLoop, master_data: ServiceProcess
) -> Iterator[ItemMasterClient]:
    yield from _client(loop, master_data, use_grpc=True, use_item_cache=False)


@pytest.fixture(scope="module")
def http_client(
    loop: asyncio.AbstractEventLoop, master_data: ServiceProcess
) -> Iterator[ItemMasterClient]:
    yield from _client(loop, master_data, use_grpc=False, use_item_cache=False)


@pytest.fixture(scope="module")
def cached_client(
    loop: asyncio.AbstractEventLoop, master_data: ServiceProcess
) -> Iterator[ItemMasterClient]:
    yield from _client(loop, master_data, use_grpc=True, use_item_cache=True)


def _one(loop: asyncio.AbstractEventLoop, client: ItemMasterClient) -> str:
    return loop.run_until_complete(client.get_item("T0001", "S001", "ITEM0005")).item_code


def _twenty(loop: asyncio.AbstractEventLoop, client: ItemMasterClient) -> int:
    return len(loop.run_until_complete(client.get_items("T0001", "S001", CODES_20)).found)


@pytest.mark.benchmark(group="cart item client")
def test_uncached_lookup_grpc(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, grpc_client: ItemMasterClient
) -> None:
    assert benchmark(_one, loop, grpc_client) == "ITEM0005"


@pytest.mark.benchmark(group="cart item client")
def test_uncached_lookup_http(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, http_client: ItemMasterClient
) -> None:
    assert benchmark(_one, loop, http_client) == "ITEM0005"


@pytest.mark.benchmark(group="cart item client")
def test_uncached_batch_of_20_grpc(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, grpc_client: ItemMasterClient
) -> None:
    assert benchmark(_twenty, loop, grpc_client) == 20


@pytest.mark.benchmark(group="cart item client")
def test_uncached_batch_of_20_http(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, http_client: ItemMasterClient
) -> None:
    assert benchmark(_twenty, loop, http_client) == 20


@pytest.mark.benchmark(group="cart item cache")
def test_cache_hit(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, cached_client: ItemMasterClient
) -> None:
    _one(loop, cached_client)  # warm

    async def hit() -> str:  # a coroutine stepped by hand: no event loop round trip in the figure
        return (await cached_client.get_item("T0001", "S001", "ITEM0005")).item_code

    def step() -> str:
        coroutine = hit()
        try:
            coroutine.send(None)
        except StopIteration as done:
            return str(done.value)
        raise AssertionError("a cache hit must not wait for anything")

    assert benchmark(step) == "ITEM0005"


def _twenty_singles(loop: asyncio.AbstractEventLoop, client: ItemMasterClient) -> int:
    async def run() -> int:
        return len([await client.get_item("T0001", "S001", code) for code in CODES_20])

    return loop.run_until_complete(run())


@pytest.mark.benchmark(group="cart item client")
def test_uncached_20_singles_grpc(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, grpc_client: ItemMasterClient
) -> None:
    """Beside test_uncached_batch_of_20_grpc: what one batch call saves."""
    assert benchmark(_twenty_singles, loop, grpc_client) == 20
