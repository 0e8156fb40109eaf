"""Per call on the gRPC port: each request's headers checked before any handler runs (ASCII,
:path and :method, content type, grpc-encoding), refusals as trailers-only replies, and the
handler run on a `WireStream` with the call's codec, compression and `CallInfo`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from typing import Any

from grpclib.const import Handler as MethodHandler
from grpclib.const import Status
from grpclib.encoding.base import GRPC_CONTENT_TYPE, CodecBase
from grpclib.exceptions import GRPCError
from grpclib.server import request_handler

from services.wire.grpc import ACCEPT_ENCODING, ENCODINGS, GZIP, IDENTITY, Compression

from .call import CallInfo, opened
from .grpc_connection import GrpcLimits
from .grpc_stream import WireStream
from .grpclib_seams import HookedHandler, cardinality, h2_stream
from .servable import HandlerFunc

log = logging.getLogger(__name__)


async def _refuse(
    stream: Any,
    release_stream: Callable[[], Any],
    status: Status,
    message: str,
    headers: Collection[tuple[str, str]] = (),
) -> None:
    """A trailers-only reply: the call ends with `status` before any handler runs."""
    try:
        await stream.send_headers(
            [
                (":status", "200"),
                ("content-type", GRPC_CONTENT_TYPE),
                ("grpc-status", str(status.value)),
                ("grpc-message", message),
                *headers,
            ],
            end_stream=True,
        )
        if stream.closable:
            stream.reset_nowait()
    finally:
        release_stream()


async def _framed(
    func: HandlerFunc, limits: GrpcLimits, compression: Compression, stream: Any
) -> None:
    remaining = stream.deadline.time_remaining() if stream.deadline is not None else None
    call = CallInfo(
        headers=stream.metadata,
        timeout_seconds=remaining,
        peer=h2_stream(stream).connection,
        transport="grpc",
    )
    wire = WireStream(
        stream,
        limits.max_message_bytes,
        compression,
        call=call,
        send_timeout=limits.stream_send_timeout_seconds,
        read_timeout=limits.first_request_timeout_seconds,
    )
    if cardinality(stream).server_streaming:
        call.send_headers = wire.headers_now
    with opened(call):
        try:
            await func(wire)
        except GRPCError as error:
            if not (call.response_headers or call.response_trailers):
                raise  # grpclib ends the call, details included
            await wire.finish(error)
            return
        finally:
            call.ended()
    await wire.finish(None)


class FramedCalls:
    """Per path and compression (4 kinds), the handler table of one call, its messages framed
    by a WireStream: made once, not per call."""

    def __init__(self, limits: GrpcLimits) -> None:
        self._limits = limits
        self._tables: dict[tuple[str, Compression], dict[str, MethodHandler]] = {}

    def table(
        self, path: str, method: MethodHandler, compression: Compression
    ) -> dict[str, MethodHandler]:
        key = (path, compression)
        table = self._tables.get(key)
        if table is None:
            func = functools.partial(_framed, method.func, self._limits, compression)
            table = self._tables[key] = {path: MethodHandler(func, *method[1:])}
        return table


class CallRouter(HookedHandler):
    """Per connection: checks each request's headers, then runs its handler on a WireStream
    with the call's codec (proto or JSON) and compression."""

    def __init__(
        self,
        mapping: dict[str, MethodHandler],
        codecs: dict[str, CodecBase],
        status_details_codec: Any,
        dispatch: Any,
        framed: FramedCalls,
    ) -> None:
        super().__init__(mapping, codecs["proto"], status_details_codec, dispatch)
        self._codecs = codecs
        self._framed = framed

    def route(self, stream: Any, headers: list[tuple[str, str]] | None, release: Any) -> Any:
        if headers is None:
            log.warning("gRPC request refused: a header is not ASCII")
            return _refuse(stream, release, Status.INVALID_ARGUMENT, "headers must be ASCII")
        fields = dict(headers)
        path, verb = fields.get(":path"), fields.get(":method")
        if not path or not verb:
            log.warning("gRPC request refused: no :path or :method")
            return _refuse(stream, release, Status.INVALID_ARGUMENT, "missing :path or :method")
        base, _, subtype = fields.get("content-type", "").partition("+")
        codec = self._codecs.get(subtype or "proto") if base == GRPC_CONTENT_TYPE else None
        method = self.mapping.get(path)
        if codec is None:  # grpclib answers it: HTTP 415
            return self._run(self.mapping, self.codec, stream, headers, release)
        if method is None:
            return _refuse(stream, release, Status.UNIMPLEMENTED, f"unknown method {path}")
        encoding = fields.get("grpc-encoding", IDENTITY)
        if encoding not in ENCODINGS:
            return _refuse(
                stream,
                release,
                Status.UNIMPLEMENTED,
                f"grpc-encoding {encoding} is not supported",
                [("grpc-accept-encoding", ACCEPT_ENCODING)],
            )
        accepted = {e.strip() for e in fields.get("grpc-accept-encoding", "").split(",")}
        compression = Compression(request_gzip=encoding == GZIP, reply_gzip=GZIP in accepted)
        call = self._framed.table(path, method, compression)
        return self._run(call, codec, stream, headers, release)

    def _run(self, mapping: Any, codec: CodecBase, stream: Any, headers: Any, release: Any) -> Any:
        return request_handler(
            mapping, stream, headers, codec, self.status_details_codec, self.dispatch, release
        )
