"""Server interceptors: the RPC layer's seam for work that crosses every rpc (metrics, tracing,
auth beyond the call gate).

An interceptor wraps each handler of a service, on every transport the layer serves (gRPC,
Connect, gRPC-Web: the edge that runs a handler says which in `CallInfo.transport`). It runs
before the handler and after it, unary or server streaming alike (a stream's handler runs until
the stream ends), and sees:

- the method (`RpcMethod`: path, service, name, whether it streams);
- the call (`CallInfo`: request headers, deadline, the response headers and trailers it may
  add to);
- the outcome: `proceed()` returns when the handler did, or raises what it raised (a
  `GRPCError` with its status, `TimeoutError` for a deadline, `CancelledError` for a caller
  gone); the interceptor may observe it and must re-raise it.

It may refuse a call by raising `GRPCError` instead of calling `proceed()`. Interceptors nest
in list order: the first is outermost.

    class Timing:
        async def intercept(self, method, call, proceed):
            started = time.perf_counter()
            try:
                await proceed()
            finally:
                log.info("%s took %.3f s", method.path, time.perf_counter() - started)

    service = intercepted(gate.guard(MyService(), authenticate=True), [Timing()])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .call import CallInfo, current_call
from .servable import HandlerFunc, HandlerTable

Proceed = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RpcMethod:
    path: str  # /package.Service/Method
    service: str  # package.Service
    name: str  # Method
    streaming: bool  # server streaming


class ServerInterceptor(Protocol):
    async def intercept(self, method: RpcMethod, call: CallInfo, proceed: Proceed) -> None: ...


def intercepted(servable: Any, interceptors: Sequence[ServerInterceptor]) -> HandlerTable:
    """The servable (anything with grpclib's `__mapping__`) with every handler wrapped."""
    mapping = servable.__mapping__()
    table = {}
    for path, handler in mapping.items():
        service, _, name = path.strip("/").partition("/")
        method = RpcMethod(path, service, name, handler.cardinality.server_streaming)
        func = handler.func
        for interceptor in reversed(interceptors):
            func = _wrapped(interceptor, method, func)
        table[path] = type(handler)(func, handler.cardinality, handler.request_type,
                                    handler.reply_type)  # fmt: skip
    return HandlerTable(table)


def _wrapped(interceptor: ServerInterceptor, method: RpcMethod, func: HandlerFunc) -> HandlerFunc:
    async def run(stream: Any) -> None:
        await interceptor.intercept(method, current_call(), lambda: func(stream))

    return run
