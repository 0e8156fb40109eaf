"""Server RPC metrics as an interceptor, in the names gRPC dashboards already use
(go-grpc-prometheus): `grpc_server_started_total`, `grpc_server_handled_total` and the
`grpc_server_handling_seconds` histogram, labelled by service, method, type, code and the
transport the call came on (`grpc`, `connect`, `grpc-web`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final

from grpclib.const import Status
from grpclib.exceptions import GRPCError
from prometheus_client import CollectorRegistry, Counter, Histogram

from .call import CallInfo
from .interceptors import Proceed, RpcMethod

BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_CODE_NAMES: Final = {s: "".join(p.title() for p in s.name.split("_")) for s in Status}
_CODE_NAMES[Status.OK] = "OK"  # as grpc-go spells codes: OK, NotFound, DeadlineExceeded, ...


def code_of(error: BaseException | None) -> str:
    if error is None:
        return "OK"
    if isinstance(error, GRPCError):
        return _CODE_NAMES[error.status]
    if isinstance(error, TimeoutError):
        return _CODE_NAMES[Status.DEADLINE_EXCEEDED]
    if isinstance(error, asyncio.CancelledError):
        return _CODE_NAMES[Status.CANCELLED]
    return _CODE_NAMES[Status.UNKNOWN]


class RpcMetrics:
    """Counts and times every rpc it wraps."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("grpc_type", "grpc_service", "grpc_method", "transport")
        self._started = Counter(
            "grpc_server_started_total", "RPCs started on the server", labels, registry=registry
        )
        self._handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, whatever their outcome",
            (*labels, "grpc_code"),
            registry=registry,
        )
        self._series: dict[tuple[str, str], _Series] = {}
        self._seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the handler's start to its end (a stream: its whole life)",
            labels,
            buckets=BUCKETS,
            registry=registry,
        )

    async def intercept(self, method: RpcMethod, call: CallInfo, proceed: Proceed) -> None:
        key = (method.path, call.transport or "grpc")
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._made(method, key[1])
        series.started.inc()
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            await proceed()
        except BaseException as failed:
            error = failed
            raise
        finally:
            series.seconds.observe(time.perf_counter() - started)
            code = code_of(error)
            handled = series.handled.get(code)
            if handled is None:
                handled = series.handled[code] = self._handled.labels(*series.labels, code)
            handled.inc()

    def _made(self, method: RpcMethod, transport: str) -> _Series:
        labels = ("server_stream" if method.streaming else "unary", method.service, method.name,
                  transport)  # fmt: skip
        return _Series(labels, self._started.labels(*labels), self._seconds.labels(*labels), {})


@dataclass(slots=True)
class _Series:
    """One method's children of the three metrics on one transport, looked up once (a
    `labels()` lookup per call cost ~1.5 us each, measured)."""

    labels: tuple[str, ...]
    started: Any
    seconds: Any
    handled: dict[str, Any]
