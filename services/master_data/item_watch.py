"""WatchItemChanges: the events of one watch, read from the change log as it grows.

`WatchWakeup` wakes every watch of this process when the log may have grown: at once after a
write made here, on PostgreSQL's NOTIFY for a write by another replica, and at SQLite's poll for
a write by another process. Each watch then reads what is new for its tenants. A watch sends
nothing it has not read, one message at a time, so a client that reads slowly holds back only
its own watch (the transports bound how long one send may wait: docs/push-coherence.md).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from gen.kugel.item.v1 import ItemChange, WatchHeartbeat, WatchItemChangesResponse, WatchReset
from services.common.codes import RULE, is_code

from .change_entries import LoggedChange
from .change_log import SharedChangeLog
from .errors import CatalogError, ErrorCode
from .loop_turns import LoopTurns
from .repository import ItemRepository

BATCH: Final = 500  # changes read from the log at a time
MAX_TENANTS: Final = 100
MAX_STORES: Final = 100
WATCHES_PER_TURN: Final = 100  # watches that send in one turn of the loop (docs/reliability.md)


class WatchWakeup:
    """A wake-up for every watch of this process. Take a `token` before reading the log and
    `wait` on it after: a write in between is not slept through."""

    def __init__(self) -> None:
        self._token: asyncio.Future[None] | None = None  # made when the first watch waits
        self.wakes = 0  # how many wake-ups so far: a refresh of the log names the one it follows
        self.open_watches = 0
        self.closing = False  # shutting down: every watch ends (its client resumes elsewhere)
        self.turns = LoopTurns(WATCHES_PER_TURN)  # a wake-up's watches go on a few at a time

    def token(self) -> asyncio.Future[None]:
        if self._token is None:
            self._token = asyncio.get_running_loop().create_future()
        return self._token

    def wake(self) -> None:
        self.wakes += 1
        token, self._token = self._token, None
        if token is not None:
            token.set_result(None)

    def close(self) -> None:
        self.closing = True
        self.wake()

    @staticmethod
    async def wait(token: asyncio.Future[None], seconds: float) -> None:
        # One future every watch shares, and no task per wait (wait_for's cost 1.4 KB a watch)
        await asyncio.wait((token,), timeout=max(0.0, seconds))


def _timestamp(microseconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(microseconds / 1_000_000, datetime.UTC)


@functools.lru_cache(maxsize=256)
def _change(logged: LoggedChange) -> WatchItemChangesResponse:
    """One message per change, however many watches send it (its frame is shared too)."""
    entry = logged.entry
    return WatchItemChangesResponse(
        change=ItemChange(
            sequence=logged.sequence,
            tenant_id=entry.tenant_id,
            store_code=entry.store_code,
            item_codes=list(entry.item_codes),
            all_items=entry.all_items,
            committed_at=_timestamp(logged.committed_at_us),
            trace_parent=logged.trace_parent,
        )
    )


def _reset(sequence: int, reason: str) -> WatchItemChangesResponse:
    return WatchItemChangesResponse(reset=WatchReset(sequence=sequence, reason=reason))


@dataclass
class ItemWatch:
    """One client's watch: its tenants, optional stores, and how far it has read."""

    repository: ItemRepository
    feed: WatchWakeup
    log: SharedChangeLog
    tenant_ids: Sequence[str]
    store_codes: Sequence[str]
    position: int
    heartbeat_seconds: float

    def _wanted(self, logged: LoggedChange) -> bool:
        store = logged.entry.store_code
        return not store or not self.store_codes or store in self.store_codes

    async def _check_position(self) -> tuple[WatchItemChangesResponse | None, int]:
        """The log's latest sequence, and a reset when the position is unknown to the log
        (ahead of it, or older than it keeps): the position then moves to the log's end."""
        oldest, latest = self.log.oldest, self.log.latest  # as of the last shared refresh
        if self.position > latest:
            reason = "the position is ahead of the change log (was it recreated?)"
        elif oldest and self.position < oldest - 1:
            reason = "the changes after the position are no longer kept"
        else:
            return None, latest
        self.position = latest
        return _reset(latest, reason), latest

    async def events(self) -> AsyncIterator[WatchItemChangesResponse]:
        """A heartbeat (or a reset) first, saying where the watch starts; then the changes."""
        await self.log.refresh(self.feed.wakes)
        if self.position == 0:
            self.position = self.log.latest
        reset, _ = await self._check_position()
        yield reset or WatchItemChangesResponse(heartbeat=WatchHeartbeat(sequence=self.position))
        quiet_since = time.monotonic()
        caught_up = False  # a heartbeat goes as soon as what the watch missed is sent
        while not self.feed.closing:
            token, wake = self.feed.token(), self.feed.wakes
            await self.log.refresh(wake)  # one read of the log for every watch woken
            await self.feed.turns.take()
            reset, latest = await self._check_position()
            if reset is not None:
                yield reset
                quiet_since = time.monotonic()
            batch = self.log.after(self.position, self.tenant_ids, BATCH)
            if batch is None:  # too far behind for the shared memory: read the log itself
                batch = await self.repository.changes_after(self.position, self.tenant_ids, BATCH)
            for logged in batch:
                self.position = logged.sequence
                if self._wanted(logged):
                    yield _change(logged)
                    quiet_since = time.monotonic()
            if len(batch) == BATCH:
                continue  # more to read now
            # Every change of these tenants up to `latest` is read (sequences commit in order):
            # other tenants' changes move the position on too, so a resume stays in the log.
            self.position = max(self.position, latest)
            idle = time.monotonic() - quiet_since
            if idle >= self.heartbeat_seconds or not caught_up:
                caught_up = True
                yield WatchItemChangesResponse(heartbeat=WatchHeartbeat(sequence=self.position))
                quiet_since = time.monotonic()
                continue
            await self.feed.wait(token, self.heartbeat_seconds - idle)


