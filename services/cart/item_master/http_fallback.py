"""Where the cart falls back to HTTP: gRPC first, the Connect endpoint when gRPC is unreachable.

With USE_GRPC=false every call goes over HTTP. With USE_GRPC=true calls go over gRPC; when gRPC
is unreachable (refused, reset, UNAVAILABLE, out of time) the call is retried over HTTP within
the same deadline, and a circuit breaker keeps sending calls to HTTP for a cool-down, after which
one call probes gRPC again. NOT_FOUND, INVALID and REJECTED are answers, not outages: they never
switch transports. Neither is a deadline the caller set shorter than GRPC_TIMEOUT running out:
only a transport that misses the client's own deadline counts against it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from opentelemetry import trace

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
)
from services.common.circuit_breaker import BreakerState, CircuitBreaker

from .metrics import LookupMetrics
from .model import BatchResult, ItemLookupError, LookupFailure
from .transport import ItemTransport

log = logging.getLogger(__name__)
_Reply = TypeVar("_Reply")
Ask = Callable[[ItemTransport, float], Awaitable[_Reply]]  # one call on a transport, seconds left


class FallbackTransports:
    """One batch call over gRPC with HTTP fallback, or over HTTP alone (`grpc` None)."""

    def __init__(
        self,
        *,
        grpc: ItemTransport | None,
        http: ItemTransport,
        breaker: CircuitBreaker,
        metrics: LookupMetrics,
    ) -> None:
        self._grpc = grpc
        self._http = http
        self._breaker = breaker
        self._metrics = metrics
        self._last: tuple[str, str, float] | None = None  # outcome, transport, monotonic time

    async def batch(
        self,
        request: BatchGetItemDetailsRequest,
        timeout_at: float,
        *,
        callers_deadline: bool = False,
    ) -> BatchResult:
        """The items by `timeout_at` (time.monotonic), or ItemLookupError.

        `callers_deadline`: `timeout_at` is the caller's, shorter than the client's own.
        """
        return await self._ask(
            lambda transport, seconds: transport.batch(request, seconds),
            timeout_at,
            callers_deadline,
        )

    async def scans(
        self,
        request: BatchResolveScansRequest,
        timeout_at: float,
        *,
        callers_deadline: bool = False,
    ) -> BatchResolveScansResponse:
        """What each scan names, by `timeout_at`, or ItemLookupError (as `batch`)."""
        return await self._ask(
            lambda transport, seconds: transport.scans(request, seconds),
            timeout_at,
            callers_deadline,
        )

    async def _ask(self, ask: Ask[_Reply], timeout_at: float, callers_deadline: bool) -> _Reply:
        span = trace.get_current_span()
        if self._grpc is not None and span.is_recording():
            span.set_attribute("master_data.grpc_breaker", self._breaker.state.value)
        if self._grpc is not None and self._breaker.allow():
            try:
                result = await self._call(self._grpc, ask, timeout_at)
            except ItemLookupError as error:
                if error.failure is not LookupFailure.UNAVAILABLE:
                    raise
                if error.timed_out and callers_deadline:
                    self._breaker.inconclusive()
                    raise  # the caller's own hurry: no transport's fault, no time to fall back
                if self._breaker.failed():
                    log.warning("gRPC to master-data unavailable (%s): using HTTP", error.message)
                trace.get_current_span().add_event(
                    "fallback to HTTP",
                    {"error": error.message, "breaker": self._breaker.state.value},
                )
            else:
                if self._breaker.succeeded():
                    log.info("gRPC to master-data answers again: back on gRPC")
                return result
        return await self._call(self._http, ask, timeout_at)

    async def _call(self, transport: ItemTransport, ask: Ask[_Reply], timeout_at: float) -> _Reply:
        remaining = timeout_at - time.monotonic()
        if remaining <= 0:
            self._metrics.lookups.labels(transport.name, "unavailable").inc()
            raise ItemLookupError(
                LookupFailure.UNAVAILABLE, "lookup deadline exceeded", timed_out=True
            )
        started = time.perf_counter()
        trace.get_current_span().set_attribute("master_data.transport", transport.name)
        try:
            result = await ask(transport, remaining)
        except ItemLookupError as error:
            if error.failure is LookupFailure.UNAVAILABLE:
                self._last = ("unreachable", transport.name, time.monotonic())
            self._metrics.lookups.labels(transport.name, error.failure.value).inc()
            if error.failure is LookupFailure.REJECTED:
                log.error(
                    "master-data rejected our token over %s: check MASTER_DATA_TOKEN",
                    transport.name,
                )
            raise
        self._metrics.latency.labels(transport.name).observe(time.perf_counter() - started)
        self._metrics.lookups.labels(transport.name, "ok").inc()
        self._last = ("answered", transport.name, time.monotonic())
        return result

    def status(self) -> dict[str, object]:
        """What /readyz says of master-data: the transport the next lookup takes, and how the
        last one went (an outage the till rides out is reported, not a reason to be unready)."""
        on_grpc = self._grpc is not None and self._breaker.state is BreakerState.CLOSED
        next_one = self._grpc if on_grpc and self._grpc is not None else self._http
        said: dict[str, object] = {"transport": next_one.name}
        if self._grpc is not None:
            said["grpcBreaker"] = self._breaker.state.value
            said["grpcAddresses"] = self._grpc.status()
        if self._last is None:
            said["lastLookup"] = "none yet"
        else:
            outcome, transport, at = self._last
            said["lastLookup"] = outcome
            said["lastLookupTransport"] = transport
            said["lastLookupSecondsAgo"] = round(time.monotonic() - at, 1)
        return said

    async def close(self) -> None:
        """Close the channel and the session (they reopen on the next call)."""
        if self._grpc is not None:
            await self._grpc.close()
        await self._http.close()
