"""Carts kept in the process between requests (a read checks the stored version first):
bounded by count, by the bytes of their JSON, and by time.

Counting bytes, not only carts, bounds what one key holder can make the process keep: a cart
of 500 lines is several times its JSON's size in memory (the edges review of 2026-12-01 read
about 0.7 MB for a 141 KB answer), so CART_CACHE_BYTES of JSON keeps some multiple of that.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from . import cart_json
from .cart import Cart


class CartCache:
    """The least recently used go first when a bound is passed; an entry older than `ttl` is
    not served."""

    def __init__(
        self,
        max_carts: int,
        max_bytes: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_carts = max_carts
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, int, Cart]] = OrderedDict()
        self.bytes = 0

    def get(self, cart_id: str) -> Cart | None:
        entry = self._entries.get(cart_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self.discard(cart_id)
            return None
        self._entries.move_to_end(cart_id)
        return entry[2]

    def put(self, cart: Cart) -> None:
        """Keep the cart (again: its size is measured anew, as a change may have grown it)."""
        self.discard(cart.cart_id)
        size = len(cart_json.document(cart))
        if self._max_carts == 0 or size > self._max_bytes:
            return
        self._entries[cart.cart_id] = (self._clock() + self._ttl, size, cart)
        self.bytes += size
        while len(self._entries) > self._max_carts or self.bytes > self._max_bytes:
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self.bytes -= dropped

    def discard(self, cart_id: str) -> None:
        entry = self._entries.pop(cart_id, None)
        if entry is not None:
            self.bytes -= entry[1]

    def __len__(self) -> int:
        return len(self._entries)
