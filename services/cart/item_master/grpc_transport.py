"""Item lookups over gRPC: the generated ItemServiceStub on one shared grpclib Channel."""

from __future__ import annotations

import ssl

import h2.exceptions
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from gen.kugel.item.v1 import BatchGetItemDetailsRequest, ItemServiceStub
from services.rpc.grpc_client import InterceptedChannel
from services.wire.grpc import StrictProtoCodec

from .model import BatchResult, ItemLookupError, LookupFailure
from .target import parse_target
from .transport import FAILURE_BY_STATUS, MAX_REPLY_BYTES


class GrpcTransport:
    """One Channel per process and target, opened on first use; grpclib reconnects by itself."""

    name = "grpc"

    def __init__(self, target: str, token: str | None, tls: ssl.SSLContext | None = None) -> None:
        self._host, self._port = parse_target(target)
        self._tls = tls
        self._metadata = {"authorization": f"Bearer {token}"} if token else None
        self._stub: ItemServiceStub | None = None
        self._channel: InterceptedChannel | None = None

    def _get_stub(self) -> ItemServiceStub:
        if self._stub is None:
            self._channel = InterceptedChannel(
                self._host, self._port, codec=StrictProtoCodec(MAX_REPLY_BYTES), ssl=self._tls
            )
            self._stub = ItemServiceStub(self._channel)
        return self._stub

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        try:
            reply = await self._get_stub().batch_get_item_details(
                request, timeout=seconds_left, metadata=self._metadata
            )
        except GRPCError as error:
            failure = FAILURE_BY_STATUS.get(error.status, LookupFailure.FAILED)
            raise ItemLookupError(
                failure,
                error.message or error.status.name,
                timed_out=error.status is Status.DEADLINE_EXCEEDED,
            ) from None
        except TimeoutError:
            raise ItemLookupError(
                LookupFailure.UNAVAILABLE, "gRPC deadline exceeded", timed_out=True
            ) from None
        except (OSError, StreamTerminatedError, h2.exceptions.ProtocolError) as error:
            raise ItemLookupError(LookupFailure.UNAVAILABLE, f"gRPC unreachable: {error}") from None
        return BatchResult.from_reply(reply)

    async def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stub = None
