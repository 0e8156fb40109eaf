"""What the item cache keeps of scans: fresh as an item is, last known past that for an outage,
dropped by a change to all of a tenant's items, and never refilled by a call that one
overtook."""

from __future__ import annotations

from services.cart.item_master.item_cache import ItemCache
from services.cart.item_master.model import ScanAnswer
from services.cart.tax import Rounding

KEY = ("T0001", "S001", "4569951000058")
ANSWER = ScanAnswer("ITEM0005", "04569951000058", "gtin", "", None, None, "", "",
                    Rounding.HALF_UP)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_scan_is_fresh_for_the_ttl_then_last_known_until_max_stale() -> None:
    clock = Clock()
    cache = ItemCache(ttl=60, not_found_ttl=5, max_size=10, max_stale=600, clock=clock)
    cache.put_scan(KEY, ANSWER, cache.generation)
    assert cache.get_scan(KEY) == ANSWER
    clock.now += 61
    assert cache.get_scan(KEY) is None  # past its TTL: asked again
    assert cache.last_known_scan(KEY) == ANSWER  # ... but sold as known in an outage
    clock.now += 600
    assert cache.last_known_scan(KEY) is None  # too old to sell by


def test_the_change_stream_keeps_a_scan_fresh_while_it_vouches() -> None:
    clock = Clock()
    cache = ItemCache(ttl=60, not_found_ttl=5, max_size=10, clock=clock)
    cache.put_scan(KEY, ANSWER, cache.generation)
    cache.cover(["T0001"])
    clock.now += 3600
    assert cache.get_scan(KEY) == ANSWER


def test_a_change_to_all_items_drops_the_tenants_scans_and_only_theirs() -> None:
    cache = ItemCache(ttl=60, not_found_ttl=5, max_size=10)
    other = ("T0002", "S001", KEY[2])
    cache.put_scan(KEY, ANSWER, cache.generation)
    cache.put_scan(other, ANSWER, cache.generation)
    cache.evict("T0001", "", ["ITEM0005"], all_items=False)  # a price: the scan stays
    assert cache.get_scan(KEY) == ANSWER
    cache.evict("T0001", "", (), all_items=True)  # a barcode, a layout, a tax rule
    assert (cache.get_scan(KEY), cache.get_scan(other)) == (None, ANSWER)
    assert cache.last_known_scan(KEY) is None  # not known any more: never sold by
    cache.clear()  # a reset
    assert cache.get_scan(other) is None


def test_an_answer_overtaken_by_a_change_is_not_kept() -> None:
    cache = ItemCache(ttl=60, not_found_ttl=5, max_size=10)
    asked_at = cache.generation
    cache.evict("T0001", "", (), all_items=True)  # while the call was out
    cache.put_scan(KEY, ANSWER, asked_at)
    assert cache.get_scan(KEY) is None
