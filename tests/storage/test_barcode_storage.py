"""Barcodes and in-store layouts on both engines: a barcode one item's in a tenant, never moved
by a write, gone with its item; layouts that never overlap; what a change tells the watchers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.common.instore_codes import Embedded, WeightUnit
from services.master_data import demo_data
from services.master_data.records import Barcode, Item, ScanLayout
from services.master_data.repository import ChangeRejected, Deletion, ItemRepository
from services.master_data.settings import MasterDataSettings
from services.master_data.storage import open_repository

from .conftest import Location

JAN_5 = "04569951000058"  # demo item 5's JAN as GTIN-14


async def owner(repository: ItemRepository, tenant_id: str, barcode: str) -> str | None:
    return (await repository.barcode_items(tenant_id, [barcode])).get(barcode)


@pytest.fixture
async def repository(new_database: Location) -> AsyncIterator[ItemRepository]:
    settings = MasterDataSettings(master_data_db=new_database(), db_pool_size=2)
    opened = await open_repository(settings, create=True)
    await opened.apply(demo_data.records())
    yield opened
    await opened.close()


async def test_the_demo_jans_are_kept_as_gtin14(repository: ItemRepository) -> None:
    assert demo_data.jan(5) == "4569951000058"
    assert await owner(repository, "T0001", JAN_5) == "ITEM0005"
    assert await owner(repository, "T0002", JAN_5) == "ITEM0005"  # each tenant its own
    assert await owner(repository, "T0001", "0" + demo_data.old_jan(10)) == "ITEM0010"  # old label
    assert await owner(repository, "T0001", "04901234567894") is None


async def test_a_barcode_is_never_moved_to_another_item(repository: ItemRepository) -> None:
    again = Barcode(tenant_id="T0001", barcode=JAN_5, item_code="ITEM0005")
    assert await repository.apply([again]) == 1  # the same row: no change, no error
    moved = Barcode(tenant_id="T0001", barcode=JAN_5, item_code="ITEM0006")
    with pytest.raises(ChangeRejected) as refused:
        await repository.apply([moved])
    assert refused.value.change == moved
    assert await owner(repository, "T0001", JAN_5) == "ITEM0005"


async def test_an_item_may_have_many_and_they_go_with_it(repository: ItemRepository) -> None:
    second = Barcode(tenant_id="T0001", barcode="4901234567894", item_code="ITEM0005")
    await repository.apply([second])
    assert await owner(repository, "T0001", "04901234567894") == "ITEM0005"
    await repository.apply([Deletion(Barcode, ("T0001", "04901234567894"))])
    assert await owner(repository, "T0001", "04901234567894") is None
    await repository.apply([Deletion(Item, ("T0001", "ITEM0005"))])
    assert await owner(repository, "T0001", JAN_5) is None


async def test_a_barcode_of_an_unknown_item_is_refused(repository: ItemRepository) -> None:
    with pytest.raises(ChangeRejected):
        await repository.apply(
            [Barcode(tenant_id="T0001", barcode="4901234567894", item_code="NOPE")]
        )


async def test_a_barcode_change_is_logged_for_every_item_of_the_tenant(
    repository: ItemRepository,
) -> None:
    _, before = await repository.log_bounds()
    await repository.apply(
        [Barcode(tenant_id="T0001", barcode="4901234567894", item_code="ITEM0007")]
    )
    [change] = await repository.changes_after(before, ["T0001"], 10)
    assert (change.entry.store_code, change.entry.all_items) == ("", True)


def layout(layout_id: str, prefix: str, item_digits: int = 5) -> ScanLayout:
    return ScanLayout(tenant_id="T0001", layout_id=layout_id, prefix=prefix,
                      item_digits=item_digits, embedded=Embedded.PRICE,
                      value_digits=10 - len(prefix) - item_digits + 2)  # fmt: skip


async def test_layouts_read_back_and_never_overlap(repository: ItemRepository) -> None:
    kept = await repository.scan_layouts("T0001")
    assert [(k.layout_id, k.prefix, k.unit) for k in kept] == [
        ("JP-PRICE", "02", None),
        ("WEIGHT-G", "21", WeightUnit.GRAM),
    ]
    await repository.apply([layout("UK-PRICE", "20")])  # apart from 02 and 21
    for overlapping in (layout("WIDE", "2", 6), layout("NARROW", "021", 4)):
        with pytest.raises(ChangeRejected):
            await repository.apply([overlapping])
    # a layout may change its own prefix (it overlaps only others)
    await repository.apply([layout("UK-PRICE", "201", 4)])
    assert [k.prefix for k in await repository.scan_layouts("T0001")] == ["02", "201", "21"]
    assert [k.layout_id for k in await repository.scan_layouts("T0002")] == ["JP-PRICE", "WEIGHT-G"]
