"""Client-side balancing over every address a gRPC target names (grpclib has none of its own):
one channel (one HTTP/2 connection) per address, calls to the ready address with the fewest
calls out, round robin among equals.

An address is ready once its HTTP/2 handshake is done (the server's SETTINGS came); every address
kept is connected in the background, so one that accepts and never speaks HTTP/2 is not ready
and gets a call only when none is. An address that fails (refused, reset, UNAVAILABLE, no
handshake within `handshake_seconds`) is skipped for a cool-down, then probed by one call (a
circuit breaker per address). The name is resolved again every
`resolve_every_seconds` and soon after a failure, so a replica added by a scale-out gets calls
within one period and a removed one gets none; a removed address's channel closes once its calls
are done. With more addresses than `max_addresses`, a process keeps a stable subset (each process
its own), so a thousand replicas do not cost every client a thousand connections.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection
from typing import Final

from services.common.circuit_breaker import BreakerState, CircuitBreaker
from services.common.throttled_log import ThrottledLog

from .grpc_client import InterceptedChannel
from .grpc_target import Address, GrpcTarget

log = logging.getLogger(__name__)

MIN_RESOLVE_GAP_SECONDS: Final = 1.0  # re-resolving after failures: at most this often


class Subchannel:
    """One address: its channel, its breaker, the calls out on it."""

    def __init__(self, address: Address, channel: InterceptedChannel, breaker: CircuitBreaker):
        self.address = address
        self.channel = channel
        self.breaker = breaker
        self.outstanding = 0
        self.retired = False  # the name no longer gives this address
        self.connecting: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Not failing, and its connection up and handshaken."""
        return self.breaker.state is BreakerState.CLOSED and self.channel.handshaken

    @property
    def label(self) -> str:
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class BalancedChannel:
    """The subchannels of one target. `pick()` an address per call, `release()` it when the
    call is over, and say how the call went (`succeeded`, `failed`)."""

    def __init__(
        self,
        target: GrpcTarget,
        connect: Callable[[Address], InterceptedChannel],
        *,
        resolve_every_seconds: float,
        cooldown_seconds: float,
        handshake_seconds: float = 5.0,
        max_addresses: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self._connect = connect
        self._resolve_every = resolve_every_seconds
        self._cooldown = cooldown_seconds
        self._handshake_seconds = handshake_seconds
        self._max = max_addresses
        self._clock = clock
        self._subchannels: list[Subchannel] = []
        self._turn = 0
        self._resolved_at: float | None = None
        self._resolving: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._order = random.Random()  # noqa: S311 - spreads processes over a subset, no secret
        self._unresolved = ThrottledLog("gRPC target %s does not resolve (%s): keeping %d", log)

    @property
    def subchannels(self) -> list[Subchannel]:
        return list(self._subchannels)

    def ready_count(self) -> int:
        return sum(1 for s in self._subchannels if s.ready)

    def untried_besides(self, skip: Collection[Subchannel]) -> bool:
        """Whether an address not in `skip` is not failing (ready or still connecting):
        somewhere else to try a call."""
        return any(
            s.breaker.state is BreakerState.CLOSED and s not in skip for s in self._subchannels
        )

    async def pick(self, skip: Collection[Subchannel] = ()) -> Subchannel | None:
        """The address for the next call: the ready one with the fewest calls out (round robin
        among equals), else one whose cool-down is over (a probe); None when there is none.
        The call it starts counts as out until `release`."""
        if self._first is None or not self._first.done():
            await self._first_resolve()
        elif not self._subchannels:
            self._resolve_soon(after_failure=True)  # the name gave nothing yet: ask again
        elif self._clock() - (self._resolved_at or 0.0) >= self._resolve_every:
            self._resolve_soon()
        chosen = self._choose(skip)
        if chosen is not None:
            chosen.outstanding += 1
        return chosen

    async def _first_resolve(self) -> None:
        """The first resolve, which every call made meanwhile waits for."""
        if self._first is None:
            self._first = asyncio.ensure_future(self.resolve())
        await asyncio.shield(self._first)

    def _choose(self, skip: Collection[Subchannel]) -> Subchannel | None:
        """The ready address with the fewest calls out; else one still connecting (the call
        waits for its connection); else a probe."""
        subchannels = self._subchannels
        count = len(subchannels)
        best: Subchannel | None = None
        best_ready = False
        self._turn = (self._turn + 1) % max(count, 1)
        for offset in range(count):
            candidate = subchannels[(self._turn + offset) % count]
            if candidate.breaker.state is not BreakerState.CLOSED or candidate in skip:
                continue
            ready = candidate.channel.handshaken  # CLOSED already
            if not ready:
                self._connect_soon(candidate)
            if best is None or (ready, -candidate.outstanding) > (best_ready, -best.outstanding):
                best, best_ready = candidate, ready
        if best is not None:
            return best
        for candidate in subchannels:  # none ready: one whose cool-down is over may probe
            if candidate not in skip and candidate.breaker.allow():
                return candidate
        return None

    def _connect_soon(self, subchannel: Subchannel) -> None:
        """Connect an address in the background (gRPC's subchannels connect before a call
        needs them); no handshake within `handshake_seconds` counts as a failure."""
        if subchannel.connecting is None or subchannel.connecting.done():
            subchannel.connecting = asyncio.create_task(self._handshake(subchannel))

    async def _handshake(self, subchannel: Subchannel) -> None:
        try:
            async with asyncio.timeout(self._handshake_seconds):
                await subchannel.channel.handshake()
        except (OSError, TimeoutError):
            if not subchannel.retired:
                self.failed(subchannel)

    def release(self, subchannel: Subchannel) -> None:
        subchannel.outstanding -= 1
        if subchannel.retired and subchannel.outstanding == 0:
            subchannel.channel.close()

    def succeeded(self, subchannel: Subchannel) -> None:
        if subchannel.breaker.succeeded():
            log.info("gRPC address %s of %s answers again", subchannel.label, self.target.text)

    def failed(self, subchannel: Subchannel) -> None:
        """A transport failure on this address: skipped for a cool-down; the name is resolved
        again soon (the address may be gone)."""
        if subchannel.breaker.failed():
            log.warning(
                "gRPC address %s of %s failed: skipped for %g s",
                subchannel.label,
                self.target.text,
                self._cooldown,
            )
        self._resolve_soon(after_failure=True)

    def inconclusive(self, subchannel: Subchannel) -> None:
        subchannel.breaker.inconclusive()

    def _resolve_soon(self, *, after_failure: bool = False) -> None:
        if self._resolving is not None:
            return
        if after_failure:  # fixed addresses resolve to themselves; a name at most so often
            recent = self._resolved_at is not None and (
                self._clock() - self._resolved_at < MIN_RESOLVE_GAP_SECONDS
            )
            if recent or not self.target.resolved_by_dns:
                return
        self._resolving = asyncio.create_task(self.resolve())
        self._resolving.add_done_callback(self._resolved)

    def _resolved(self, task: asyncio.Task[None]) -> None:
        self._resolving = None
        if not task.cancelled() and task.exception() is not None:
            log.error("resolving %s failed", self.target.text, exc_info=task.exception())

    async def resolve(self) -> None:
        """Resolve the target now and keep a channel per address it names (a bounded subset);
        a name that does not resolve keeps the addresses known."""
        self._resolved_at = self._clock()
        try:
            found = await self.target.resolve()
        except (OSError, TimeoutError) as error:
            self._unresolved.warn(self.target.text, error, len(self._subchannels))
            return
        self._update(found)

    def _update(self, found: list[Address]) -> None:
        """Keep a subset of at most `max_addresses`: the addresses kept that still answer, then
        addresses not tried yet, then kept ones that failed (a long list with a few live
        addresses is searched, not cut to the first failed ones)."""
        named = set(found)
        present = [s for s in self._subchannels if s.address in named]
        answering = [s for s in present if s.breaker.state is not BreakerState.OPEN]
        failing = [s for s in present if s.breaker.state is BreakerState.OPEN]
        fresh = [a for a in found if a not in {s.address for s in present}]
        self._order.shuffle(fresh)
        room = max(0, self._max - len(answering))
        tried = fresh[:room]
        kept = {s.address: s for s in [*answering, *failing[: max(0, room - len(tried))]]}
        wanted = list(kept) + tried
        for subchannel in self._subchannels:
            if subchannel.address not in kept:
                subchannel.retired = True
                if subchannel.connecting is not None:
                    subchannel.connecting.cancel()
                if subchannel.outstanding == 0:
                    subchannel.channel.close()
        before = [s.address for s in self._subchannels]
        self._subchannels = [kept[a] if a in kept else self._new(a) for a in sorted(wanted)]
        if before != sorted(wanted):
            log.info(
                "gRPC target %s: %d addresses (%s)",
                self.target.text,
                len(self._subchannels),
                ", ".join(s.label for s in self._subchannels),
            )

    def _new(self, address: Address) -> Subchannel:
        breaker = CircuitBreaker(self._cooldown, self._clock)
        channel = self._connect(address)
        # A GOAWAY (a replica ageing its connections, or leaving): resolve the name again soon
        channel.on_goaway = lambda: self._resolve_soon(after_failure=True)
        subchannel = Subchannel(address, channel, breaker)
        self._connect_soon(subchannel)
        return subchannel

    def status(self) -> dict[str, object]:
        return {
            "target": self.target.text,
            "addresses": len(self._subchannels),
            "ready": self.ready_count(),
        }

    async def close(self) -> None:
        if self._resolving is not None:
            self._resolving.cancel()
            self._resolving = None
        for subchannel in self._subchannels:
            if subchannel.connecting is not None:
                subchannel.connecting.cancel()
            subchannel.channel.close()
        self._subchannels = []
        self._resolved_at = None
        self._first = None
