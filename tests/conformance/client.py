"""The client under test of the Connect conformance suite (`just conformance`, client mode).

The runner (`connectconformance --mode client`) starts this program once and writes it
size-delimited ClientCompatRequests on stdin (a 4-byte big-endian length, then the message); for
each it calls the runner's reference server as asked and writes a ClientCompatResponse on stdout
the same way: the reply's headers, payloads, error and trailers. Stdin's end ends the program.

The calls go through the project's own client machinery, not a second implementation: Connect
and gRPC-Web through `services.rpc.http_client.RpcHttpClient` (the cart's HTTP fallback and
change stream), gRPC through `services.rpc.grpc_client.InterceptedChannel` (the grpclib channel
the cart uses) with the StrictProtoCodec. What the reply carried is read from a client
interceptor, so the seam is exercised too. config-client.yaml says what is supported.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import struct
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Final

import betterproto2
import uvloop
from grpclib.const import Cardinality

from services.common.telemetry import configure_telemetry
from services.rpc.client_interceptors import ClientCall, ClientInterceptor
from services.rpc.grpc_client import InterceptedChannel, connect_error_of
from services.rpc.http_client import RpcHttpClient, RpcProtocol
from services.rpc.rpc_tracing import ClientTracing
from services.wire.connect import Code, ConnectError
from services.wire.grpc import StrictProtoCodec
from services.wire.status_details import TYPE_URL_PREFIX
from tests.conformance.gen.connectrpc.conformance.v1 import (
    ClientCompatRequest,
    ClientCompatResponse,
    ClientErrorResult,
    ClientResponseResult,
    Compression,
    ConformancePayload,
    Error,
    Header,
    IdempotentUnaryResponse,
    Protocol,
    ServerStreamResponse,
    UnaryResponse,
    UnimplementedResponse,
)
from tests.conformance.gen.connectrpc.conformance.v1 import Code as ConformanceCode
from tests.conformance.gen.google.protobuf import Any as AnyMessage

SERVICE: Final = "/connectrpc.conformance.v1.ConformanceService/"
UNARY_REPLIES: Final[dict[str, type[betterproto2.Message]]] = {
    "Unary": UnaryResponse,
    "IdempotentUnary": IdempotentUnaryResponse,
    "Unimplemented": UnimplementedResponse,
}
DEFAULT_LIMIT_BYTES: Final = 64 << 20
PARALLEL: Final = 8


class Unsupported(Exception):
    """A case this client cannot run (answered as a ClientErrorResult, not a call's error)."""


class Recorder:
    """The client interceptor that keeps the call record: its headers, trailers and outcome."""

    def __init__(self) -> None:
        self.call: ClientCall | None = None

    def before(self, call: ClientCall) -> None:
        self.call = call

    def after(self, call: ClientCall) -> None:
        self.call = call


def _headers(pairs: Iterable[tuple[str, str]]) -> list[Header]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower(), []).append(value)
    return [Header(name=name, value=values) for name, values in grouped.items()]


def _error(error: ConnectError) -> Error:
    details = [
        AnyMessage(
            type_url=TYPE_URL_PREFIX + detail["type"],
            value=base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4)),
        )
        for detail in error.details
    ]
    code = ConformanceCode[error.code.name]
    return Error(code=code, message=error.message, details=details)


def _tls(request: ClientCompatRequest, alpn: list[str]) -> ssl.SSLContext | None:
    if not request.server_tls_cert:
        return None
    if request.client_tls_creds is not None:
        raise Unsupported("client certificates")
    context = ssl.create_default_context(cadata=request.server_tls_cert.decode())
    context.set_alpn_protocols(alpn)
    return context


