"""The cart API in process (Starlette TestClient), master-data's real catalog behind it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from gen.kugel.item.v1 import Item, RoundingMethod, TaxType
from services.cart.server import CartParts
from services.master_data import demo_data

from .conftest import CatalogTransport

ITEMS = "/api/v1/carts/{}/lineItems"


def new_cart(http: TestClient) -> str:
    response = http.post("/api/v1/carts")
    assert response.status_code == 201
    assert response.json()["state"] == "initial"
    return str(response.json()["cartId"])


def add(http: TestClient, cart_id: str, lines: Any, **kwargs: Any) -> Any:
    return http.post(ITEMS.format(cart_id), json=lines, **kwargs)


def test_checkout_from_scan_to_receipt(http: TestClient) -> None:
    cart_id = new_cart(http)
    # ITEM0005: S001 store price 1,930, external 10 % floor; ITEM0003: 1,210 internal 8 % half-up
    response = add(
        http, cart_id, [{"itemCode": "ITEM0005", "quantity": 2}, {"itemCode": "ITEM0003"}]
    )
    assert response.status_code == 200, response.text
    cart = response.json()
    assert cart["state"] == "entering_items"
    assert [(i["lineNo"], i["unitPrice"], i["amount"]) for i in cart["lineItems"]] == [
        (1, 1930, 3860),
        (2, 1210, 1210),
    ]
    assert cart["subtotal"] == 5070
    assert cart["total"] == 5070 + 386

    cart = http.post(f"/api/v1/carts/{cart_id}/subtotal").json()
    assert cart["state"] == "paying"
    cart = http.post(
        f"/api/v1/carts/{cart_id}/payments", json={"method": "card", "amount": 456}
    ).json()
    assert cart["balance"] == 5000
    cart = http.post(
        f"/api/v1/carts/{cart_id}/payments", json={"method": "cash", "amount": 10000}
    ).json()
    assert (cart["paid"], cart["balance"], cart["change"]) == (10456, 0, 5000)
    billed = http.post(f"/api/v1/carts/{cart_id}/bill").json()
    assert billed["state"] == "completed"
    assert billed["receipt"]["receiptNo"] == 1
    assert billed["receipt"]["change"] == 5000
    assert [t["taxAmount"] for t in billed["receipt"]["taxes"]] == [90, 386]
    assert http.get(f"/api/v1/carts/{cart_id}").json()["receiptNo"] == 1

    second = new_cart(http)
    add(http, second, [{"itemCode": "ITEM0001"}])
    http.post(f"/api/v1/carts/{second}/subtotal")
    http.post(f"/api/v1/carts/{second}/payments", json={"method": "qr", "amount": 517})
    assert http.post(f"/api/v1/carts/{second}/bill").json()["receipt"]["receiptNo"] == 2


def test_price_override_is_explicit_and_recorded(http: TestClient) -> None:
    cart_id = new_cart(http)
    refused = add(http, cart_id, [{"itemCode": "ITEM0001", "unitPrice": 1}])
    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error"
    cart = add(
        http, cart_id, [{"itemCode": "ITEM0001", "unitPrice": 1, "priceOverride": True}]
    ).json()
    line = cart["lineItems"][0]
    assert (line["unitPrice"], line["priceOverridden"], line["originalUnitPrice"]) == (
        1,
        True,
        demo_data.common_price(1),
    )


def test_line_cancel_and_quantity(http: TestClient) -> None:
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0001"}, {"itemCode": "ITEM0002"}])
    cart = http.post(f"/api/v1/carts/{cart_id}/lineItems/1/cancel").json()
    assert cart["lineItems"][0]["cancelled"] is True
    cart = http.patch(f"/api/v1/carts/{cart_id}/lineItems/2/quantity", json={"quantity": 3}).json()
    assert cart["subtotal"] == 3 * demo_data.common_price(2)
    assert http.post(f"/api/v1/carts/{cart_id}/lineItems/9/cancel").status_code == 404


def test_cancel_cart(http: TestClient) -> None:
    cart_id = new_cart(http)
    assert http.post(f"/api/v1/carts/{cart_id}/cancel").json()["state"] == "cancelled"
    response = add(http, cart_id, [{"itemCode": "ITEM0001"}])
    assert response.status_code == 409
    assert "cancelled" in response.json()["message"]


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        pytest.param([{"itemCode": "NOPE"}], 404, "item_not_found", id="unknown item"),
        pytest.param([{"itemCode": "ITEM0050"}], 400, "item_inactive", id="inactive item"),
        pytest.param(
            [{"itemCode": "ITEM0001", "quantity": 0}], 400, "validation_error", id="zero quantity"
        ),
        pytest.param(
            [{"itemCode": "ITEM0001", "quantity": 1.5}],
            400,
            "validation_error",
            id="fractional quantity",
        ),
        pytest.param(
            [{"itemCode": "ITEM0001", "quantity": "2"}],
            400,
            "validation_error",
            id="quantity as text",
        ),
        pytest.param(
            [{"itemCode": "ITEM0001", "quantity": 10**30}],
            400,
            "validation_error",
            id="huge quantity",
        ),
        pytest.param(
            [{"itemCode": "ITEM0001", "unitPrice": 1.0, "priceOverride": True}],
            400,
            "validation_error",
            id="float price",
        ),
        pytest.param(
            [{"itemCode": "x'; DROP TABLE carts;--"}], 400, "validation_error", id="sql in code"
        ),
        pytest.param([{"itemCode": "商品"}], 400, "validation_error", id="unicode code"),
        pytest.param([], 400, "validation_error", id="empty list"),
        pytest.param(
            [{"itemCode": "ITEM0001"}] * 101, 400, "validation_error", id="over 100 lines"
        ),
        pytest.param({"itemCode": "ITEM0001"}, 400, "validation_error", id="object not list"),
        pytest.param(
            [{"itemCode": "ITEM0001", "colour": "red"}], 400, "validation_error", id="unknown field"
        ),
    ],
)
def test_bad_line_items(http: TestClient, lines: Any, status: int, code: str) -> None:
    cart_id = new_cart(http)
    response = add(http, cart_id, lines)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert http.get(f"/api/v1/carts/{cart_id}").json()["lineItems"] == []  # nothing half-added


def test_validation_errors_name_the_field(http: TestClient) -> None:
    cart_id = new_cart(http)
    body = add(
        http, cart_id, [{"itemCode": "ITEM0001"}, {"itemCode": "ITEM0002", "quantity": -1}]
    ).json()
    assert body["details"][0]["field"] == "[1].quantity"
    assert "[1].quantity" in body["message"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        pytest.param(
            b"[{", {"content-type": "application/json"}, 400, "validation_error", id="invalid json"
        ),
        pytest.param(
            b"x" * 5000,
            {"content-type": "application/json"},
            413,
            "body_too_large",
            id="oversize body",
        ),
        pytest.param(
            b"<xml/>",
            {"content-type": "application/xml"},
            415,
            "unsupported_media_type",
            id="wrong type",
        ),
    ],
)
def test_bad_bodies(
    http: TestClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    cart_id = new_cart(http)
    response = http.post(ITEMS.format(cart_id), content=content, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_payment_errors(http: TestClient) -> None:
    cart_id = new_cart(http)
    assert http.post(f"/api/v1/carts/{cart_id}/subtotal").status_code == 409  # nothing scanned
    add(http, cart_id, [{"itemCode": "ITEM0001"}])
    http.post(f"/api/v1/carts/{cart_id}/subtotal")
    over = http.post(f"/api/v1/carts/{cart_id}/payments", json={"method": "card", "amount": 10**6})
    assert (over.status_code, over.json()["code"]) == (400, "payment_invalid")
    bad = http.post(f"/api/v1/carts/{cart_id}/payments", json={"method": "gold", "amount": 1})
    assert bad.status_code == 400
    due = http.post(f"/api/v1/carts/{cart_id}/bill")
    assert (due.status_code, due.json()["code"]) == (409, "balance_due")


@pytest.mark.parametrize(
    ("key", "status"),
    [
        pytest.param(None, 401, id="missing key"),
        pytest.param("0123456789abcdef.wrong", 401, id="wrong key"),
        pytest.param("not-a-key", 401, id="malformed key"),
        pytest.param("other_store", 404, id="other store"),
        pytest.param("other_tenant", 404, id="other tenant"),
        pytest.param("r2", 200, id="same store, other terminal"),
    ],
)
def test_auth_and_isolation(
    http: TestClient, keys: dict[str, str], key: str | None, status: int
) -> None:
    cart_id = new_cart(http)
    headers = {"X-API-KEY": keys.get(key or "", key or "")} if key else {"X-API-KEY": ""}
    # A foreign terminal gets `status` for each call; a terminal of the same store gets what
    # the cart's owner would: the cart, 409 (nothing to subtotal), the cancelled cart.
    allowed = {"": 200, "/subtotal": 409, "/cancel": 200}
    for method, path in [("GET", ""), ("POST", "/subtotal"), ("POST", "/cancel")]:
        response = http.request(method, f"/api/v1/carts/{cart_id}{path}", headers=headers)
        expected = allowed[path] if status == 200 else status
        assert response.status_code == expected, (method, path, response.text)
    final_state = "cancelled" if status == 200 else "initial"  # others left it untouched
    assert http.get(f"/api/v1/carts/{cart_id}").json()["state"] == final_state


def test_master_data_down_is_503(http: TestClient, transport: CatalogTransport) -> None:
    cart_id = new_cart(http)
    transport.down = True
    response = add(http, cart_id, [{"itemCode": "ITEM0009"}])
    assert (response.status_code, response.json()["code"]) == (503, "master_data_unavailable")


def test_request_timeout_header_shortens_the_lookup_deadline(
    http: TestClient, transport: CatalogTransport
) -> None:
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0011"}], headers={"X-Request-Timeout-Ms": "250"})
    assert 0 < transport.seconds_left[-1] <= 0.25
    add(http, cart_id, [{"itemCode": "ITEM0012"}])
    assert transport.seconds_left[-1] > 4.9  # GRPC_TIMEOUT (5 s) when the caller sets none
    refused = add(
        http, cart_id, [{"itemCode": "ITEM0013"}], headers={"X-Request-Timeout-Ms": "soon"}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")


def test_unknown_cart_route_and_method(http: TestClient) -> None:
    assert http.get("/api/v1/carts/nope").status_code == 404
    assert http.get("/api/v1/nothing").json()["code"] == "not_found"
    assert http.delete("/api/v1/carts").status_code == 405


def test_openapi_metrics_probes(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/carts/{cartId}/lineItems" in document["paths"]
    assert "Cart" in document["components"]["schemas"]
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0001"}])
    assert 'item_lookups_total{outcome="ok",transport="grpc"}' in http.get("/metrics").text
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["database"] == "ok"
    # what the till's link is doing, never a reason to be unready (it sells through an outage)
    assert ready["masterData"]["transport"] == "grpc"  # the in-process catalog's name
    assert ready["masterData"]["lastLookup"] == "answered"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"tax_type": TaxType.UNSPECIFIED}, id="tax type unspecified"),
        pytest.param({"tax_type": 9}, id="tax type newer than this cart"),
        pytest.param({"rounding_method": RoundingMethod.UNSPECIFIED}, id="rounding unspecified"),
        pytest.param({"rate_basis_points": 10_001}, id="rate over 100 %"),
        pytest.param({"rate_basis_points": -1}, id="negative rate"),
    ],
)
def test_a_tax_rule_the_cart_does_not_know_is_master_data_failed(
    http: TestClient,
    transport: CatalogTransport,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, Any],
) -> None:
    """master-data's answer is unusable, not the cart's bug: 502, never 500."""
    real = transport.catalog.get_items

    async def with_unknown_rule(*args: Any) -> tuple[list[Item], list[str]]:
        items, missing = await real(*args)
        return [replace(i, tax_rule=replace(i.tax_rule, **changes)) for i in items], missing

    monkeypatch.setattr(transport.catalog, "get_items", with_unknown_rule)
    response = add(http, new_cart(http), [{"itemCode": "ITEM0005"}])
    assert (response.status_code, response.json()["code"]) == (502, "master_data_failed")


def test_amounts_stay_within_what_json_clients_read_exactly(http: TestClient) -> None:
    cart_id = new_cart(http)
    over = {"itemCode": "ITEM0007", "quantity": 9_999, "unitPrice": 10**12, "priceOverride": True}
    response = add(http, cart_id, [over])  # 9,999 x 10^12 is past 2^53 - 1
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert response.json()["details"][0]["field"] == "quantity"
    under = {**over, "quantity": 9_000}  # 9.0e15, tax exempt: fits, but not twice
    assert add(http, cart_id, [under]).status_code == 200
    response = add(http, cart_id, [under])
    assert response.json()["details"] == [{"field": "total"}]
    cart = http.get(f"/api/v1/carts/{cart_id}").json()
    assert len(cart["lineItems"]) == 1  # the refused change saved nothing
    assert cart["total"] <= 2**53 - 1


def test_item_codes_of_only_dots_are_refused(http: TestClient) -> None:
    response = add(http, new_cart(http), [{"itemCode": ".."}])
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_an_idempotency_key_applies_a_change_once_and_answers_it_again(http: TestClient) -> None:
    created = http.post("/api/v1/carts", headers={"Idempotency-Key": '"create-7"'})
    again = http.post("/api/v1/carts", headers={"Idempotency-Key": "create-7"})
    assert (created.status_code, again.status_code) == (201, 201)
    assert again.json()["cartId"] == created.json()["cartId"]
    cart_id = created.json()["cartId"]
    scan = [{"itemCode": "ITEM0005"}]
    first = add(http, cart_id, scan, headers={"Idempotency-Key": "scan-1"})
    repeat = add(http, cart_id, scan, headers={"Idempotency-Key": "scan-1"})
    assert repeat.status_code == 200
    assert repeat.json() == first.json()
    assert len(repeat.json()["lineItems"]) == 1
    other = add(http, cart_id, [{"itemCode": "ITEM0006"}], headers={"Idempotency-Key": "scan-1"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    for path in ("subtotal", "bill"):
        http.post(f"/api/v1/carts/{cart_id}/{path}", headers={"Idempotency-Key": f"{path}-1"})
    billed = http.post(f"/api/v1/carts/{cart_id}/bill", headers={"Idempotency-Key": "bill-1"})
    assert billed.status_code == 409  # the cart was never paid: an error is not kept


@pytest.mark.parametrize("value", ["", "a b", '""', "x" * 256])
def test_a_malformed_idempotency_key_is_refused(http: TestClient, value: str) -> None:
    cart_id = new_cart(http)
    response = add(http, cart_id, [{"itemCode": "ITEM0005"}], headers={"Idempotency-Key": value})
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_a_terminal_past_its_open_carts_gets_409_until_it_closes_one(http: TestClient) -> None:
    opened = [new_cart(http) for _ in range(20)]  # MAX_OPEN_CARTS, by default
    refused = http.post("/api/v1/carts")
    assert (refused.status_code, refused.json()["code"]) == (409, "too_many_open_carts")
    assert http.post(f"/api/v1/carts/{opened[0]}/cancel").status_code == 200
    assert http.post("/api/v1/carts").status_code == 201


def test_a_summary_answer_holds_the_changed_lines_and_the_totals(http: TestClient) -> None:
    cart_id = new_cart(http)
    for n in range(1, 11):
        add(http, cart_id, [{"itemCode": f"ITEM{n:04d}"}])
    full = http.get(f"/api/v1/carts/{cart_id}").json()
    scanned = add(http, cart_id, [{"itemCode": "ITEM0005"}], params={"view": "summary"}).json()
    assert [line["lineNo"] for line in scanned["lineItems"]] == [11]
    assert scanned["lineCount"] == 11
    assert scanned["version"] == full["version"] + 1
    assert scanned["subtotal"] == full["subtotal"] + scanned["lineItems"][0]["amount"]
    changed = http.patch(
        f"/api/v1/carts/{cart_id}/lineItems/3/quantity",
        json={"quantity": 2},
        params={"view": "summary"},
    ).json()
    assert [line["lineNo"] for line in changed["lineItems"]] == [3]
    whole = http.get(f"/api/v1/carts/{cart_id}").json()
    assert len(whole["lineItems"]) == 11  # the default stays the whole cart
    assert {k: v for k, v in changed.items() if k not in {"lineItems", "lineCount"}} == {
        k: v for k, v in whole.items() if k != "lineItems"
    }
    bad = http.get(f"/api/v1/carts/{cart_id}", params={"view": "tiny"})
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")


def test_a_line_price_change_and_resuming_item_entry_over_the_api(http: TestClient) -> None:
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0005", "quantity": 2}])  # 1,930 at S001
    changed = http.patch(
        f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 1500}
    ).json()
    line = changed["lineItems"][0]
    assert (line["unitPrice"], line["originalUnitPrice"], line["priceOverridden"]) == (
        1500, 1930, True,
    )  # fmt: skip
    assert changed["subtotal"] == 3000
    for body in ({"unitPrice": -1}, {"unitPrice": "1500"}, {"price": 1}, {}):
        refused = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json=body)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), body
    missing = http.patch(f"/api/v1/carts/{cart_id}/lineItems/9/unitPrice", json={"unitPrice": 1})
    assert (missing.status_code, missing.json()["code"]) == (404, "line_not_found")

    assert http.post(f"/api/v1/carts/{cart_id}/subtotal").json()["state"] == "paying"
    http.post(f"/api/v1/carts/{cart_id}/payments", json={"method": "card", "amount": 1000})
    too_late = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 1})
    assert (too_late.status_code, too_late.json()["code"]) == (409, "invalid_state")
    resumed = http.post(f"/api/v1/carts/{cart_id}/resume-item-entry").json()
    assert (resumed["state"], resumed["payments"], resumed["paid"]) == ("entering_items", [], 0)
    again = http.post(f"/api/v1/carts/{cart_id}/resume-item-entry")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    stored = http.get(f"/api/v1/carts/{cart_id}").json()
    assert stored["lineItems"][0]["unitPrice"] == 1500  # as saved


def test_discounts_over_the_api_with_an_item_master_data_restricts(http: TestClient) -> None:
    cart_id = new_cart(http)
    # ITEM0040: 880 at S001, restricted in the demo data; ITEM0005: 1,930; both external 10 %
    scanned = add(http, cart_id, [{"itemCode": "ITEM0040"}, {"itemCode": "ITEM0005"}]).json()
    assert [li["discountRestricted"] for li in scanned["lineItems"]] == [True, False]
    refused = http.post(
        f"/api/v1/carts/{cart_id}/lineItems/1/discounts", json=[{"type": "percent", "value": 5}]
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "discount_restricted")
    line = http.post(
        f"/api/v1/carts/{cart_id}/lineItems/2/discounts",
        json=[{"type": "percent", "value": 10, "reason": "damaged box"}],
    ).json()["lineItems"][1]
    assert (line["discountAmount"], line["netAmount"], line["discounts"]) == (
        193, 1737, [{"type": "percent", "value": 10, "reason": "damaged box", "amount": 193}],
    )  # fmt: skip
    cart = http.post(
        f"/api/v1/carts/{cart_id}/discounts", json=[{"type": "amount", "value": 100}]
    ).json()
    assert cart["discountAllocations"] == [{"lineNo": 2, "amount": 100}]
    assert (cart["subtotal"], cart["discountTotal"], cart["total"]) == (2517, 293, 2517 + 251)
    for body in (
        [{"type": "percent", "value": 101}],
        [{"type": "coupon", "value": 1}],
        [{"type": "amount", "value": -1}],
        [{"type": "amount", "value": 1.5}],
        [{"type": "amount", "value": 3000}],  # more than the 1,737 it may come off
        {"type": "amount", "value": 1},
        [{"type": "amount", "value": 1}] * 11,
    ):
        bad = http.post(f"/api/v1/carts/{cart_id}/discounts", json=body)
        assert (bad.status_code, bad.json()["code"]) == (400, "validation_error"), body
    assert http.get(f"/api/v1/carts/{cart_id}").json()["discountTotal"] == 293  # as saved
    summary = http.post(
        f"/api/v1/carts/{cart_id}/discounts", json=[], params={"view": "summary"}
    ).json()
    assert (summary["discountTotal"], summary["lineItems"], summary["lineCount"]) == (193, [], 2)


INVALID = "the body is not valid JSON"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param(b'[{"itemCode": "ITEM0001"}]', 200, None, id="plain"),
        pytest.param(b'\xef\xbb\xbf[{"itemCode": "ITEM0001"}]', 200, None, id="a UTF-8 BOM"),
        pytest.param(b"[", 400, INVALID, id="cut short"),
        pytest.param(b'[{"itemCode": NaN}]', 400, "invalid request body: [0].itemCode", id="NaN"),
        pytest.param('[{"itemCode": "ITEM0001"}]'.encode("utf-16"), 400, INVALID, id="UTF-16"),
        pytest.param(b'[{"itemCode": "\\ud800"}]', 400, INVALID, id="a lone surrogate"),
        pytest.param(b"[" * 1_000 + b"]" * 1_000, 400, INVALID, id="deep"),
    ],
)
def test_a_body_is_json_in_utf_8(
    http: TestClient, body: bytes, status: int, message: str | None
) -> None:
    cart_id = new_cart(http)
    headers = {"content-type": "application/json"}
    response = http.post(ITEMS.format(cart_id), content=body, headers=headers)
    assert response.status_code == status, response.text
    if message is not None:
        assert response.json()["code"] == "validation_error"
        assert response.json()["message"] == message


def test_a_closed_cart_is_not_kept_in_process_but_still_read(
    http: TestClient, cart: CartParts
) -> None:
    cart_id = new_cart(http)
    add(http, cart_id, [{"itemCode": "ITEM0001"}])
    assert len(cart.service.kept_carts) == 1
    assert http.post(f"/api/v1/carts/{cart_id}/cancel").status_code == 200
    assert len(cart.service.kept_carts) == 0
    assert http.get(f"/api/v1/carts/{cart_id}").json()["state"] == "cancelled"


def test_a_restricted_items_price_is_never_lowered_below_its_master_price(
    http: TestClient,
) -> None:
    cart_id = new_cart(http)  # ITEM0040: 880 at S001, discount-restricted in the demo data
    lowered = add(http, cart_id, [{"itemCode": "ITEM0040", "unitPrice": 0, "priceOverride": True}])
    assert (lowered.status_code, lowered.json()["code"]) == (400, "discount_restricted")
    assert add(http, cart_id, [{"itemCode": "ITEM0040"}]).status_code == 200
    to_zero = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 0})
    assert (to_zero.status_code, to_zero.json()["code"]) == (400, "discount_restricted")
    raised = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 900})
    assert raised.status_code == 200, raised.text
    back = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 880})
    assert back.status_code == 200, back.text  # back to its master price: no discount
    below = http.patch(f"/api/v1/carts/{cart_id}/lineItems/1/unitPrice", json={"unitPrice": 879})
    assert below.status_code == 400
