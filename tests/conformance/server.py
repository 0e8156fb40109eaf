"""The server under test of the Connect conformance suite (`just conformance`).

The runner (`connectconformance --mode server`) starts this program once per server
configuration and writes it a size-delimited ServerCompatRequest on stdin (a 4-byte big-endian
length, then the message); it starts the server asked for on a free port and answers a
ServerCompatResponse on stdout the same way, then serves until SIGTERM.

It serves connectrpc.conformance.v1.ConformanceService through the project's own machinery,
not a second implementation: the handlers sit behind master-data's call gate, on the same
grpclib WireServer (gRPC: codecs, compression, limits, headers, trailers, error details) and
the same generic Connect endpoint on uvicorn (HTTP/1.1) or Hypercorn (HTTP/2, h2c or TLS).
"""

from __future__ import annotations

import asyncio
import signal
import struct
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import uvloop
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from starlette.applications import Starlette
from starlette.routing import Route

from services.common.secrets import BearerToken
from services.common.sockets import listening_socket
from services.common.telemetry import configure_telemetry
from services.common.tls import server_context
from services.http_servers.http_limits import HttpLimits
from services.http_servers.hypercorn_server import hypercorn_server
from services.http_servers.uvicorn_server import http_server, wait_started
from services.rpc.call import current_call
from services.rpc.call_gate import CallGate
from services.rpc.connect_server import ConnectEndpoint, method_table
from services.rpc.grpc_connection import GrpcLimits
from services.rpc.grpc_server import WireServer
from services.rpc.interceptors import intercepted
from services.rpc.rpc_tracing import ServerTracing
from services.wire.status_details import TYPE_URL_PREFIX, type_name
from tests.conformance.gen.connectrpc.conformance.v1 import (
    ConformancePayload,
    ConformancePayloadConnectGetInfo,
    ConformancePayloadRequestInfo,
    ConformanceServiceBase,
    Header,
    HttpVersion,
    IdempotentUnaryRequest,
    IdempotentUnaryResponse,
    Protocol,
    ServerCompatRequest,
    ServerCompatResponse,
    ServerStreamRequest,
    ServerStreamResponse,
    UnaryRequest,
    UnaryResponse,
    UnaryResponseDefinition,
)
from tests.conformance.gen.google.protobuf import Any as AnyMessage
from tests.conformance.gen.google_proto_descriptor_pool import (
    default_google_proto_descriptor_pool as pool,
)

NO_LIMIT_BYTES: Final = 64 * 1024 * 1024  # "no limit" in the request: ours stays bounded
ANY_METHOD: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _headers(pairs: list[tuple[str, str]]) -> list[Header]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return [Header(name=name, value=values) for name, values in grouped.items()]


def _request_info(message: Any) -> ConformancePayloadRequestInfo:
    call = current_call()
    info = ConformancePayloadRequestInfo(
        request_headers=_headers(call.request_headers),
        requests=[AnyMessage(type_url=TYPE_URL_PREFIX + type_name(message), value=bytes(message))],
    )
    if call.timeout_seconds is not None:
        info.timeout_ms = round(call.timeout_seconds * 1000)
    if call.get_query is not None:
        info.connect_get_info = ConformancePayloadConnectGetInfo(
            query_params=_headers(call.get_query)
        )
    return info


async def _respond(message: Any, definition: UnaryResponseDefinition | None) -> ConformancePayload:
    """What the request's response definition asks for: a payload echoing the request, or
    its error with the request echoed in the details; headers and trailers either way."""
    info = _request_info(message)
    if definition is None:
        return ConformancePayload(request_info=info)
    call = current_call()
    call.response_headers += [(h.name, v) for h in definition.response_headers for v in h.value]
    call.response_trailers += [(h.name, v) for h in definition.response_trailers for v in h.value]
    if definition.response_delay_ms:
        await asyncio.sleep(definition.response_delay_ms / 1000)
    if definition.error is not None:
        error = definition.error
        raise GRPCError(Status(error.code.value), error.message, [*error.details, info])
    return ConformancePayload(data=definition.response_data or b"", request_info=info)