class Case:
    """One ClientCompatRequest: the call it asks for, and what came of it."""

    def __init__(self, request: ClientCompatRequest, tracing: ClientTracing | None) -> None:
        self.request = request
        self.recorder = Recorder()
        self.interceptors: list[ClientInterceptor] = [self.recorder]
        if tracing is not None:  # traced when OTEL_* asks: the suite with tracing on
            self.interceptors.insert(0, tracing)
        self.payloads: list[ConformancePayload] = []
        if request.request_delay_ms or len(request.request_messages) != 1:
            raise Unsupported("client and bidirectional streams")
        if request.method not in (*UNARY_REPLIES, "ServerStream"):
            raise Unsupported(f"method {request.method}")
        self.message = request.request_messages[0].unpack()
        self.path = SERVICE + (request.method or "")
        self.seconds = request.timeout_ms / 1000 if request.timeout_ms else None
        self.sent = {h.name: ", ".join(h.value) for h in request.request_headers}
        self.limit = request.message_receive_limit or DEFAULT_LIMIT_BYTES

    async def run(self) -> ClientResponseResult:
        error: ConnectError | None = None
        call = asyncio.ensure_future(self._call())
        cancel = self.request.cancel
        try:
            if cancel is not None and cancel.after_close_send_ms is not None:
                await asyncio.sleep(cancel.after_close_send_ms / 1000)
                call.cancel()
            await call
        except ConnectError as raised:
            error = raised
        except asyncio.CancelledError:
            if not call.cancelled():
                raise
            error = ConnectError(Code.CANCELED, "cancelled by the client")
        except Exception as raised:  # the call's own failure, however the layer spells it
            error = connect_error_of(raised)
        record = self.recorder.call
        headers: Mapping[str, str] = record.reply_headers if record else {}
        return ClientResponseResult(
            response_headers=_headers(headers.items()),
            payloads=self.payloads,
            error=_error(error) if error is not None else None,
            response_trailers=_headers(record.reply_trailers if record else ()),
        )

    def _stop_after(self) -> int | None:
        cancel = self.request.cancel
        return cancel.after_num_responses if cancel is not None else None

    async def _call(self) -> None:
        if self.request.protocol is Protocol.GRPC:
            await self._grpc()
        else:
            await self._http()

    async def _http(self) -> None:
        if self.request.protocol is Protocol.CONNECT:
            protocol = RpcProtocol.CONNECT
        elif self.request.protocol is Protocol.GRPC_WEB:
            protocol = RpcProtocol.GRPC_WEB
        else:
            raise Unsupported(f"protocol {self.request.protocol}")
        tls = _tls(self.request, ["http/1.1"])
        scheme = "https" if tls else "http"
        client = RpcHttpClient(
            f"{scheme}://{self.request.host}:{self.request.port}",
            protocol,
            pool_size=1,
            tls=tls,
            max_message_bytes=self.limit,
            gzip_requests=self.request.compression is Compression.GZIP,
            interceptors=self.interceptors,
        )
        try:
            if self.request.method == "ServerStream":
                replies = client.server_stream(
                    self.path, self.message, ServerStreamResponse, seconds=self.seconds,
                    headers=self.sent,
                )  # fmt: skip
                await self._read(replies)
                return
            reply = await client.unary(
                self.path,
                self.message,
                UNARY_REPLIES[self.request.method or ""],
                seconds=self.seconds,
                headers=self.sent,
                use_get=self.request.use_get_http_method,
            )
            self._keep(reply.message)
        finally:
            await client.close()

    async def _grpc(self) -> None:
        if self.request.compression is Compression.GZIP:
            raise Unsupported("grpclib sends no compressed messages")
        channel = InterceptedChannel(
            self.request.host or "",
            self.request.port,
            codec=StrictProtoCodec(self.limit),
            ssl=_tls(self.request, ["h2"]),
            interceptors=self.interceptors,
        )
        streaming = self.request.method == "ServerStream"
        reply_type = ServerStreamResponse if streaming else UNARY_REPLIES[self.request.method or ""]
        try:
            async with channel.request(
                self.path,
                Cardinality.UNARY_STREAM if streaming else Cardinality.UNARY_UNARY,
                type(self.message),
                reply_type,
                timeout=self.seconds,
                metadata=self.sent,
            ) as stream:
                await stream.send_message(self.message, end=True)
                if streaming:
                    await self._read(_messages(stream))
                else:  # as the generated stubs read it
                    self._keep(await stream.recv_message())
        finally:
            channel.close()

    async def _read(self, replies: AsyncIterator[Any]) -> None:
        stop_after = self._stop_after()
        async for reply in replies:
            self._keep(reply)
            if stop_after is not None and len(self.payloads) >= stop_after:
                await replies.aclose()  # type: ignore[attr-defined]  # an async generator
                raise ConnectError(Code.CANCELED, "cancelled by the client")

    def _keep(self, reply: Any) -> None:
        self.payloads.append(reply.payload or ConformancePayload())


async def _messages(stream: Any) -> AsyncIterator[Any]:
    while (message := await stream.recv_message()) is not None:
        yield message


async def _answer(
    request: ClientCompatRequest, tracing: ClientTracing | None
) -> ClientCompatResponse:
    try:
        result = await Case(request, tracing).run()
    except Unsupported as unsupported:
        return ClientCompatResponse(
            test_name=request.test_name, error=ClientErrorResult(message=str(unsupported))
        )
    return ClientCompatResponse(test_name=request.test_name, response=result)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    slots = asyncio.Semaphore(PARALLEL)
    telemetry = configure_telemetry("conformance-client")
    tracing = ClientTracing(telemetry.tracer, telemetry.meter) if telemetry else None
    running: set[asyncio.Task[None]] = set()

    async def one(request: ClientCompatRequest) -> None:
        async with slots:
            data = bytes(await _answer(request, tracing))
        sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
        sys.stdout.buffer.flush()

    while True:
        try:
            (length,) = struct.unpack(">I", await stdin.readexactly(4))
        except asyncio.IncompleteReadError:
            break
        request = ClientCompatRequest.parse(await stdin.readexactly(length))
        task = asyncio.create_task(one(request))
        running.add(task)
        task.add_done_callback(running.discard)
        await asyncio.sleep(0)
    await asyncio.gather(*running)


def main() -> None:
    uvloop.run(_serve())


if __name__ == "__main__":
    main()
