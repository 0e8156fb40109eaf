"""The interface both transports implement, and the status table they share."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Final, Protocol

from grpclib.const import Status

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchResolveScansRequest,
    BatchResolveScansResponse,
    NotFoundDetail,
    NotFoundReason,
)
from services.wire.status_details import detail_value

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


# What a NOT_FOUND's NotFoundDetail says was not found -> the cart's failure for it.
FAILURE_BY_REASON: dict[NotFoundReason, LookupFailure] = {
    NotFoundReason.TENANT: LookupFailure.TENANT_NOT_FOUND,
    NotFoundReason.STORE: LookupFailure.STORE_NOT_FOUND,
    NotFoundReason.ITEM: LookupFailure.NOT_FOUND,
}
NOT_FOUND_DETAIL: Final = "kugel.item.v1.NotFoundDetail"


def failure_of(status: Status, details: Sequence[dict[str, str]]) -> LookupFailure:
    """What the cart makes of a failed call: its status, and for NOT_FOUND the detail that
    names the tenant, store or item (a master-data without it: the item, as before)."""
    failure = FAILURE_BY_STATUS.get(status, LookupFailure.FAILED)
    if failure is not LookupFailure.NOT_FOUND:
        return failure
    for detail in details:
        if detail.get("type") != NOT_FOUND_DETAIL:
            continue
        try:
            reason = NotFoundDetail.parse(detail_value(detail)).reason
        except (binascii.Error, ValueError):
            continue  # a detail we cannot read says nothing
        return FAILURE_BY_REASON.get(reason, failure)
    return failure


class ItemTransport(Protocol):
    """One way of asking master-data for items. Raises ItemLookupError on any failure."""

    name: str

    async def batch(
        self, request: BatchGetItemDetailsRequest, seconds_left: float
    ) -> BatchResult: ...

    async def scans(
        self, request: BatchResolveScansRequest, seconds_left: float
    ) -> BatchResolveScansResponse: ...

    def status(self) -> dict[str, object]:
        """What /readyz may say of where the transport's calls go."""
        ...

    async def close(self) -> None: ...
