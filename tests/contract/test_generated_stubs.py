"""The generated package is importable and speaks the contract's wire and JSON forms."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

from gen.kugel.item.v1 import (
    GetItemDetailRequest,
    GetItemDetailResponse,
    Item,
    ItemServiceBase,
    ItemServiceStub,
    RoundingMethod,
    TaxRule,
    TaxType,
)


def sample_item() -> Item:
    return Item(
        item_code="4901234567890",
        item_name="Green tea 500ml",
        unit_price=9_223_372_036_854_775_807,  # int64 max: money never goes through a float
        currency_code="JPY",
        tax_code="TX10",
        category_code="DRINK",
        is_active=True,
        created_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        updated_at=datetime.datetime(2026, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
        tax_rule=TaxRule(
            tax_code="TX10",
            tax_type=TaxType.EXTERNAL,
            rate_basis_points=1000,
            rounding_method=RoundingMethod.HALF_UP,
            name="Standard 10%",
        ),
        store_price_applied=True,
    )


def test_binary_round_trip_keeps_every_field() -> None:
    response = GetItemDetailResponse(item=sample_item())
    decoded = GetItemDetailResponse.parse(bytes(response))
    assert decoded == response
    assert decoded.item is not None
    assert decoded.item.unit_price == 9_223_372_036_854_775_807


def test_json_uses_proto3_mapping() -> None:
    body = GetItemDetailResponse(item=sample_item()).to_dict()
    item = body["item"]
    assert item["unitPrice"] == "9223372036854775807"  # int64 as a JSON string
    assert item["taxRule"]["taxType"] == "TAX_TYPE_EXTERNAL"
    assert item["createdAt"] == "2026-01-02T03:04:05Z"
    assert GetItemDetailResponse.from_dict(body) == GetItemDetailResponse(item=sample_item())


def test_request_fields_are_the_contracts() -> None:
    request = GetItemDetailRequest(
        tenant_id="T0001", store_code="S001", item_code="A1", terminal_id="T1"
    )
    assert request.to_dict() == {
        "tenantId": "T0001",
        "storeCode": "S001",
        "itemCode": "A1",
        "terminalId": "T1",
    }


def test_service_mapping_names_every_rpc() -> None:
    paths = set(ItemServiceBase().__mapping__())
    assert paths == {
        "/kugel.item.v1.ItemService/GetItemDetail",
        "/kugel.item.v1.ItemService/BatchGetItemDetails",
        "/kugel.item.v1.ItemService/WatchItemChanges",
        "/kugel.item.v1.ItemService/StreamStoreItems",
        "/kugel.item.v1.ItemService/ResolveScan",
        "/kugel.item.v1.ItemService/BatchResolveScans",
    }
    assert hasattr(ItemServiceStub, "batch_get_item_details")
    assert hasattr(ItemServiceStub, "watch_item_changes")


def test_buf_curl_lists_every_rpc_from_the_schema_alone() -> None:
    buf = Path(sys.executable).parent / "buf"
    result = subprocess.run(
        [str(buf), "curl", "--schema", "proto", "--list-methods"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == [
        "kugel.item.v1.ItemService/BatchGetItemDetails",
        "kugel.item.v1.ItemService/BatchResolveScans",
        "kugel.item.v1.ItemService/GetItemDetail",
        "kugel.item.v1.ItemService/ResolveScan",
        "kugel.item.v1.ItemService/StreamStoreItems",
        "kugel.item.v1.ItemService/WatchItemChanges",
    ]
