"""The interface both transports implement, and the status table they share."""

from __future__ import annotations

from typing import Final, Protocol

from grpclib.const import Status

from gen.kugel.item.v1 import BatchGetItemDetailsRequest

from .model import BatchResult, LookupFailure

MAX_REPLY_BYTES: Final = 16 << 20  # the largest reply either transport decodes

# gRPC status (and so Connect code, which names the same statuses) -> what the cart makes of it.
FAILURE_BY_STATUS: dict[Status, LookupFailure] = {
    Status.NOT_FOUND: LookupFailure.NOT_FOUND,
    Status.INVALID_ARGUMENT: LookupFailure.INVALID,
    Status.OUT_OF_RANGE: LookupFailure.INVALID,
    Status.FAILED_PRECONDITION: LookupFailure.INVALID,
    Status.RESOURCE_EXHAUSTED: LookupFailure.INVALID,
    Status.UNAUTHENTICATED: LookupFailure.REJECTED,
    Status.PERMISSION_DENIED: LookupFailure.REJECTED,
    Status.UNAVAILABLE: LookupFailure.UNAVAILABLE,
    Status.DEADLINE_EXCEEDED: LookupFailure.UNAVAILABLE,
    Status.CANCELLED: LookupFailure.UNAVAILABLE,
    Status.UNIMPLEMENTED: LookupFailure.UNAVAILABLE,  # e.g. an HTTP proxy in front
}


class ItemTransport(Protocol):
    """One way of asking master-data for items. Raises ItemLookupError on any failure."""

    name: str

    async def batch(
        self, request: BatchGetItemDetailsRequest, seconds_left: float
    ) -> BatchResult: ...

    def status(self) -> dict[str, object]:
        """What /readyz may say of where the transport's calls go."""
        ...

    async def close(self) -> None: ...
