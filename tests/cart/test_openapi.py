"""The OpenAPI document names exactly the routes the cart serves, with their methods, and is
the one committed in contracts/openapi/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.routing import Route
from starlette.testclient import TestClient

from services.cart.openapi import openapi_document
from services.cart.server import CartParts


def served(cart: CartParts) -> set[tuple[str, str]]:
    """(path in OpenAPI's spelling, method) of every cart API route the app serves."""
    pairs = set()
    for route in cart.http_app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        path = re.sub(r"\{(\w+?)(?::\w+)?\}", lambda m: "{" + _camel(m.group(1)) + "}", route.path)
        pairs.update((path, method.lower()) for method in route.methods or () if method != "HEAD")
    return pairs


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def documented() -> set[tuple[str, str]]:
    return {(path, method) for path, item in openapi_document()["paths"].items() for method in item}


def test_the_document_lists_exactly_the_routes_served(cart: CartParts) -> None:
    assert documented() == served(cart)


def test_the_cart_serves_the_committed_document(http: TestClient) -> None:
    committed = Path(__file__).resolve().parents[2] / "contracts/openapi/cart.json"
    assert http.get("/openapi.json").json() == json.loads(committed.read_text())
