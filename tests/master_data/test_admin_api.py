"""The admin API and master file import: writes, validation naming row and field, all or nothing."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from .conftest import ADMIN, TOKEN

ADMIN_AUTH = {"authorization": f"Bearer {ADMIN}"}
LOOKUP = "/kugel.item.v1.ItemService/GetItemDetail"


def lookup(http: TestClient, code: str, store: str = "S001") -> dict:
    response = http.post(
        LOOKUP,
        json={"tenantId": "T0001", "storeCode": store, "itemCode": code},
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    return {"status": response.status_code, **response.json()}


NEW_ITEM = {
    "itemName": "Melon bread",
    "unitPrice": 180,
    "taxCode": "TX08",
    "categoryCode": "FOOD",
}


def test_put_item_then_lookup_sees_it(http: TestClient) -> None:
    assert lookup(http, "MELON")["status"] == 404  # also caches the miss
    response = http.put("/admin/v1/tenants/T0001/items/MELON", json=NEW_ITEM, headers=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["itemCode"] == "MELON"
    item = lookup(http, "MELON")["item"]
    assert (item["itemName"], item["unitPrice"]) == ("Melon bread", "180")


def test_store_price_put_and_delete(http: TestClient) -> None:
    path = "/admin/v1/tenants/T0001/stores/S002/prices/ITEM0001"
    assert http.put(path, json={"unitPrice": 55}, headers=ADMIN_AUTH).status_code == 200
    assert lookup(http, "ITEM0001", "S002")["item"]["unitPrice"] == "55"
    assert http.delete(path, headers=ADMIN_AUTH).status_code == 204
    assert lookup(http, "ITEM0001", "S002")["item"].get("storePriceApplied") is None
    assert http.delete(path, headers=ADMIN_AUTH).status_code == 404


def test_delete_item_then_lookup_is_not_found(http: TestClient) -> None:
    assert lookup(http, "ITEM0002")["status"] == 200
    assert (
        http.delete("/admin/v1/tenants/T0001/items/ITEM0002", headers=ADMIN_AUTH).status_code == 204
    )
    assert lookup(http, "ITEM0002")["status"] == 404


def test_tax_rule_in_use_cannot_be_deleted(http: TestClient) -> None:
    response = http.delete("/admin/v1/tenants/T0001/tax-rules/TX10", headers=ADMIN_AUTH)
    assert response.status_code == 409
    assert response.json()["code"] == "in_use"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**NEW_ITEM, "unitPrice": 1.5}, "unitPrice", id="float price"),
        pytest.param({**NEW_ITEM, "unitPrice": 100.0}, "unitPrice", id="integral float price"),
        pytest.param({**NEW_ITEM, "unitPrice": -1}, "unitPrice", id="negative price"),
        pytest.param({**NEW_ITEM, "unitPrice": 10**15}, "unitPrice", id="huge price"),
        pytest.param(
            {k: v for k, v in NEW_ITEM.items() if k != "itemName"}, "itemName", id="missing name"
        ),
        pytest.param({**NEW_ITEM, "colour": "red"}, "colour", id="unknown field"),
        pytest.param({**NEW_ITEM, "taxCode": "bad code"}, "taxCode", id="malformed reference"),
        pytest.param({**NEW_ITEM, "unitPrice": True}, "unitPrice", id="boolean price"),
        pytest.param({**NEW_ITEM, "unitPrice": "123"}, "unitPrice", id="price as a string"),
        pytest.param({**NEW_ITEM, "isActive": "yes"}, "isActive", id="flag as a string"),
        pytest.param({**NEW_ITEM, "isActive": 1}, "isActive", id="flag as a number"),
        pytest.param({**NEW_ITEM, "categoryCode": ".."}, "categoryCode", id="code of dots"),
    ],
)
def test_invalid_entry_names_the_field(http: TestClient, body: dict, field: str) -> None:
    response = http.put("/admin/v1/tenants/T0001/items/NEW1", json=body, headers=ADMIN_AUTH)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in [d["field"] for d in response.json()["details"]]
    assert lookup(http, "NEW1")["status"] == 404


def test_unknown_reference_is_a_conflict(http: TestClient) -> None:
    response = http.put(
        "/admin/v1/tenants/T0001/items/NEW1",
        json={**NEW_ITEM, "taxCode": "TX99"},
        headers=ADMIN_AUTH,
    )
    assert response.status_code == 409


def test_key_fields_come_from_the_path(http: TestClient) -> None:
    response = http.put(
        "/admin/v1/tenants/T0001/items/NEW1",
        json={**NEW_ITEM, "tenantId": "T0002"},
        headers=ADMIN_AUTH,
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no token"),
        pytest.param({"authorization": "Bearer nope"}, 401, id="wrong token"),
        pytest.param({"authorization": f"Bearer {TOKEN}"}, 401, id="item-service token"),
    ],
)
def test_admin_needs_the_admin_token(http: TestClient, headers: dict, status: int) -> None:
    response = http.put("/admin/v1/tenants/T0001/items/NEW1", json=NEW_ITEM, headers=headers)
    assert response.status_code == status
    assert ADMIN not in response.text


def test_json_import(http: TestClient) -> None:
    document = {
        "items": [
            {"tenantId": "T0001", "itemCode": "J1", **NEW_ITEM},
            {"tenantId": "T0001", "itemCode": "J2", **NEW_ITEM, "isActive": False},
        ],
        "storePrices": [
            {"tenantId": "T0001", "storeCode": "S001", "itemCode": "J2", "unitPrice": 99}
        ],
    }
    response = http.post("/admin/v1/import", content=json.dumps(document), headers=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 3}
    assert lookup(http, "J2")["item"]["unitPrice"] == "99"


def test_bad_json_import_changes_nothing_and_names_row_and_field(http: TestClient) -> None:
    document = {
        "items": [
            {"tenantId": "T0001", "itemCode": "J1", **NEW_ITEM},
            {"tenantId": "T0001", "itemCode": "J2", **NEW_ITEM, "unitPrice": "12.5"},
        ]
    }
    response = http.post("/admin/v1/import", content=json.dumps(document), headers=ADMIN_AUTH)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "where": "items[1]",
            "field": "unitPrice",
            "message": response.json()["details"][0]["message"],
        }
    ]
    assert lookup(http, "J1")["status"] == 404


CSV_HEADER = "tenant_id,item_code,item_name,unit_price,tax_code,category_code,is_active\n"


def test_csv_import(http: TestClient) -> None:
    body = CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,true\nT0001,C2,Gum,80,TX08,SNACK,\n"
    response = http.post("/admin/v1/import?format=csv&kind=items", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    assert lookup(http, "C2")["item"]["isActive"] is True


def test_an_item_the_store_may_not_discount_over_admin_csv_and_lookup(http: TestClient) -> None:
    assert lookup(http, "ITEM0040")["item"]["discountRestricted"] is True  # demo data
    assert "discountRestricted" not in lookup(http, "ITEM0041")["item"]  # false: proto3 default
    put = http.put(
        "/admin/v1/tenants/T0001/items/MELON",
        json={**NEW_ITEM, "discountRestricted": True},
        headers=ADMIN_AUTH,
    )
    assert (put.status_code, put.json()["discountRestricted"]) == (200, True)
    assert lookup(http, "MELON")["item"]["discountRestricted"] is True
    body = (
        CSV_HEADER.replace("\n", ",discount_restricted\n")
        + "T0001,C3,Rice,500,TX08,FOOD,true,true\n"
    )
    response = http.post("/admin/v1/import?format=csv&kind=items", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    assert lookup(http, "C3")["item"]["discountRestricted"] is True
    bad = http.put(
        "/admin/v1/tenants/T0001/items/MELON",
        json={**NEW_ITEM, "discountRestricted": "yes"},
        headers=ADMIN_AUTH,
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("body", "where", "field"),
    [
        pytest.param(
            CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,true\nT0001,C2,Gum,abc,TX08,SNACK,\n",
            "row 3",
            "unit_price",
            id="bad price",
        ),
        pytest.param(
            CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,true\nT0001,C2,Gum,80,TX99,SNACK,\n",
            "row 3",
            "tax_code",
            id="unknown tax rule",
        ),
        pytest.param("tenant_id,item_code\nT0001,C1\n", "row 1", "item_name", id="missing column"),
        pytest.param(CSV_HEADER.strip() + ",colour\n", "row 1", "colour", id="unknown column"),
        pytest.param(
            CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,true,extra\n",
            "row 2",
            "(row)",
            id="extra cell",
        ),
        pytest.param(CSV_HEADER + "T0001,C1,Cola,150,TX10\n", "row 2", "(row)", id="too few cells"),
        *[
            pytest.param(
                CSV_HEADER + f"T0001,C1,Cola,{price},TX10,DRINK,true\n",
                "row 2",
                "unit_price",
                id=f"price {price!r}",
            )
            for price in ("1_000", "100.0", " 100 ", "+100", "\uff11\uff10\uff10", "1e3")
        ],
        pytest.param(
            CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,maybe\n", "row 2", "is_active", id="flag"
        ),
        pytest.param(
            CSV_HEADER.strip() + ",unit_price\nT0001,C1,Cola,150,TX10,DRINK,true,1\n",
            "row 1",
            "unit_price",
            id="column twice",
        ),
        pytest.param(
            CSV_HEADER + "T0001,C1,Cola,150,TX10,DRINK,true\nT0001,C1,Cola,160,TX10,DRINK,true\n",
            "row 3",
            "(key)",
            id="same item twice",
        ),
    ],
)
def test_bad_csv_import_changes_nothing(
    http: TestClient, body: str, where: str, field: str
) -> None:
    response = http.post("/admin/v1/import?format=csv&kind=items", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 400, response.text
    problems = [(d["where"], d["field"]) for d in response.json()["details"]]
    assert (where, field) in problems
    assert lookup(http, "C1")["status"] == 404


def test_rows_of_the_wrong_length_are_reported_each_as_such(http: TestClient) -> None:
    """Before: a short row was a plain-text 500; a long one reported every column missing."""
    body = CSV_HEADER + "T0001,C1,Cola,150,TX10\nT0001,C2,Gum,80,TX08,SNACK,true,x,y\n"
    body += "T0001,C3,Tea,abc,TX08,DRINK,true\n"
    response = http.post("/admin/v1/import?format=csv&kind=items", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 400
    problems = [(d["where"], d["field"], d["message"]) for d in response.json()["details"]]
    assert problems[:2] == [
        ("row 2", "(row)", "has 5 cells; the header has 7"),
        ("row 3", "(row)", "has 9 cells; the header has 7"),
    ]
    assert [p[:2] for p in problems[2:]] == [("row 4", "unit_price")]


def test_every_missing_reference_is_named_with_its_row(http: TestClient) -> None:
    """Before: only the first broken reference was reported, as "(reference)" with no name."""
    body = CSV_HEADER + "T0001,C1,Cola,150,TX99,DRINK,true\nT0009,C2,Gum,80,TX08,SNACK,\n"
    body += "T0001,C3,Tea,120,TX98,DRINK,\n"
    response = http.post("/admin/v1/import?format=csv&kind=items", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 400
    problems = [(d["where"], d["field"], d["message"]) for d in response.json()["details"]]
    assert problems == [
        ("row 2", "tax_code", "no tax rule TX99 in tenant T0001"),
        ("row 3", "tenant_id", "no tenant T0009"),
        ("row 4", "tax_code", "no tax rule TX98 in tenant T0001"),
    ]


def test_a_json_import_names_references_by_member(http: TestClient) -> None:
    price = {"tenantId": "T0001", "storeCode": "S999", "itemCode": "NOPE", "unitPrice": 1}
    response = http.post(
        "/admin/v1/import", content=json.dumps({"storePrices": [price]}), headers=ADMIN_AUTH
    )
    assert response.status_code == 400
    problems = [(d["where"], d["field"], d["message"]) for d in response.json()["details"]]
    assert problems == [
        ("storePrices[0]", "storeCode", "no store S999 in tenant T0001"),
        ("storePrices[0]", "itemCode", "no item NOPE in tenant T0001"),
    ]


def test_a_json_file_naming_an_entry_twice_is_refused_naming_both(http: TestClient) -> None:
    twice = {"tenantId": "T0001", "itemCode": "J1", **NEW_ITEM}
    document = {"items": [twice, {**twice, "unitPrice": 200}]}
    response = http.post("/admin/v1/import", content=json.dumps(document), headers=ADMIN_AUTH)
    assert response.status_code == 400
    [problem] = response.json()["details"]
    assert (problem["where"], problem["field"]) == ("items[1]", "(key)")
    assert "items[0]" in problem["message"]
    assert lookup(http, "J1")["status"] == 404


def test_a_json_member_named_twice_is_refused(http: TestClient) -> None:
    body = '{"items": [{"tenantId": "T0001", "itemCode": "J1", "itemName": "a", "itemName": "b",'
    body += ' "unitPrice": 1, "taxCode": "TX10", "categoryCode": "FOOD"}]}'
    response = http.post("/admin/v1/import", content=body, headers=ADMIN_AUTH)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "itemName"


def test_an_encoded_slash_never_crosses_a_path_segment(http: TestClient) -> None:
    """Before: DELETE tenants/T0001%2Fstores%2FS002 routed to, and deleted, store S002."""
    response = http.delete("/admin/v1/tenants/T0001%2Fstores%2FS002", headers=ADMIN_AUTH)
    assert response.status_code == 400
    assert lookup(http, "ITEM0001", "S002")["status"] == 200  # the store is still there


def test_an_import_reports_format_and_reference_problems_in_one_pass(http: TestClient) -> None:
    item = {"tenantId": "T0001", "itemCode": "OK1", "itemName": "Fine", "unitPrice": 1,
            "taxCode": "TX10", "categoryCode": "FOOD"}  # fmt: skip
    document = {
        "items": [
            item,
            {**item, "itemCode": "BAD1", "unitPrice": 1.5},  # format
            {**item, "itemCode": "BAD2", "taxCode": "TX99"},  # reference
            {**item, "itemCode": "BAD3", "tenantId": "T9999"},  # reference
        ]
    }
    response = http.post("/admin/v1/import", content=json.dumps(document), headers=ADMIN_AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "4 records checked, nothing written"
    assert [(d["where"], d["field"]) for d in body["details"]] == [
        ("items[1]", "unitPrice"), ("items[2]", "taxCode"), ("items[3]", "tenantId"),
    ]  # fmt: skip


BARCODES = "/admin/v1/tenants/T0001/barcodes"


def test_a_barcode_in_any_gtin_form_is_kept_as_its_gtin14(http: TestClient) -> None:
    response = http.put(f"{BARCODES}/4901234567894", json={"itemCode": "ITEM0003"},
                        headers=ADMIN_AUTH)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {"tenantId": "T0001", "barcode": "04901234567894",
                               "itemCode": "ITEM0003"}  # fmt: skip
    # UPC-A of the same digits names the same barcode: deleting it so deletes the JAN's
    assert http.delete(f"{BARCODES}/04901234567894", headers=ADMIN_AUTH).status_code == 204
    assert http.delete(f"{BARCODES}/4901234567894", headers=ADMIN_AUTH).status_code == 404


def test_a_barcode_with_a_wrong_check_digit_is_refused_naming_the_field(http: TestClient) -> None:
    response = http.put(f"{BARCODES}/4901234567895", json={"itemCode": "ITEM0003"},
                        headers=ADMIN_AUTH)  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"][0]["field"] == "barcode"
    assert "check digit" in body["details"][0]["message"]
    assert http.delete(f"{BARCODES}/4901234567895", headers=ADMIN_AUTH).status_code == 400


def test_a_barcode_another_item_has_is_refused_naming_both(http: TestClient) -> None:
    response = http.put(f"{BARCODES}/4569951000058", json={"itemCode": "ITEM0006"},
                        headers=ADMIN_AUTH)  # fmt: skip
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "in_use"
    assert "belongs to item ITEM0005, not ITEM0006" in body["message"]
    assert body["details"] == [{"field": "barcode", "itemCode": "ITEM0005"}]


def test_barcodes_import_from_csv_and_a_clash_names_its_row(http: TestClient) -> None:
    body = "tenant_id,barcode,item_code\nT0001,4901234567894,ITEM0003\nT0001,96385074,ITEM0003\n"
    url = "/admin/v1/import?format=csv&kind=barcodes"
    assert http.post(url, content=body, headers=ADMIN_AUTH).status_code == 200
    clash = "tenant_id,barcode,item_code\nT0001,4569951000058,ITEM0009\n"
    response = http.post(url, content=clash, headers=ADMIN_AUTH)
    assert response.status_code == 400
    [problem] = response.json()["details"]
    assert problem["where"] == "row 2"
    assert "belongs to item ITEM0005, not ITEM0009" in problem["message"]


LAYOUTS = "/admin/v1/tenants/T0001/scan-layouts"
UK_PRICE = {"prefix": "20", "itemDigits": 5, "embedded": "price", "valueDigits": 4,
            "decimals": 2, "priceCheckDigit": True}  # fmt: skip


def test_a_layout_is_written_and_an_overlapping_one_refused_naming_the_other(
    http: TestClient,
) -> None:
    response = http.put(f"{LAYOUTS}/UK-PRICE", json=UK_PRICE, headers=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["unit"] is None
    wide = {**UK_PRICE, "prefix": "2", "itemDigits": 6}
    refused = http.put(f"{LAYOUTS}/WIDE", json=wide, headers=ADMIN_AUTH)
    assert refused.status_code == 409
    assert refused.json()["code"] == "in_use"
    assert refused.json()["details"][0] == {"field": "prefix", "layoutId": "UK-PRICE"}  # 20 in 2


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"valueDigits": 5}, "14 digits"),
        ({"prefix": "45"}, "String should match pattern"),
        ({"embedded": "weight", "priceCheckDigit": False}, "a weight needs its unit"),
        ({"unit": "g"}, "a price has no weight unit"),
    ],
)
def test_an_unsound_layout_is_refused_saying_why(http: TestClient, change: dict, said: str) -> None:
    response = http.put(f"{LAYOUTS}/BAD", json={**UK_PRICE, **change}, headers=ADMIN_AUTH)
    assert response.status_code == 400
    assert said in json.dumps(response.json())
