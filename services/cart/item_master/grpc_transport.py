"""Item lookups over gRPC: the generated ItemServiceStub over every address of master-data's
gRPC target (`services.rpc.grpc_balancer`: a connection per address, the ready one with the
fewest calls out).

A lookup has no side effects, so a call whose address fails before it answers (refused, reset,
UNAVAILABLE) goes to the next ready address within the same deadline: one replica's loss costs
no scan and no HTTP fallback. Only when no address is ready does the lookup fail UNAVAILABLE
(and the cart falls back to HTTP).

A replica that takes a call and never answers (a hung process, a half-dead node) costs one
attempt, not the scan: while another address is ready an attempt has half the time left (then
its address is taken out for its cool-down, and the next one tried at once); the last has three
quarters, so the HTTP fallback still has time when no gRPC address answers. An address that
accepts and never completes its HTTP/2 handshake is not ready (grpc_balancer), so it gets a
call only when no address is."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import h2.exceptions
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
    ItemServiceStub,
)
from services.rpc.grpc_balancer import BalancedChannel, Subchannel

from .model import BatchResult, ItemLookupError, LookupFailure
from .transport import failure_of

_Reply = TypeVar("_Reply")

# Of the time a lookup has left, what one attempt may take: while another address is ready
# (then that one is tried), and when none is (then the HTTP fallback has the rest).
ANOTHER_READY_SHARE: Final = 0.5
LAST_ATTEMPT_SHARE: Final = 0.75

# What says an address is gone (or going): try the next one.
UNREACHABLE: Final = (OSError, StreamTerminatedError, h2.exceptions.ProtocolError)


class GrpcTransport:
    """Lookups over the balanced channel; its subchannels reconnect by themselves."""

    name = "grpc"

    def __init__(self, channel: BalancedChannel, token: str | None) -> None:
        self._channel = channel
        self._metadata = {"authorization": f"Bearer {token}"} if token else None

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        reply = await self._unary(
            lambda stub, timeout: stub.batch_get_item_details(
                request, timeout=timeout, metadata=self._metadata
            ),
            seconds_left,
        )
        return BatchResult.from_reply(reply)

    async def scans(
        self, request: BatchResolveScansRequest, seconds_left: float
    ) -> BatchResolveScansResponse:
        return await self._unary(
            lambda stub, timeout: stub.batch_resolve_scans(
                request, timeout=timeout, metadata=self._metadata
            ),
            seconds_left,
        )

    async def _unary(
        self, call: Callable[[ItemServiceStub, float], Awaitable[_Reply]], seconds_left: float
    ) -> _Reply:
        """One call on the ready address with fewest calls out, the next one when it is
        unreachable, within `seconds_left`."""
        deadline = time.monotonic() + seconds_left
        tried: list[Subchannel] = []
        failure = "no gRPC address of master-data is ready"
        while (address := await self._channel.pick(tried)) is not None:
            elsewhere = self._channel.untried_besides([*tried, address])
            share = ANOTHER_READY_SHARE if elsewhere else LAST_ATTEMPT_SHARE
            try:
                reply = await call(
                    ItemServiceStub(address.channel),
                    max((deadline - time.monotonic()) * share, 0.001),
                )
            except GRPCError as error:
                if error.status is not Status.UNAVAILABLE:
                    raise _answer(error) from None
                failure = f"gRPC {address.label}: {error.message or 'UNAVAILABLE'}"
            except TimeoutError:
                if not elsewhere:
                    self._channel.inconclusive(address)
                    raise ItemLookupError(
                        LookupFailure.UNAVAILABLE, "gRPC deadline exceeded", timed_out=True
                    ) from None
                failure = f"gRPC {address.label}: no answer within its share of the deadline"
            except UNREACHABLE as error:
                failure = f"gRPC unreachable at {address.label}: {error}"
            else:
                self._channel.succeeded(address)
                return reply
            finally:
                self._channel.release(address)
            self._channel.failed(address)
            tried.append(address)
            if time.monotonic() >= deadline:
                raise ItemLookupError(LookupFailure.UNAVAILABLE, failure, timed_out=True)
        raise ItemLookupError(LookupFailure.UNAVAILABLE, failure)

    def status(self) -> dict[str, object]:
        return self._channel.status()

    async def close(self) -> None:
        await self._channel.close()


def _answer(error: GRPCError) -> ItemLookupError:
    """master-data's answer (not found, invalid, refused, out of time) as the lookup's error."""
    failure = failure_of(error.status, error.details or ())
    return ItemLookupError(
        failure,
        error.message or error.status.name,
        timed_out=error.status is Status.DEADLINE_EXCEEDED,
    )
