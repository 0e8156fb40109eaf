"""The transaction routes in process (Starlette TestClient) over a real SQLite store."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from .test_cart_api import add, new_cart

T = "/api/v1/transactions"


def sell(http: TestClient, lines: list[dict[str, Any]], discount: int = 0) -> dict[str, Any]:
    cart_id = new_cart(http)
    assert add(http, cart_id, lines).status_code == 200
    if discount:
        http.post(
            f"/api/v1/carts/{cart_id}/discounts", json=[{"type": "amount", "value": discount}]
        )
    total = http.post(f"/api/v1/carts/{cart_id}/subtotal").json()["total"]
    http.post(f"/api/v1/carts/{cart_id}/payments", json={"method": "cash", "amount": total + 1000})
    billed = http.post(f"/api/v1/carts/{cart_id}/bill").json()
    assert billed["state"] == "completed", billed
    return billed


def test_a_sale_is_listed_fetched_voided_once(http: TestClient, keys: dict[str, str]) -> None:
    billed = sell(http, [{"itemCode": "ITEM0005", "quantity": 2}])  # 1,930 at S001, 10 % out
    transaction_id = billed["transactionId"]
    assert billed["receipt"]["receiptNo"] == billed["receiptNo"] == 1
    sale = http.get(f"{T}/{transaction_id}").json()
    assert (sale["type"], sale["cartId"], sale["receiptNo"], sale["total"], sale["change"]) == (
        "sale", billed["cartId"], 1, 4246, 1000,
    )  # fmt: skip
    assert (sale["voidTransactionId"], sale["returnedQuantities"]) == (None, [])
    listed = http.get(T).json()
    assert [t["transactionId"] for t in listed["transactions"]] == [transaction_id]
    assert "nextPage" not in listed

    void = http.post(f"{T}/{transaction_id}/void")
    assert void.status_code == 201, void.text
    assert (void.json()["type"], void.json()["receiptNo"], void.json()["payments"]) == (
        "void", 2, [{"paymentNo": 1, "method": "cash", "amount": 4246}],
    )  # fmt: skip
    again = http.post(f"{T}/{transaction_id}/void")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert (
        http.get(f"{T}/{transaction_id}").json()["voidTransactionId"]
        == void.json()["transactionId"]
    )
    assert [t["type"] for t in http.get(T).json()["transactions"]] == ["void", "sale"]
    for name in ("other_store", "other_tenant"):
        hidden = http.get(f"{T}/{transaction_id}", headers={"X-API-KEY": keys[name]})
        assert (hidden.status_code, hidden.json()["code"]) == (404, "transaction_not_found")
        assert http.get(T, headers={"X-API-KEY": keys[name]}).json() == {"transactions": []}
        refused = http.post(f"{T}/{transaction_id}/void", headers={"X-API-KEY": keys[name]})
        assert refused.status_code == 404
    missing = http.get(f"{T}/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "transaction_not_found")


def test_returns_are_bounded_over_several_and_keyed(http: TestClient, keys: dict[str, str]) -> None:
    billed = sell(http, [{"itemCode": "ITEM0005", "quantity": 3}, {"itemCode": "ITEM0003"}], 100)
    path = f"{T}/{billed['transactionId']}/return"
    body = {"lines": [{"lineNo": 1, "quantity": 2}], "refundMethod": "cash"}
    first = http.post(path, json=body, headers={"Idempotency-Key": "ret-1"})
    assert first.status_code == 201, first.text
    repeated = http.post(path, json=body, headers={"Idempotency-Key": "ret-1"})
    assert repeated.json() == first.json()  # once: the kept answer
    over = http.post(path, json=body)
    assert (over.status_code, over.json()["code"]) == (400, "validation_error")
    assert "1 of 3 left" in over.json()["message"]
    rest = http.post(
        path,
        json={"lines": [{"lineNo": 1, "quantity": 1}, {"lineNo": 2, "quantity": 1}],
              "refundMethod": "card", "refundReason": "customer's cash drawer is closed"},
        headers={"X-API-KEY": keys["r2"]},  # another terminal of the store takes it back
    )  # fmt: skip
    assert rest.status_code == 201, rest.text
    assert (rest.json()["terminalId"], rest.json()["receiptNo"]) == ("R02", 1)
    assert first.json()["total"] + rest.json()["total"] == billed["total"]
    sale = http.get(f"{T}/{billed['transactionId']}").json()
    assert sale["returnedQuantities"] == [
        {"lineNo": 1, "quantity": 3}, {"lineNo": 2, "quantity": 1},
    ]  # fmt: skip
    void = http.post(f"{T}/{billed['transactionId']}/void")
    assert (void.status_code, void.json()["code"]) == (409, "invalid_state")
    for bad in (
        {"lines": [], "refundMethod": "cash"},
        {"lines": [{"lineNo": 1, "quantity": 0}], "refundMethod": "cash"},
        {"lines": [{"lineNo": 1, "quantity": 1}] * 2, "refundMethod": "cash"},
        {"lines": [{"lineNo": 1, "quantity": 1}], "refundMethod": "cheque"},
        {"lines": [{"lineNo": 1, "quantity": 1}]},
    ):
        refused = http.post(path, json=bad)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), bad
    returns = http.get(T, params={"type": "return"}).json()["transactions"]
    assert [t["terminalId"] for t in returns] == ["R02", "R01"]


def test_a_cancel_takes_a_receipt_number_and_the_list_pages_and_filters(
    http: TestClient,
) -> None:
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0001"}])
    cancelled = http.post(f"/api/v1/carts/{cart_id}/cancel").json()
    assert (cancelled["state"], cancelled["receiptNo"]) == ("cancelled", 1)
    for _ in range(2):
        sell(http, [{"itemCode": "ITEM0001"}])
    page_1 = http.get(T, params={"limit": 2}).json()
    assert ([t["receiptNo"] for t in page_1["transactions"]], page_1["nextPage"]) == ([3, 2], 2)
    page_2 = http.get(T, params={"limit": 2, "page": 2}).json()
    assert ([t["type"] for t in page_2["transactions"]], "nextPage" in page_2) == (
        ["cancel"],
        False,
    )
    day = page_1["transactions"][0]["businessDate"]
    assert len(http.get(T, params={"businessDate": day}).json()["transactions"]) == 3
    assert http.get(T, params={"businessDate": "2001-01-01"}).json()["transactions"] == []
    assert [
        t["receiptNo"] for t in http.get(T, params={"receiptNo": 2}).json()["transactions"]
    ] == [2]
    assert (
        len(http.get(T, params={"terminalId": "R01", "type": "sale"}).json()["transactions"]) == 2
    )
    for bad in ({"limit": 0}, {"limit": 101}, {"page": "x"}, {"businessDate": "yesterday"},
                {"type": "refund"}, {"colour": "red"}):  # fmt: skip
        refused = http.get(T, params=bad)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), bad


def test_a_refund_goes_to_the_sales_own_tender_unless_a_reason_is_given(http: TestClient) -> None:
    billed = sell(http, [{"itemCode": "ITEM0005"}, {"itemCode": "ITEM0003"}])  # paid in cash
    path = f"{T}/{billed['transactionId']}/return"
    by_default = http.post(path, json={"lines": [{"lineNo": 1, "quantity": 1}]})
    assert by_default.status_code == 201, by_default.text
    assert [p["method"] for p in by_default.json()["payments"]] == ["cash"]
    assert by_default.json()["refundReason"] is None
    card = {"lines": [{"lineNo": 2, "quantity": 1}], "refundMethod": "card"}
    to_card = http.post(path, json=card)
    assert (to_card.status_code, to_card.json()["code"]) == (400, "validation_error")
    assert "paid by cash, not card" in to_card.json()["message"]
    reason = "cash drawer audit in progress"
    given = http.post(path, json={**card, "refundReason": reason})
    assert given.status_code == 201, given.text
    assert given.json()["refundReason"] == reason
    listed = http.get(f"{T}?type=return").json()["transactions"]
    assert reason in [t["refundReason"] for t in listed]
