"""One reader of the change log per process, whose result every watch shares: a write costs
one log query, not one per open watch (10,000 watches each querying on every write took an
admin write seconds to reach them all, and lookups with them).

Each wake-up of the feed gets one refresh (the log's bounds and what is new, for every tenant)
that every watch woken by it awaits; the newest entries stay in memory, and a watch takes its
own from there. A watch too far behind for memory (a resume from an old position) reads the
log itself, as before.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import deque
from collections.abc import Sequence
from typing import Final

from .change_entries import LoggedChange
from .repository import ItemRepository

KEPT: Final = 4_096  # the newest entries kept in memory for the watches
READ_BATCH: Final = 1_000


class SharedChangeLog:
    """The log as every watch of the process sees it: bounds and the newest entries."""

    def __init__(self, repository: ItemRepository) -> None:
        self._repository = repository
        self._entries: deque[LoggedChange] = deque(maxlen=KEPT)
        self._sequences: deque[int] = deque(maxlen=KEPT)  # the entries' sequences, for bisect
        self.oldest = 0
        self.latest = 0
        self._read_up_to = -1  # the log is read up to here (-1: not at all yet)
        self._refresh: asyncio.Task[None] | None = None
        self._done_wake = -1  # ... and when the last completed one did
        self.queries = 0  # log queries made (the lab reads it)

    async def refresh(self, wake: int) -> None:
        """Return once a refresh that started at the feed's wake count `wake` or later is
        done: every write that woke the feed before the caller took its token is in it."""
        while self._done_wake < wake:
            if self._refresh is None:
                self._refresh = asyncio.create_task(self._read(wake))
            task = self._refresh
            await asyncio.shield(task)

    async def _read(self, wake: int) -> None:
        try:
            self.oldest, self.latest = await self._repository.log_bounds()
            self.queries += 1
            if self._read_up_to < 0:
                self._read_up_to = self.latest  # from now on: watches start at the end
            while self._read_up_to < self.latest:
                batch = await self._repository.all_changes_after(self._read_up_to, READ_BATCH)
                self.queries += 1
                if not batch:  # trimmed meanwhile: nothing more to read up to `latest`
                    self._read_up_to = self.latest
                    break
                for logged in batch:
                    self._entries.append(logged)
                    self._sequences.append(logged.sequence)
                self._read_up_to = batch[-1].sequence
            self._done_wake = max(self._done_wake, wake)
        finally:
            self._refresh = None

    def after(
        self, position: int, tenant_ids: Sequence[str], limit: int
    ) -> list[LoggedChange] | None:
        """The kept changes of the tenants after `position`, oldest first, at most `limit`;
        None when memory does not reach back to `position` (read the log instead)."""
        if position >= self._read_up_to:
            return []
        if not self._sequences or self._sequences[0] > position + 1:
            return None
        start = bisect.bisect_right(self._sequences, position)
        wanted = set(tenant_ids)
        found = []
        for logged in itertools.islice(self._entries, start, None):
            if logged.entry.tenant_id in wanted:
                found.append(logged)
                if len(found) == limit:
                    break
        return found
