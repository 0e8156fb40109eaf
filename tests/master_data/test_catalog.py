"""Lookup rules: store prices, errors naming the code, the read cache and its invalidation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen.kugel.item.v1 import RoundingMethod, TaxType
from services.master_data import demo_data
from services.master_data.catalog import MAX_BATCH_SIZE, ItemCatalog
from services.master_data.errors import CatalogError, ErrorCode
from services.master_data.records import Item, StorePrice
from services.master_data.sqlite_repository import SqliteItemRepository


async def test_store_price_overrides_common_price(catalog: ItemCatalog) -> None:
    item = await catalog.get_item("T0001", "S001", "ITEM0005")
    assert item.unit_price == demo_data.common_price(5) - 20
    assert item.store_price_applied is True
    other_store = await catalog.get_item("T0001", "S002", "ITEM0005")
    assert other_store.unit_price == demo_data.common_price(5)
    assert other_store.store_price_applied is False


async def test_item_carries_its_tax_rule_and_currency(catalog: ItemCatalog) -> None:
    item = await catalog.get_item("T0001", "S001", "ITEM0003")
    assert item.currency_code == "JPY"
    assert item.tax_code == "TX08"
    assert item.tax_rule is not None
    assert item.tax_rule.tax_type == TaxType.INTERNAL
    assert item.tax_rule.rate_basis_points == 800
    assert item.tax_rule.rounding_method == RoundingMethod.HALF_UP
    assert item.created_at is not None
    assert item.updated_at is not None


async def test_inactive_item_is_returned_flagged(catalog: ItemCatalog) -> None:
    item = await catalog.get_item("T0001", "S001", "ITEM0050")
    assert item.is_active is False


@pytest.mark.parametrize(
    ("tenant", "store", "code", "expected", "named"),
    [
        pytest.param("T0001", "S001", "NOPE", ErrorCode.NOT_FOUND, "NOPE", id="unknown item"),
        pytest.param(
            "T9999", "S001", "ITEM0001", ErrorCode.TENANT_NOT_FOUND, "T9999", id="unknown tenant"
        ),
        pytest.param(
            "T0001", "S999", "ITEM0001", ErrorCode.STORE_NOT_FOUND, "S999", id="unknown store"
        ),
        pytest.param(
            "T0002",
            "S002",
            "ITEM0001",
            ErrorCode.STORE_NOT_FOUND,
            "S002",
            id="other tenant's store",
        ),
        pytest.param(
            "", "S001", "ITEM0001", ErrorCode.INVALID_ARGUMENT, "tenant_id", id="missing tenant"
        ),
        pytest.param(
            "T0001", "", "ITEM0001", ErrorCode.INVALID_ARGUMENT, "store_code", id="missing store"
        ),
        pytest.param("T0001", "S001", "", ErrorCode.INVALID_ARGUMENT, "item_code", id="empty code"),
        pytest.param(
            "T0001", "S001", "x" * 65, ErrorCode.INVALID_ARGUMENT, "item_code", id="over-long code"
        ),
        pytest.param(
            "T0001",
            "S001",
            "A'; DROP TABLE items;--",
            ErrorCode.INVALID_ARGUMENT,
            "item_code",
            id="sql metacharacters",
        ),
        pytest.param(
            "T0001", "S001", "商品", ErrorCode.INVALID_ARGUMENT, "item_code", id="unicode code"
        ),
        pytest.param(
            "T0001",
            "S001",
            "ITEM0001\n",
            ErrorCode.INVALID_ARGUMENT,
            "item_code",
            id="code with a final newline",
        ),
        pytest.param(
            "T0001\n",
            "S001",
            "ITEM0001",
            ErrorCode.INVALID_ARGUMENT,
            "tenant_id",
            id="tenant with a final newline",
        ),
    ],
)
async def test_bad_lookups_name_what_is_wrong(
    catalog: ItemCatalog, tenant: str, store: str, code: str, expected: ErrorCode, named: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        await catalog.get_item(tenant, store, code)
    assert raised.value.code == expected
    assert named in raised.value.message


async def test_batch_returns_found_in_order_and_lists_missing(catalog: ItemCatalog) -> None:
    found, missing = await catalog.get_items(
        "T0001", "S001", ["ITEM0003", "GHOST", "ITEM0001", "ITEM0003"]
    )
    assert [i.item_code for i in found] == ["ITEM0003", "ITEM0001"]
    assert missing == ["GHOST"]


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        pytest.param([], "must not be empty", id="empty batch"),
        pytest.param(["A"] * (MAX_BATCH_SIZE + 1), "at most 100", id="over the limit"),
        pytest.param(["ITEM0001", "bad code"], "item_codes", id="one malformed code"),
    ],
)
async def test_bad_batches_are_invalid(
    catalog: ItemCatalog, codes: list[str], message: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        await catalog.get_items("T0001", "S001", codes)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT
    assert message in raised.value.message


async def test_tenants_never_see_each_others_items(catalog: ItemCatalog) -> None:
    await catalog.apply(
        [
            Item(
                tenant_id="T0002",
                item_code="ONLY-T2",
                item_name="Secret",
                unit_price=9,
                tax_code="TX10",
                category_code="FOOD",
            )
        ]
    )
    assert (await catalog.get_item("T0002", "S001", "ONLY-T2")).item_name == "Secret"
    with pytest.raises(CatalogError) as raised:
        await catalog.get_item("T0001", "S001", "ONLY-T2")
    assert raised.value.code == ErrorCode.NOT_FOUND
    _, missing = await catalog.get_items("T0001", "S001", ["ONLY-T2", "ITEM0001"])
    assert missing == ["ONLY-T2"]


async def test_own_write_is_visible_at_once(catalog: ItemCatalog) -> None:
    before = await catalog.get_item("T0001", "S002", "ITEM0001")
    await catalog.apply(
        [StorePrice(tenant_id="T0001", store_code="S002", item_code="ITEM0001", unit_price=1)]
    )
    after = await catalog.get_item("T0001", "S002", "ITEM0001")
    assert (before.unit_price, after.unit_price) == (demo_data.common_price(1), 1)


async def test_cached_not_found_is_dropped_by_a_write(catalog: ItemCatalog) -> None:
    with pytest.raises(CatalogError):
        await catalog.get_item("T0001", "S001", "NEW1")
    await catalog.apply(
        [
            Item(
                tenant_id="T0001",
                item_code="NEW1",
                item_name="New",
                unit_price=5,
                tax_code="TX10",
                category_code="FOOD",
            )
        ]
    )
    assert (await catalog.get_item("T0001", "S001", "NEW1")).unit_price == 5


async def test_other_process_write_shows_once_invalidated(
    catalog: ItemCatalog, tmp_path: Path
) -> None:
    # When to invalidate is the repository's follow_changes (tests/storage).
    cached = await catalog.get_item("T0001", "S002", "ITEM0002")
    other = await SqliteItemRepository.open(tmp_path / "master.db", create=True)
    try:
        await ItemCatalog(other, 0).apply(
            [StorePrice(tenant_id="T0001", store_code="S002", item_code="ITEM0002", unit_price=7)]
        )
    finally:
        await other.close()
    assert (await catalog.get_item("T0001", "S002", "ITEM0002")).unit_price == cached.unit_price
    catalog.invalidate()
    assert (await catalog.get_item("T0001", "S002", "ITEM0002")).unit_price == 7


async def test_cache_hit_skips_the_database(repository: SqliteItemRepository) -> None:
    catalog = ItemCatalog(repository, cache_size=10)
    await catalog.get_item("T0001", "S001", "ITEM0001")
    await repository.close()  # any further query would fail
    assert (await catalog.get_item("T0001", "S001", "ITEM0001")).item_code == "ITEM0001"
