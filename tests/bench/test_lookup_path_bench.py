"""master-data's lookup path in process: store read, price resolution, encoding."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop
from pytest_benchmark.fixture import BenchmarkFixture

from gen.kugel.item.v1 import GetItemDetailRequest
from services.master_data import demo_data
from services.master_data.catalog import ItemCatalog
from services.master_data.item_service import ItemService
from services.master_data.sqlite_repository import SqliteItemRepository
from services.wire.codec import EncodedForms, encode_binary, encode_json


@pytest.fixture(scope="module")
def catalog_loop(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ItemCatalog, asyncio.AbstractEventLoop]]:
    loop = uvloop.new_event_loop()
    path = Path(tmp_path_factory.mktemp("catalog")) / "master.db"

    async def open_catalog() -> tuple[SqliteItemRepository, ItemCatalog]:
        repository = await SqliteItemRepository.open(path, create=True)
        await repository.apply(demo_data.records())
        return repository, ItemCatalog(repository, 100_000)

    repository, catalog = loop.run_until_complete(open_catalog())
    yield catalog, loop
    loop.run_until_complete(repository.close())
    loop.close()


@pytest.mark.benchmark(group="master-data lookup path")
def test_store_read_and_price_resolution(
    benchmark: BenchmarkFixture, catalog_loop: tuple[ItemCatalog, asyncio.AbstractEventLoop]
) -> None:
    """A cache miss: the SQLite read, store price applied (the cache is dropped every round)."""
    catalog, loop = catalog_loop

    def miss() -> str:
        catalog.invalidate()
        return loop.run_until_complete(catalog.get_item("T0001", "S001", "ITEM0005")).item_code

    assert benchmark(miss) == "ITEM0005"


@pytest.mark.benchmark(group="master-data lookup path")
def test_cached_lookup_and_encode(
    benchmark: BenchmarkFixture, catalog_loop: tuple[ItemCatalog, asyncio.AbstractEventLoop]
) -> None:
    """A cache hit answered by ItemService, encoded for gRPC and for Connect JSON, with the
    item's encoded forms kept ready as the server keeps them."""
    catalog, loop = catalog_loop
    known = EncodedForms(1000)
    service = ItemService(catalog, known)
    request = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")

    def hit() -> int:
        response = loop.run_until_complete(service.get_item_detail(request))
        return len(encode_binary(response, known)) + len(encode_json(response, known))

    assert benchmark(hit) > 0
