"""Cached items a change named, fetched again right away, off the scan path: so an outage that
starts just after a change finds the new copy, not only the old one (which is never served
again once a change named it).

One task per process works through what changes named, in batches of at most BATCH codes of one
store, one batch at a time: a change to every item of a tenant (a tax rule, its currency) is
many bounded batches, not one large burst. A batch that fails is dropped with a log line: those
items are fetched on their next scan, and during an outage they are not sold at an old price.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from services.common.storage_errors import StorageUnavailable

from .item_cache import CacheKey
from .model import ItemLookupError

log = logging.getLogger(__name__)

BATCH: Final = 100  # master-data's batch limit (BatchGetItemDetailsRequest.item_codes)

Fetch = Callable[[str, str, list[str]], Awaitable[object]]
Snapshot = Callable[[str, str], Awaitable[object]]


class RefetchQueue:
    """A queue of keys to fetch again (and of preloaded stores to take anew), drained by `run`
    (a task of the cart process)."""

    def __init__(self, fetch: Fetch, snapshot: Snapshot | None = None) -> None:
        """`snapshot`: how a preloaded store's snapshot is taken anew (the watch's sources
        know); without it, only items are fetched again."""
        self._fetch = fetch
        self._snapshot = snapshot
        self._stores: dict[tuple[str, str], None] = {}  # stores to take a snapshot of
        self._pending: dict[tuple[str, str], dict[str, None]] = {}  # insertion-ordered sets
        self._wake = asyncio.Event()
        self.fetched = 0  # items fetched again since start
        self.idle = asyncio.Event()  # set while nothing waits (tests and the drill wait on it)
        self.idle.set()

    def add(self, keys: Iterable[CacheKey]) -> None:
        for tenant, store, code in keys:
            self._pending.setdefault((tenant, store), {})[code] = None
        if self._pending:
            self.idle.clear()
            self._wake.set()

    def resnapshot(self, stores: Iterable[tuple[str, str]]) -> None:
        if self._snapshot is None:
            return
        self._stores.update(dict.fromkeys(stores))
        if self._stores:
            self.idle.clear()
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._stores and self._snapshot is not None:
                tenant, store = next(iter(self._stores))
                del self._stores[(tenant, store)]
                try:
                    await self._snapshot(tenant, store)
                except (ItemLookupError, StorageUnavailable) as error:
                    log.warning("preloaded %s/%s not taken anew: %s", tenant, store, error)
            while self._pending:
                (tenant, store), codes = next(iter(self._pending.items()))
                batch = list(codes)[:BATCH]
                for code in batch:
                    del codes[code]
                if not codes:
                    del self._pending[(tenant, store)]
                try:
                    await self._fetch(tenant, store, batch)
                    self.fetched += len(batch)
                except (ItemLookupError, StorageUnavailable) as error:
                    log.warning(
                        "changed items of %s/%s not fetched again (%s): fetched at their next scan",
                        tenant, store, error,
                    )  # fmt: skip
            self.idle.set()
