from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
)
from services.cart.item_master import ItemMasterClient
from services.cart.item_master.item_cache import ItemCache
from services.cart.item_master.metrics import LookupMetrics
from services.cart.item_master.model import BatchResult, ItemDetail, ItemLookupError, LookupFailure
from services.cart.server import CartParts, assemble
from services.cart.settings import CartSettings
from services.cart.sqlite_repository import SqliteCartRepository
from services.cart.terminals import issue_key
from services.common.circuit_breaker import CircuitBreaker
from services.master_data import demo_data
from services.master_data.catalog import ItemCatalog
from services.master_data.errors import CatalogError, ErrorCode
from services.master_data.scan_resolution import ScanResolver
from services.master_data.sqlite_repository import SqliteItemRepository


class CatalogTransport:
    """Answers from master-data's real ItemCatalog, in process (the wire is tested elsewhere)."""

    name = "grpc"

    def __init__(self, catalog: ItemCatalog) -> None:
        self.catalog = catalog
        self.down = False
        self.seconds_left: list[float] = []  # the deadline each call was given

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        self.seconds_left.append(seconds_left)
        if self.down:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, "master-data is down")
        try:
            items, missing = await self.catalog.get_items(
                request.tenant_id, request.store_code, request.item_codes
            )
        except CatalogError as error:
            failure = {
                ErrorCode.NOT_FOUND: LookupFailure.NOT_FOUND,
                ErrorCode.TENANT_NOT_FOUND: LookupFailure.TENANT_NOT_FOUND,
                ErrorCode.STORE_NOT_FOUND: LookupFailure.STORE_NOT_FOUND,
            }.get(error.code, LookupFailure.INVALID)
            raise ItemLookupError(failure, error.message) from None
        return BatchResult({i.item_code: ItemDetail.from_message(i) for i in items}, missing)

    async def scans(
        self, request: BatchResolveScansRequest, seconds_left: float
    ) -> BatchResolveScansResponse:
        self.seconds_left.append(seconds_left)
        if self.down:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, "master-data is down")
        results = await ScanResolver(self.catalog).resolve(
            request.tenant_id, request.store_code, request.scans
        )
        return BatchResolveScansResponse(results=results)

    def status(self) -> dict[str, object]:
        return {}

    async def close(self) -> None:
        pass


@pytest.fixture
async def item_catalog(tmp_path: Path) -> AsyncIterator[ItemCatalog]:
    repository = await SqliteItemRepository.open(tmp_path / "master.db", create=True)
    await repository.apply(demo_data.records())
    yield ItemCatalog(repository, 1000)
    await repository.close()


@pytest.fixture
def transport(item_catalog: ItemCatalog) -> CatalogTransport:
    return CatalogTransport(item_catalog)


@pytest.fixture
async def cart_repository(tmp_path: Path) -> AsyncIterator[SqliteCartRepository]:
    repository = await SqliteCartRepository.open(tmp_path / "cart.db", create=True)
    yield repository
    await repository.close()


@pytest.fixture
def cart_settings(tmp_path: Path) -> CartSettings:
    return CartSettings(cart_db=str(tmp_path / "cart.db"), max_request_bytes=4096)


@pytest.fixture
def cart(
    cart_repository: SqliteCartRepository, transport: CatalogTransport, cart_settings: CartSettings
) -> CartParts:
    registry = CollectorRegistry()
    items = ItemMasterClient(
        grpc=None,
        http=transport,
        timeout_seconds=5,
        breaker=CircuitBreaker(5),
        cache=ItemCache(60, 5, 1000),
        metrics=LookupMetrics(registry),
    )
    return assemble(cart_repository, cart_settings, items=items, registry=registry)


@pytest.fixture
async def keys(cart_repository: SqliteCartRepository) -> dict[str, str]:
    """API keys of four terminals: two of T0001/S001, one of T0001/S002, one of T0002/S001."""
    issued = {}
    for name, (tenant, store, terminal) in {
        "r1": ("T0001", "S001", "R01"),
        "r2": ("T0001", "S001", "R02"),
        "other_store": ("T0001", "S002", "R01"),
        "other_tenant": ("T0002", "S001", "R01"),
    }.items():
        key = issue_key()
        await cart_repository.add_terminal(key, tenant, store, terminal)
        issued[name] = key.api_key
    return issued


@pytest.fixture
def http(cart: CartParts, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(cart.http_app, headers={"X-API-KEY": keys["r1"]}) as client:
        yield client