@dataclass(frozen=True)
class Watches:
    """What ItemService opens watches with, and how many each connection and token holds."""

    repository: ItemRepository
    feed: WatchWakeup
    heartbeat_seconds: float
    log: SharedChangeLog
    max_per_connection: int = 100
    max_per_token: int = 1_000
    _held: Counter[tuple[str, object]] = field(default_factory=Counter)

    def admit(self, peer: object, authorization: str | None) -> Callable[[], None]:
        """Count one more watch against its connection and its token (CatalogError
        TOO_MANY_WATCHES at a cap); the callable releases it, once."""
        token = hashlib.sha256((authorization or "").encode()).hexdigest()  # not the secret
        limits = {
            ("connection", peer): self.max_per_connection,
            ("token", token): self.max_per_token,
        }
        for key, limit in limits.items():
            if self._held[key] >= limit:
                raise CatalogError(
                    ErrorCode.TOO_MANY_WATCHES,
                    f"at most {limit} change watches per {key[0]}: close one first",
                )
        keys = list(limits)
        for key in keys:
            self._held[key] += 1
        self.feed.open_watches += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.feed.open_watches -= 1
            for key in keys:
                self._held[key] -= 1
                if not self._held[key]:
                    del self._held[key]

        return release

    async def open(
        self, tenant_ids: Sequence[str], store_codes: Sequence[str], after: int
    ) -> ItemWatch:
        """A watch, its request checked (CatalogError INVALID_ARGUMENT names the problem,
        NOT_FOUND an unknown tenant)."""
        if not 1 <= len(tenant_ids) <= MAX_TENANTS:
            raise CatalogError(
                ErrorCode.INVALID_ARGUMENT, f"tenant_ids must name 1 to {MAX_TENANTS} tenants"
            )
        if len(store_codes) > MAX_STORES:
            raise CatalogError(
                ErrorCode.INVALID_ARGUMENT, f"store_codes may name at most {MAX_STORES} stores"
            )
        for name, codes in (("tenant_ids", tenant_ids), ("store_codes", store_codes)):
            bad = [code for code in codes if not is_code(code)]
            if bad:
                raise CatalogError(
                    ErrorCode.INVALID_ARGUMENT, f"{name}: {bad[0]!r} is not a code ({RULE})"
                )
        if after < 0:
            raise CatalogError(ErrorCode.INVALID_ARGUMENT, "after_sequence must not be negative")
        for tenant in dict.fromkeys(tenant_ids):
            if await self.repository.store_context(tenant, "") is None:
                raise CatalogError(
                    ErrorCode.TENANT_NOT_FOUND, f"tenant {tenant} not found", subject=tenant
                )
        return ItemWatch(
            self.repository,
            self.feed,
            self.log,
            list(dict.fromkeys(tenant_ids)),
            list(store_codes),
            after,
            self.heartbeat_seconds,
        )
