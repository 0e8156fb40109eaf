"""Where the cart reads master-data's WatchItemChanges stream from: gRPC (the generated stub on
a channel of its own) or the Connect endpoint (server streaming over HTTP/1.1, aiohttp)."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Final, Protocol

import aiohttp
from grpclib.client import Channel

from gen.kugel.item.v1 import ItemServiceStub, WatchItemChangesRequest, WatchItemChangesResponse
from services.wire.codec import decode_binary, encode_binary
from services.wire.compression import inflate_gzip
from services.wire.connect import (
    COMPRESSED,
    END_STREAM,
    ENVELOPE_PREFIX,
    PROTOCOL_VERSION_HEADER,
    STREAM_PROTO,
    Code,
    envelope,
    envelope_head,
    error_from_reply,
)
from services.wire.grpc import StrictProtoCodec

from .target import parse_target

PATH: Final = "/kugel.item.v1.ItemService/WatchItemChanges"
MAX_MESSAGE_BYTES: Final = 4 << 20
CONNECT_TIMEOUT_SECONDS: Final = 5.0  # opening the stream; then the watch's idle timeout rules


class WatchFailed(Exception):
    """The stream ended with an error; `unimplemented` when master-data has no such rpc."""

    def __init__(self, message: str, *, unimplemented: bool = False) -> None:
        super().__init__(message)
        self.unimplemented = unimplemented


class ChangeSource(Protocol):
    name: str

    def stream(self, request: WatchItemChangesRequest) -> AsyncIterator[WatchItemChangesResponse]:
        """The events, until the server ends the stream (or an error is raised)."""
        ...

    async def close(self) -> None: ...


class GrpcChanges:
    """WatchItemChanges over gRPC."""

    name = "grpc"

    def __init__(self, target: str, token: str | None, tls: ssl.SSLContext | None) -> None:
        self._host, self._port = parse_target(target)
        self._tls = tls
        self._metadata = {"authorization": f"Bearer {token}"} if token else None
        self._channel: Channel | None = None

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        if self._channel is None:
            codec = StrictProtoCodec(MAX_MESSAGE_BYTES)
            self._channel = Channel(self._host, self._port, codec=codec, ssl=self._tls)
        stub = ItemServiceStub(self._channel)
        async for event in stub.watch_item_changes(request, metadata=self._metadata):
            yield event

    async def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


class ConnectChanges:
    """WatchItemChanges over Connect server streaming: enveloped binary messages, then the
    end-stream message (its error, if any)."""

    name = "http"

    def __init__(self, base_url: str, token: str | None, tls: ssl.SSLContext | None) -> None:
        self._url = base_url.rstrip("/") + PATH
        self._tls: ssl.SSLContext | bool = tls if tls is not None else True
        self._headers = {
            "content-type": STREAM_PROTO,
            PROTOCOL_VERSION_HEADER: "1",
            "connect-accept-encoding": "gzip",
        }
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._session: aiohttp.ClientSession | None = None

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1, ssl=self._tls),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_SECONDS),
            )
        body = envelope(0, encode_binary(request))
        async with self._session.post(self._url, data=body, headers=self._headers) as response:
            if response.status != 200:
                error = error_from_reply(response.status, await response.read())
                raise WatchFailed(error.message, unimplemented=error.code is Code.UNIMPLEMENTED)
            while True:
                head = await response.content.readexactly(ENVELOPE_PREFIX)
                flags, length = envelope_head(head)
                if length > MAX_MESSAGE_BYTES:
                    raise WatchFailed(f"a streamed message of {length} bytes")
                message = await response.content.readexactly(length)
                if flags & COMPRESSED:
                    message = inflate_gzip(message, MAX_MESSAGE_BYTES)
                if flags & END_STREAM:
                    _raise_end_stream_error(message)
                    return
                yield decode_binary(message, WatchItemChangesResponse, MAX_MESSAGE_BYTES)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _raise_end_stream_error(message: bytes) -> None:
    end = json.loads(message or b"{}")
    error = end.get("error")
    if error:
        code = str(error.get("code", "unknown"))
        raise WatchFailed(
            f"{code}: {error.get('message', '')}", unimplemented=code == Code.UNIMPLEMENTED.value
        )