class ConformanceService(ConformanceServiceBase):
    """Unary, IdempotentUnary and ServerStream as the suite describes them; Unimplemented is
    left to the generated base (UNIMPLEMENTED); client and bidirectional streams are not served
    (config-server.yaml)."""

    async def server_stream(
        self, message: ServerStreamRequest
    ) -> AsyncIterator[ServerStreamResponse]:
        info = _request_info(message)
        definition = message.response_definition
        if definition is None:
            return
        call = current_call()
        call.response_headers += [(h.name, v) for h in definition.response_headers for v in h.value]
        call.response_trailers += [
            (h.name, v) for h in definition.response_trailers for v in h.value
        ]
        await call.headers_now()
        for n, data in enumerate(definition.response_data):
            if definition.response_delay_ms:
                await asyncio.sleep(definition.response_delay_ms / 1000)
            payload = ConformancePayload(data=data, request_info=info if n == 0 else None)
            yield ServerStreamResponse(payload=payload)
        if definition.error is not None:
            error = definition.error
            details = [*error.details, *([] if definition.response_data else [info])]
            raise GRPCError(Status(error.code.value), error.message, details)

    async def unary(self, message: UnaryRequest) -> UnaryResponse:
        return UnaryResponse(payload=await _respond(message, message.response_definition))

    async def idempotent_unary(self, message: IdempotentUnaryRequest) -> IdempotentUnaryResponse:
        payload = await _respond(message, message.response_definition)
        return IdempotentUnaryResponse(payload=payload)


def _read_request() -> ServerCompatRequest:
    stdin = sys.stdin.buffer
    (length,) = struct.unpack(">I", stdin.read(4))
    return ServerCompatRequest.parse(stdin.read(length))


def _write_response(response: ServerCompatResponse) -> None:
    data = bytes(response)
    sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
    sys.stdout.buffer.flush()


def _tls_files(request: ServerCompatRequest, folder: Path) -> tuple[Path, Path] | None:
    if not request.use_tls or request.server_creds is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(request.server_creds.cert)
    key.write_bytes(request.server_creds.key)
    return cert, key


async def _serve(request: ServerCompatRequest, folder: Path) -> None:
    limit = request.message_receive_limit or NO_LIMIT_BYTES
    telemetry = configure_telemetry("conformance-server")  # traced when OTEL_* asks
    guarded = CallGate(BearerToken(None)).guard(ConformanceService(), authenticate=False)
    if telemetry is not None:
        guarded = intercepted(guarded, [ServerTracing(telemetry.tracer, telemetry.meter)])
    tls = _tls_files(request, folder)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)

    if request.protocol is Protocol.GRPC:
        server = WireServer([guarded], GrpcLimits(max_message_bytes=limit))
        ssl = server_context(*tls, alpn=["h2"]) if tls else None
        await server.start("127.0.0.1", 0, ssl=ssl)
        port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        _answer(request, port)
        await stopped.wait()
        server.close()
        await server.wait_closed()
        return

    endpoint = ConnectEndpoint(method_table([guarded], pool), limit)
    app = Starlette(routes=[Route("/{service}/{method}", endpoint.handle, methods=ANY_METHOD)])
    limits = HttpLimits()
    cert, key = tls if tls else (None, None)
    web: Any
    if request.http_version is HttpVersion._2:
        web = hypercorn_server(
            app,
            grace_seconds=1,
            limits=limits,
            idle_timeout_seconds=30,
            cert_file=cert,
            key_file=key,
        )
    else:
        web = http_server(
            app,
            grace_seconds=1,
            log_level="warning",
            limits=limits,
            idle_timeout_seconds=30,
            cert_file=cert,
            key_file=key,
        )
    sock = listening_socket("127.0.0.1", 0)
    task = asyncio.create_task(web.serve(sockets=[sock]))
    await wait_started(web, task)
    _answer(request, sock.getsockname()[1])
    await stopped.wait()
    endpoint.close_streams()  # streams end with UNAVAILABLE, not cut off by the server's grace
    web.should_exit = True
    await task


def _answer(request: ServerCompatRequest, port: int) -> None:
    pem = request.server_creds.cert if request.use_tls and request.server_creds else b""
    _write_response(ServerCompatResponse(host="127.0.0.1", port=port, pem_cert=pem))


def main() -> None:
    request = _read_request()
    with tempfile.TemporaryDirectory() as folder:
        uvloop.run(_serve(request, Path(folder)))


if __name__ == "__main__":
    main()
