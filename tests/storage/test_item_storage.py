"""master-data's storage on both backends, with two repositories on one database standing for
two replicas: lookups, all-or-nothing writes that name the broken change, and a write on one
replica reaching the other's `follow_changes` (PostgreSQL: LISTEN/NOTIFY; SQLite: polling)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from services.master_data import demo_data
from services.master_data.records import Item, Store, StorePrice, TaxRule, Tenant
from services.master_data.repository import (
    ChangeRejected,
    Deletion,
    EntryNotFound,
    ItemRepository,
)
from services.master_data.settings import MasterDataSettings
from services.master_data.storage import open_repository

from .conftest import Location


@pytest.fixture
async def replicas(new_database: Location) -> AsyncIterator[tuple[ItemRepository, ...]]:
    settings = MasterDataSettings(master_data_db=new_database(), db_pool_size=4)
    opened = [await open_repository(settings, create=True) for _ in range(2)]
    await opened[0].apply(demo_data.records())
    yield tuple(opened)
    for repository in opened:
        await repository.close()


async def test_lookups_price_items_for_the_store(replicas: tuple[ItemRepository, ...]) -> None:
    one, two = replicas
    await one.apply(
        [StorePrice(tenant_id="T0001", store_code="S002", item_code="ITEM0002", unit_price=77)]
    )
    context = await two.store_context("T0001", "S002")
    assert context is not None
    assert (context.currency_code, context.store_known) == ("JPY", True)
    unknown_store = await two.store_context("T0001", "S999")
    assert unknown_store is not None
    assert not unknown_store.store_known
    assert await two.store_context("T9999", "S001") is None

    priced = {
        p.item_code: p
        for p in await two.priced_items("T0001", "S002", ["ITEM0001", "ITEM0002", "NOPE"])
    }
    assert set(priced) == {"ITEM0001", "ITEM0002"}
    assert (priced["ITEM0002"].unit_price, priced["ITEM0002"].store_price_applied) == (77, True)
    assert priced["ITEM0001"].store_price_applied is False
    assert priced["ITEM0001"].unit_price > 0
    assert priced["ITEM0001"].tax_type == "EXTERNAL"
    assert priced["ITEM0002"].updated_at_us >= priced["ITEM0002"].created_at_us
    withdrawn = await two.priced_items("T0001", "S001", ["ITEM0050"])
    assert withdrawn[0].is_active is False


async def test_a_broken_reference_names_its_change_and_writes_nothing(
    replicas: tuple[ItemRepository, ...],
) -> None:
    one, two = replicas
    version = await two.version()
    good = Item(
        tenant_id="T0001",
        item_code="NEW1",
        item_name="New",
        unit_price=5,
        tax_code="TX10",
        category_code="FOOD",
    )
    broken = good.model_copy(update={"item_code": "NEW2", "tax_code": "NOPE"})
    with pytest.raises(ChangeRejected) as rejected:
        await one.apply([good, broken])
    assert rejected.value.index == 1
    assert await two.priced_items("T0001", "S001", ["NEW1"]) == []
    assert await two.version() == version

    in_use = Deletion(TaxRule, ("T0001", "TX10"))
    with pytest.raises(ChangeRejected):
        await one.apply([in_use])
    with pytest.raises(EntryNotFound):
        await one.apply([Deletion(Item, ("T0001", "NOPE"))])
    assert await one.apply([good]) == 1
    assert await two.version() == version + 1


async def test_has_tells_which_entries_exist(replicas: tuple[ItemRepository, ...]) -> None:
    one, _ = replicas
    assert await one.has(Tenant, ("T0001",))
    assert not await one.has(Tenant, ("T0009",))
    assert await one.has(TaxRule, ("T0001", "TX10"))
    assert not await one.has(TaxRule, ("T0001", "TX99"))
    assert await one.has(Store, ("T0001", "S001"))
    assert await one.has(Item, ("T0001", "ITEM0001"))
    assert not await one.has(Item, ("T0001", "NOPE"))


async def test_a_write_on_one_replica_reaches_the_other(
    replicas: tuple[ItemRepository, ...],
) -> None:
    one, two = replicas
    calls: list[float] = []
    follower = asyncio.create_task(two.follow_changes(lambda: calls.append(time.monotonic()), 0.05))
    try:
        await asyncio.sleep(0.5)  # listening (PostgreSQL says "changed" once when it starts)
        calls.clear()
        await asyncio.sleep(0.3)
        assert calls == []  # nothing written, nothing said
        written = time.monotonic()
        await one.apply(
            [StorePrice(tenant_id="T0001", store_code="S001", item_code="ITEM0003", unit_price=9)]
        )
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.02)
        assert calls, "the other replica never heard of the write"
        assert calls[0] >= written
    finally:
        follower.cancel()


async def test_a_traced_write_keeps_its_trace_with_its_changes(
    replicas: tuple[ItemRepository, ...],
) -> None:
    one, two = replicas
    price = StorePrice(tenant_id="T0001", store_code="S001", item_code="ITEM0003", unit_price=9)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("admin write") as span:
        await one.apply([price])
    await one.apply([price])  # outside any span
    *_, traced, untraced = await two.all_changes_after(0, 1000)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert traced.trace_parent.split("-")[1] == trace_id  # what the other replica streams
    assert untraced.trace_parent == ""
