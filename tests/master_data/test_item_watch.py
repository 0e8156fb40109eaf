"""WatchItemChanges in process (ChannelFor): changes of the watched tenants in commit order,
resume from a position, resets, heartbeats, filters and bad requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor

from gen.kugel.item.v1 import ItemServiceStub, WatchItemChangesRequest, WatchItemChangesResponse
from services.master_data.grpc_server import build_grpc_server
from services.master_data.records import Item, StorePrice, TaxRule
from services.master_data.server import MasterData, assemble
from services.master_data.settings import MasterDataSettings
from services.master_data.sqlite_repository import SqliteItemRepository
from services.rpc.grpc_connection import GrpcLimits
from services.wire.grpc import StrictProtoCodec

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def watched(repository: SqliteItemRepository, settings: MasterDataSettings) -> MasterData:
    return assemble(repository, settings.model_copy(update={"watch_heartbeat_seconds": 0.3}))


@pytest.fixture
async def stub(watched: MasterData) -> AsyncIterator[ItemServiceStub]:
    grpc = build_grpc_server(watched.item_service, limits=GrpcLimits(max_message_bytes=4096))
    async with ChannelFor(grpc.services, codec=StrictProtoCodec(4096)) as channel:
        yield ItemServiceStub(channel)


def price(item: str, value: int, store: str = "S001", tenant: str = "T0001") -> StorePrice:
    return StorePrice(tenant_id=tenant, store_code=store, item_code=item, unit_price=value)


async def events(
    stub: ItemServiceStub, count: int, *, heartbeats: bool = False, **request: Any
) -> AsyncIterator[WatchItemChangesResponse]:
    """The first `count` events of a watch (heartbeats only when asked for)."""
    stream = stub.watch_item_changes(WatchItemChangesRequest(**request), metadata=AUTH, timeout=10)
    seen = 0
    async for event in stream:
        if event.heartbeat is not None and not heartbeats:
            continue
        yield event
        seen += 1
        if seen == count:
            return


async def collect(
    stub: ItemServiceStub, count: int, *, heartbeats: bool = False, **request: Any
) -> list[Any]:
    return [e async for e in events(stub, count, heartbeats=heartbeats, **request)]


async def test_changes_arrive_in_commit_order_and_resume(
    stub: ItemServiceStub, watched: MasterData
) -> None:
    watching = asyncio.create_task(collect(stub, 2, tenant_ids=["T0001"]))
    await asyncio.sleep(0.1)
    await watched.catalog.apply([price("ITEM0001", 111)])
    await watched.catalog.apply([price("ITEM0002", 222, store="S002"), price("ITEM0003", 333)])
    first, second = await asyncio.wait_for(watching, 5)
    assert (first.change.store_code, first.change.item_codes) == ("S001", ["ITEM0001"])
    assert second.change.sequence > first.change.sequence
    assert (second.change.store_code, second.change.item_codes) == ("S002", ["ITEM0002"])
    # Resume after the first: the rest of the log comes again, in order.
    resumed = await collect(stub, 2, tenant_ids=["T0001"], after_sequence=first.change.sequence)
    assert [e.change.item_codes for e in resumed] == [["ITEM0002"], ["ITEM0003"]]
    assert resumed[0].change.committed_at is not None


async def test_a_rule_change_names_all_items_and_other_tenants_stay_out(
    stub: ItemServiceStub, watched: MasterData
) -> None:
    watching = asyncio.create_task(collect(stub, 1, tenant_ids=["T0001"], store_codes=["S002"]))
    await asyncio.sleep(0.1)
    await watched.catalog.apply([price("ITEM0001", 5, tenant="T0002")])  # not watched
    await watched.catalog.apply([price("ITEM0001", 6, store="S001")])  # another store
    rule = TaxRule(
        tenant_id="T0001",
        tax_code="TX10",
        name="Standard 10%",
        tax_type="EXTERNAL",
        rate_basis_points=800,
        rounding_method="FLOOR",
    )
    await watched.catalog.apply([rule])
    [event] = await asyncio.wait_for(watching, 5)
    assert (event.change.tenant_id, event.change.store_code) == ("T0001", "")
    assert event.change.all_items is True
    assert event.change.item_codes == []


async def test_an_item_change_applies_to_every_store(
    stub: ItemServiceStub, watched: MasterData
) -> None:
    watching = asyncio.create_task(collect(stub, 1, tenant_ids=["T0001"], store_codes=["S002"]))
    await asyncio.sleep(0.1)
    item = Item(
        tenant_id="T0001",
        item_code="NEW1",
        item_name="New",
        unit_price=5,
        tax_code="TX10",
        category_code="FOOD",
    )
    await watched.catalog.apply([item])
    [event] = await asyncio.wait_for(watching, 5)
    assert (event.change.store_code, event.change.item_codes) == ("", ["NEW1"])


async def test_an_idle_watch_gets_heartbeats_and_an_unknown_position_a_reset(
    stub: ItemServiceStub, watched: MasterData
) -> None:
    await watched.catalog.apply([price("ITEM0001", 1)])
    start, beat = await collect(stub, 2, heartbeats=True, tenant_ids=["T0002"])
    assert start.heartbeat is not None  # first thing: where the watch starts
    assert beat.heartbeat is not None  # then, after 0.3 s of quiet, again
    assert beat.heartbeat.sequence >= 1  # where the log is, even for a quiet tenant
    [reset] = await collect(stub, 1, tenant_ids=["T0001"], after_sequence=10**9)
    assert reset.reset is not None
    assert reset.reset.sequence == beat.heartbeat.sequence


@pytest.mark.parametrize(
    "request_fields",
    [
        pytest.param({}, id="no tenant"),
        pytest.param({"tenant_ids": ["../x"]}, id="not a code"),
        pytest.param({"tenant_ids": ["T0001"], "store_codes": ["a b"]}, id="bad store"),
        pytest.param({"tenant_ids": [f"T{n}" for n in range(101)]}, id="too many tenants"),
        pytest.param({"tenant_ids": ["T0001"], "after_sequence": -1}, id="negative position"),
        pytest.param(
            {"tenant_ids": ["T0001"], "store_codes": [f"S{n}" for n in range(101)]},
            id="too many stores",
        ),
    ],
)
async def test_bad_requests_are_invalid_argument(
    stub: ItemServiceStub, request_fields: dict[str, Any]
) -> None:
    with pytest.raises(GRPCError) as error:
        await collect(stub, 1, **request_fields)
    assert error.value.status is Status.INVALID_ARGUMENT


async def test_a_watch_needs_the_token(stub: ItemServiceStub) -> None:
    stream = stub.watch_item_changes(WatchItemChangesRequest(tenant_ids=["T0001"]), timeout=5)
    with pytest.raises(GRPCError) as error:
        async for _ in stream:
            pass
    assert error.value.status is Status.UNAUTHENTICATED


async def test_an_unknown_tenant_is_refused(stub: ItemServiceStub) -> None:
    with pytest.raises(GRPCError) as error:
        await collect(stub, 1, tenant_ids=["T0001", "T9999"])
    assert error.value.status is Status.NOT_FOUND
    assert "T9999" in (error.value.message or "")


async def test_watches_past_the_cap_are_refused_and_released_ones_count_no_more(
    repository: SqliteItemRepository, settings: MasterDataSettings
) -> None:
    capped = assemble(repository, settings.model_copy(update={"max_watches_per_token": 2}))
    grpc = build_grpc_server(capped.item_service, limits=GrpcLimits(max_message_bytes=4096))
    async with ChannelFor(grpc.services, codec=StrictProtoCodec(4096)) as channel:
        stub = ItemServiceStub(channel)
        watching = [asyncio.create_task(collect(stub, 5, tenant_ids=["T0001"])) for _ in range(2)]
        await asyncio.sleep(0.1)
        with pytest.raises(GRPCError) as error:
            await collect(stub, 1, tenant_ids=["T0001"])
        assert error.value.status is Status.RESOURCE_EXHAUSTED
        watching[0].cancel()
        await asyncio.sleep(0.1)
        assert capped.feed.open_watches == 1
        third = asyncio.create_task(collect(stub, 5, tenant_ids=["T0001"]))
        await asyncio.sleep(0.1)
        assert capped.feed.open_watches == 2
        for task in (*watching, third):
            task.cancel()
        await asyncio.gather(*watching, third, return_exceptions=True)


async def test_shutdown_ends_every_watch_as_unavailable(
    stub: ItemServiceStub, watched: MasterData
) -> None:
    watching = asyncio.create_task(collect(stub, 5, tenant_ids=["T0001"]))
    await asyncio.sleep(0.1)
    assert watched.feed.open_watches == 1
    watched.feed.close()
    with pytest.raises(GRPCError) as error:
        await asyncio.wait_for(watching, 5)
    assert error.value.status is Status.UNAVAILABLE  # a generic client retries elsewhere
    assert watched.feed.open_watches == 0
