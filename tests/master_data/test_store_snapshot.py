"""StreamStoreItems: a store's every active item, in pages, with the change-log position the
snapshot starts from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor

from gen.kugel.item.v1 import ItemServiceStub, StreamStoreItemsRequest
from services.master_data import demo_data
from services.master_data.catalog import ItemCatalog
from services.master_data.grpc_server import build_grpc_server
from services.master_data.records import StorePrice
from services.master_data.server import MasterData
from services.rpc.grpc_connection import GrpcLimits
from services.wire.grpc import StrictProtoCodec

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
LIMIT = 4 << 20


@pytest.fixture
async def stub(master_data: MasterData) -> AsyncIterator[ItemServiceStub]:
    grpc = build_grpc_server(master_data.item_service, limits=GrpcLimits(max_message_bytes=LIMIT))
    async with ChannelFor(grpc.services, codec=StrictProtoCodec(LIMIT)) as channel:
        yield ItemServiceStub(channel)


async def test_every_active_item_of_the_store_once_in_code_order(stub: ItemServiceStub) -> None:
    request = StreamStoreItemsRequest(tenant_id="T0001", store_code="S001")
    pages = [page async for page in stub.stream_store_items(request, metadata=AUTH, timeout=10)]
    codes = [item.item_code for page in pages for item in page.items]
    active = (
        demo_data.ITEMS_PER_TENANT
        - demo_data.ITEMS_PER_TENANT // 50
        + len(demo_data.IN_STORE_ITEMS)
    )
    assert len(codes) == active == len(set(codes))
    assert codes == sorted(codes)
    assert "ITEM0050" not in codes  # withdrawn
    assert len({page.sequence for page in pages}) == 1


async def test_pages_are_bounded_and_carry_the_store_price(catalog: ItemCatalog) -> None:
    pages = [page async for page in catalog.store_snapshot("T0001", "S001", page_size=7)]
    assert {len(items) for items, _ in pages[:-1]} == {7}
    by_code = {item.item_code: item for items, _ in pages for item in items}
    single = await catalog.get_item("T0001", "S001", "ITEM0005")
    assert by_code["ITEM0005"].unit_price == single.unit_price
    assert by_code["ITEM0005"].store_price_applied


async def position(catalog: ItemCatalog) -> int:
    async for _, sequence in catalog.store_snapshot("T0001", "S001"):
        return sequence
    raise AssertionError("no page")


async def test_the_position_is_read_before_the_pages(catalog: ItemCatalog) -> None:
    before = await position(catalog)
    price = StorePrice(tenant_id="T0001", store_code="S001", item_code="ITEM0001", unit_price=5)
    await catalog.apply([price])
    assert await position(catalog) == before + 1


@pytest.mark.parametrize(("tenant", "store"), [("T0001", "S999"), ("T9999", "S001"), ("", "S001")])
async def test_an_unknown_store_or_tenant_is_refused(
    stub: ItemServiceStub, tenant: str, store: str
) -> None:
    request = StreamStoreItemsRequest(tenant_id=tenant, store_code=store)
    with pytest.raises(GRPCError) as raised:
        async for _ in stub.stream_store_items(request, metadata=AUTH, timeout=10):
            pass
    assert raised.value.status in {Status.NOT_FOUND, Status.INVALID_ARGUMENT}
