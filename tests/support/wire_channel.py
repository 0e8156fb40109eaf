"""A grpclib Channel to our own gRPC engine in this process: `WireServer` with its guarded
connections, call router and framed streams (services.rpc), listening on a Unix socket in a
temporary folder. grpclib's `ChannelFor` runs grpclib's stock server instead, so tests through
it never reach our dispatch, stream or guards."""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import Any

from grpclib.client import Channel
from grpclib.encoding.base import CodecBase

from services.rpc.grpc_connection import GrpcLimits
from services.rpc.grpc_server import WireServer
from services.wire.grpc import StrictProtoCodec
from services.wire.status_details import StatusDetailsCodec


class WireChannelFor:
    """`async with WireChannelFor(handlers, limits) as channel:` a channel to a WireServer
    serving `handlers`; `.server` is the server (its connections, its limits)."""

    def __init__(
        self,
        handlers: Collection[Any],
        limits: GrpcLimits | None = None,
        codec: CodecBase | None = None,
    ) -> None:
        self._limits = limits or GrpcLimits(max_message_bytes=4 * 1024 * 1024)
        self._codec = codec or StrictProtoCodec(self._limits.max_message_bytes)
        self.server = WireServer(handlers, self._limits)
        self._folder = tempfile.TemporaryDirectory()
        self._channel: Channel | None = None

    async def __aenter__(self) -> Channel:
        path = str(Path(self._folder.name) / "grpc.sock")
        await self.server.start(path=path)
        self._channel = Channel(
            path=path, codec=self._codec, status_details_codec=StatusDetailsCodec()
        )
        return self._channel

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._channel is not None:
            self._channel.close()
        self.server.close()
        await self.server.wait_closed()
        self._folder.cleanup()
