"""The cart's hot routes take the fast lane (services.cart.fast_lane) and answer every
request exactly as the router would: the same status, headers and body, the path checks of
the middleware included, for a table of requests (escaped paths, HEAD, unknown paths, wrong
methods, a header sent twice)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from services.cart.fast_lane import FastLaneApp
from services.cart.server import CartParts


@pytest.fixture
def both(cart: CartParts, keys: dict[str, str]) -> Iterator[tuple[TestClient, TestClient]]:
    app = cart.http_app
    assert isinstance(app, FastLaneApp)
    headers = {"X-API-KEY": keys["r1"]}
    full_app = app.without_lane()
    with TestClient(app, headers=headers) as fast, TestClient(full_app, headers=headers) as full:
        yield fast, full


def test_every_request_is_answered_alike_by_both_lanes(
    both: tuple[TestClient, TestClient], keys: dict[str, str]
) -> None:
    fast, full = both
    cart_id = fast.post("/api/v1/carts").json()["cartId"]
    cart = f"/api/v1/carts/{cart_id}"
    requests = [
        ("GET", cart, {}, None),
        ("HEAD", cart, {}, None),
        ("GET", cart + "?view=summary", {}, None),
        ("GET", cart + "?view=nonsense", {}, None),
        ("DELETE", cart, {}, None),
        ("GET", "/api/v1/carts/nope", {}, None),
        ("GET", "/api/v1/carts/a%2Fb", {}, None),
        ("GET", "/api/v1/carts/a%2fb/lineItems", {}, None),
        ("GET", f"/api/v1/carts/{cart_id[:4]}%{ord(cart_id[4]):02X}{cart_id[5:]}", {}, None),
        ("POST", cart + "/lineItems", {}, b"[]"),
        ("POST", cart + "/lineItems", {}, b"not json"),
        ("POST", cart + "/lineItems", {"content-type": "text/plain"}, b"[]"),
        ("POST", cart + "/lineItems/1/cancel", {}, None),
        ("PATCH", cart + "/lineItems/99999999999999999999/quantity", {}, b'{"quantity": 1}'),
        ("POST", cart + "/subtotal", {"X-API-KEY": "wrong"}, None),
        ("GET", "/api/v1/nowhere", {}, None),
        ("GET", "/api/v1/carts//lineItems", {}, None),
    ]
    for method, path, headers, body in requests:
        a = fast.request(method, path, headers=headers, content=body)
        b = full.request(method, path, headers=headers, content=body)
        assert (a.status_code, a.content) == (b.status_code, b.content), (method, path)
        assert sorted(a.headers.items()) == sorted(b.headers.items()), (method, path)


def test_a_header_sent_twice_is_read_alike(
    both: tuple[TestClient, TestClient], keys: dict[str, str]
) -> None:
    fast, full = both
    for client in both:
        client.headers.pop("X-API-KEY")
    twice = [("X-API-KEY", keys["r1"]), ("x-api-key", "wrong")]
    a = fast.post("/api/v1/carts", headers=twice)
    b = full.post("/api/v1/carts", headers=twice)
    assert (a.status_code, b.status_code) == (201, 201)  # the first one, on both lanes
    twice.reverse()
    a = fast.post("/api/v1/carts", headers=twice)
    b = full.post("/api/v1/carts", headers=twice)
    assert (a.status_code, a.content) == (b.status_code, b.content) == (401, a.content)
