"""The cart API under random input (in process): always a 4xx or a 2xx, never a 5xx, always the
one error shape; nothing half-written; the API answers a normal request afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from services.cart.settings import CartSettings
from tests.support.hostile import codes, json_values

line_items = st.lists(
    st.fixed_dictionaries(
        {"itemCode": codes},
        optional={
            "quantity": json_values,
            "unitPrice": json_values,
            "priceOverride": json_values,
            "extra": json_values,
        },
    ),
    max_size=4,
)


@pytest.fixture
def cart_settings(tmp_path: Path) -> CartSettings:
    """Hundreds of requests from one key: the rate limit and the cap on open carts (tested
    on their own) are off here."""
    return CartSettings(
        cart_db=str(tmp_path / "cart.db"),
        max_request_bytes=4096,
        terminal_rate_limit=0,
        max_open_carts=0,
    )


def check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)


def open_cart(http: TestClient) -> str:
    return str(http.post("/api/v1/carts").json()["cartId"])


@given(body=st.one_of(line_items, json_values))
def test_random_line_items(http: TestClient, body: Any) -> None:
    cart_id = open_cart(http)
    response = http.post(
        f"/api/v1/carts/{cart_id}/lineItems",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    check(response)
    lines = http.get(f"/api/v1/carts/{cart_id}").json()["lineItems"]
    assert len(lines) == (len(body) if response.status_code == 200 else 0)  # all or nothing


@given(body=json_values, action=st.sampled_from(["payments", "lineItems/1/quantity"]))
def test_random_payments_and_quantities(http: TestClient, body: Any, action: str) -> None:
    cart_id = open_cart(http)
    http.post(f"/api/v1/carts/{cart_id}/lineItems", json=[{"itemCode": "ITEM0001"}])
    if action == "payments":
        http.post(f"/api/v1/carts/{cart_id}/subtotal")
    method = "POST" if action == "payments" else "PATCH"
    check(
        http.request(
            method,
            f"/api/v1/carts/{cart_id}/{action}",
            content=json.dumps(body, allow_nan=True),
            headers={"content-type": "application/json"},
        )
    )


@given(cart_id=st.text(max_size=60), line=st.integers(min_value=-(2**70), max_value=2**70))
def test_random_paths(http: TestClient, cart_id: str, line: int) -> None:
    segment = quote(cart_id, safe="")  # any text, sent as one percent-encoded path segment
    for method, path in [
        ("GET", f"/api/v1/carts/{segment}"),
        ("POST", f"/api/v1/carts/{segment}/lineItems/{line}/cancel"),
    ]:
        check(http.request(method, path))


@given(key=st.text(max_size=200))
def test_random_api_keys(http: TestClient, key: str) -> None:
    try:
        response = http.get("/api/v1/carts/x", headers={"X-API-KEY": key})
    except UnicodeEncodeError:
        return
    assert response.status_code == 401


def test_still_serving(http: TestClient, keys: dict[str, str]) -> None:
    response = http.post("/api/v1/carts", headers={"X-API-KEY": keys["r2"]})
    assert response.status_code == 201
