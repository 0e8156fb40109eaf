"""Lines added by what was scanned, in process over master-data's real catalog: a JAN, a price
label, a weight label and element strings, priced and taxed by hand; the refusals; a weighed
line's return refunds exactly what was sold."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from services.common.gtin import with_check_digit
from services.master_data import demo_data
from services.master_data.catalog import ItemCatalog
from services.master_data.records import Item

from .conftest import CatalogTransport
from .test_cart_api import add, new_cart
from .test_transaction_api import T, sell

JAN_5 = demo_data.jan(5)  # ITEM0005: 1,930 at S001, external 10 % floor
PRICE_LABEL = with_check_digit("020000100198")  # DELI0001 at 198 yen, internal 8 % half-up
MEAT_KEY = "02100002000003"  # MEAT0001's barcode (GTIN-14): 3,980 yen a kg, internal 8 %


def weight_label(grams: int) -> str:
    return with_check_digit(f"2100002{grams:05d}")


def scan_line(http: TestClient, scan: str, **more: Any) -> dict[str, Any]:
    cart_id = new_cart(http)
    response = add(http, cart_id, [{"scan": scan, **more}])
    assert response.status_code == 200, response.text
    [line] = response.json()["lineItems"]
    return {"cart": response.json(), **line}


def test_a_jan_sells_its_item_at_the_store_price(http: TestClient) -> None:
    line = scan_line(http, JAN_5, quantity=2)
    assert (line["itemCode"], line["unitPrice"], line["quantity"], line["amount"]) == (
        "ITEM0005", 1930, 2, 3860,
    )  # fmt: skip
    assert line["scan"]["barcode"] == "0" + JAN_5
    assert line["scan"]["source"] == "gtin"
    assert line["cart"]["total"] == 3860 + 386  # 10 % external, floor


def test_a_price_label_sells_at_the_labels_price(http: TestClient) -> None:
    line = scan_line(http, PRICE_LABEL)
    assert (line["itemCode"], line["unitPrice"], line["amount"]) == ("DELI0001", 198, 198)
    assert (line["scan"]["labelPrice"], line["scan"]["layoutId"]) == (198, "JP-PRICE")
    assert line["priceOverridden"] is False
    # internal 8 % half-up: 198 x 800 / 10,800 = 14.67 -> 15 inside the 198
    assert line["cart"]["taxes"][0]["taxAmount"] == 15
    assert line["cart"]["total"] == 198


def test_a_weight_label_makes_a_weighed_line_with_internal_tax(http: TestClient) -> None:
    line = scan_line(http, weight_label(1237))
    # 3,980 a kg x 1.237 kg = 4,923.26 -> 4,923 (the tenant rounds half up)
    assert (line["itemCode"], line["unitPrice"], line["quantity"], line["amount"]) == (
        "MEAT0001", 3980, 1, 4923,
    )  # fmt: skip
    assert line["scan"]["netWeight"] == {"value": 1237, "decimals": 0, "unit": "g"}
    assert line["scan"]["weighedRounding"] == "HALF_UP"
    # 4,923 x 800 / 10,800 = 364.67 -> 365 inside
    assert (line["cart"]["taxes"][0]["taxAmount"], line["cart"]["total"]) == (365, 4923)


async def test_a_weighed_line_with_external_tax(
    http: TestClient, item_catalog: ItemCatalog
) -> None:
    await item_catalog.apply([Item(tenant_id="T0001", item_code="MEAT0001",
                                   item_name="Beef, per kg", unit_price=3980, tax_code="TX10",
                                   category_code="DELI")])  # fmt: skip
    line = scan_line(http, weight_label(1250))
    # 3,980 x 1.25 = 4,975 exactly; 10 % external floor: 497
    assert (line["amount"], line["cart"]["taxes"][0]["taxAmount"]) == (4975, 497)
    assert line["cart"]["total"] == 4975 + 497


def test_element_strings_with_a_weight_and_with_a_price(http: TestClient) -> None:
    weighed = scan_line(http, f"]e001{MEAT_KEY}3102000125")  # 1.25 kg
    assert (weighed["itemCode"], weighed["amount"]) == ("MEAT0001", 4975)
    assert weighed["scan"]["netWeight"] == {"value": 125, "decimals": 2, "unit": "kg"}
    priced = scan_line(http, f"010{JAN_5}\x1d39201980")
    assert (priced["unitPrice"], priced["scan"]["labelPrice"]) == (1980, 1980)
    assert priced["scan"]["source"] == "element_string"


def test_scans_and_codes_in_one_request(http: TestClient) -> None:
    cart_id = new_cart(http)
    response = add(http, cart_id, [{"itemCode": "ITEM0003"}, {"scan": JAN_5}, {"scan": JAN_5}])
    assert response.status_code == 200, response.text
    assert [li["itemCode"] for li in response.json()["lineItems"]] == [
        "ITEM0003", "ITEM0005", "ITEM0005",
    ]  # fmt: skip


def test_a_bad_check_digit_or_an_unknown_barcode_never_sells(http: TestClient) -> None:
    cart_id = new_cart(http)
    bad = add(http, cart_id, [{"scan": JAN_5[:-1] + "9"}])
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
    assert bad.json()["details"][0]["field"] == "scan"
    assert "check digit" in bad.json()["message"]
    unknown = add(http, cart_id, [{"scan": "4901234567894"}])
    assert (unknown.status_code, unknown.json()["code"]) == (404, "item_not_found")
    assert unknown.json()["details"] == [
        {"field": "scan", "scan": "4901234567894", "barcode": "04901234567894"}
    ]
    for body in ([{"scan": JAN_5, "itemCode": "ITEM0005"}], [{"quantity": 2}], [{"scan": ""}]):
        refused = add(http, cart_id, body)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), body
    assert http.get(f"/api/v1/carts/{cart_id}").json()["lineItems"] == []


def test_a_weighed_line_is_one_line_and_keeps_its_weight(http: TestClient) -> None:
    cart_id = new_cart(http)
    many = add(http, cart_id, [{"scan": weight_label(500), "quantity": 2}])
    assert (many.status_code, many.json()["code"]) == (400, "validation_error")
    assert add(http, cart_id, [{"scan": weight_label(500)}]).status_code == 200
    changed = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/quantity", json={"quantity": 3})
    assert (changed.status_code, changed.json()["code"]) == (400, "validation_error")


def test_the_return_of_a_weighed_line_refunds_exactly_what_was_sold(http: TestClient) -> None:
    billed = sell(http, [{"scan": weight_label(1237)}, {"itemCode": "ITEM0003"}])
    weighed = billed["receipt"]["lineItems"][0]
    assert weighed["amount"] == 4923
    body = {"lines": [{"lineNo": 1, "quantity": 1}], "refundMethod": "cash"}
    back = http.post(f"{T}/{billed['transactionId']}/return", json=body)
    assert back.status_code == 201, back.text
    returned = back.json()
    assert [(li["lineNo"], li["amount"]) for li in returned["lines"]] == [(1, 4923)]
    assert returned["total"] == 4923  # internal tax: the total is the amount
    again = http.post(f"{T}/{billed['transactionId']}/return", json=body)
    assert (again.status_code, again.json()["code"]) == (400, "validation_error")


def test_a_known_scan_sells_while_master_data_is_down(
    http: TestClient, transport: CatalogTransport
) -> None:
    assert scan_line(http, JAN_5)["priceSource"] == "master_data"
    transport.down = True
    line = scan_line(http, JAN_5)
    assert (line["itemCode"], line["unitPrice"]) == ("ITEM0005", 1930)
    cart_id = new_cart(http)
    never_seen = add(http, cart_id, [{"scan": weight_label(800)}])
    assert (never_seen.status_code, never_seen.json()["code"]) == (503, "master_data_unavailable")
