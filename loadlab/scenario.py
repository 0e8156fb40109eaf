"""The checkout scenario, written once for every driver (the asyncio terminals and Locust).

A scenario is a generator of `Step`s, one per request. The driver sends each successful step's
JSON answer back into the generator (that is how it learns the cart id and the total); a failed
step ends the scenario.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from services.master_data import demo_data

API = "/api/v1"
# Active demo items: every 50th is withdrawn from sale.
SCANNABLE = [demo_data.item_code(n) for n in range(1, demo_data.ITEMS_PER_TENANT + 1) if n % 50]
BARCODE_EVERY = 3  # lines: one in so many is scanned by the item's JAN, the rest by its code


def line_body(code: str, *, by_barcode: bool) -> list[dict[str, str]]:
    """A demo item added by its code, or by the JAN on its pack (a till's scanner)."""
    if by_barcode:
        return [{"scan": demo_data.jan(int(code.removeprefix("ITEM")))}]
    return [{"itemCode": code}]


@dataclass(frozen=True, slots=True)
class Step:
    """One request of the scenario, under `API`; `name` groups it in the statistics."""

    name: str
    method: str
    path: str
    body: Any = None
    expected: int = 200
    is_scan: bool = False  # a scan: where a driver paces with think time


Scenario = Generator[Step, Any, None]


DISCOUNT_EVERY = 4  # carts: one in so many gets a discount on the whole cart
MEMBER_DISCOUNT = [{"type": "percent", "value": 5, "reason": "member"}]


def checkout(items: list[str], *, cancel: bool = False, discount: bool = False) -> Scenario:
    """Create a cart, scan the items one request each, give the cart a discount if asked,
    then pay cash and bill (or cancel)."""
    cart = yield Step("create cart", "POST", "/carts", expected=201)
    path = f"/carts/{cart['cartId']}"
    for n, code in enumerate(items):
        body = line_body(code, by_barcode=n % BARCODE_EVERY == BARCODE_EVERY - 1)
        yield Step("add item", "POST", f"{path}/lineItems", body, is_scan=True)
    if discount:
        yield Step("cart discount", "POST", f"{path}/discounts", MEMBER_DISCOUNT)
    if cancel:
        yield Step("cancel cart", "POST", f"{path}/cancel")
        return
    totals = yield Step("subtotal", "POST", f"{path}/subtotal")
    cash = -(-int(totals["total"]) // 1000) * 1000  # the next round thousand
    yield Step("pay cash", "POST", f"{path}/payments", {"method": "cash", "amount": cash})
    yield Step("bill", "POST", f"{path}/bill")
