"""The carts kept between requests: bounded by count, by their JSON's bytes, and by time."""

from __future__ import annotations

from services.cart import cart_json
from services.cart.cart_cache import CartCache
from tests.cart.test_cart import line
from tests.cart.test_item_master_client import Clock
from tests.storage.test_cart_storage import a_cart


def test_the_bytes_of_the_carts_kept_stay_within_the_bound() -> None:
    small = a_cart("small")
    size = len(cart_json.document(small))
    cache = CartCache(max_carts=100, max_bytes=size * 3, ttl=60)
    for n in range(5):
        cache.put(a_cart(f"c{n}"))
    assert len(cache) == 3  # the oldest two went
    assert cache.bytes <= size * 3
    assert cache.get("c0") is None
    assert cache.get("c4") is not None


def test_a_cart_that_grew_is_measured_again_when_kept_again() -> None:
    cart = a_cart("grows")
    cache = CartCache(max_carts=100, max_bytes=10_000_000, ttl=60)
    cache.put(cart)
    before = cache.bytes
    cart.add_lines([line(f"I{n}", 100) for n in range(50)], "JPY")
    cart_json.forget(cart)
    cache.put(cart)
    assert cache.bytes > before
    huge = CartCache(max_carts=100, max_bytes=before, ttl=60)
    huge.put(cart)
    assert len(huge) == 0  # larger than the whole bound: not kept


def test_an_entry_older_than_the_ttl_is_not_served() -> None:
    clock = Clock()
    cache = CartCache(max_carts=10, max_bytes=1 << 20, ttl=60, clock=clock)
    cache.put(a_cart("old"))
    clock.now += 61
    assert cache.get("old") is None
    assert cache.bytes == 0
