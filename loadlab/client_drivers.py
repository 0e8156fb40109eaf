"""The clients of the client matrix, each driven the same way: `in_flight` calls kept in flight
over `connections` channels (or pools) for `seconds`, unary GetItemDetail or open
WatchItemChanges streams, tallied alike. The clients are the ones the rest of the world uses:
Google's grpcio (aio and sync), grpc-go (ghz), grpcurl, the official connectrpc Python client,
Connect's connect-node and Google's grpc-web (tests/interop/node/load.mjs), and our own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pyqwest
from connectrpc.client import ConnectClient
from connectrpc.errors import ConnectError as ConnectRpcError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.protocol import ProtocolType
from grpclib.exceptions import GRPCError, StreamTerminatedError

from gen.kugel.item.v1 import (
    GetItemDetailRequest,
    GetItemDetailResponse,
    ItemServiceStub,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)
from services.rpc.grpc_client import InterceptedChannel
from services.rpc.http_client import RpcHttpClient, RpcProtocol
from services.wire.codec import decode_binary, encode_binary
from services.wire.connect import ConnectError
from services.wire.grpc import StrictProtoCodec

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NODE_LOAD = ROOT / "tests" / "interop" / "node" / "load.mjs"
SERVICE = "kugel.item.v1.ItemService"
LOOKUP = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
WATCH = WatchItemChangesRequest(tenant_ids=["T0001"])
LOOKUP_JSON = '{"tenantId":"T0001","storeCode":"S001","itemCode":"ITEM0005"}'
WATCH_JSON = '{"tenantIds":["T0001"]}'


@dataclass(frozen=True)
class Target:
    """Where a client calls: master-data's ports (HTTP/1.1 on uvicorn, HTTP/2 on Hypercorn)."""

    grpc_port: int
    http1_port: int
    http2_port: int
    token: str
    descriptor_set: Path

    @property
    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")]


@dataclass
class Tally:
    """One cell's outcome: calls (streams, for a watch) completed, failures by code before the
    run's end, latencies of unary calls, messages a watch received."""

    ends_at: float
    calls: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    counts_messages: bool = True  # ghz does not say how many a stream received
    percentiles: tuple[float, float] | None = None  # p50, p99 when the client computed them

    def p50_p99(self) -> tuple[float, float] | None:
        if self.percentiles is not None:
            return self.percentiles
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]

    def failed(self, code: str, message: str) -> None:
        if time.monotonic() < self.ends_at:  # a call cut off by the run's end is no failure
            self.failures[code] += 1
            self.first_error.setdefault(code, message[:200])

    def ok(self, started: float) -> None:
        self.calls += 1
        self.latencies.append(time.monotonic() - started)

    @property
    def open(self) -> bool:
        return time.monotonic() < self.ends_at


Driver = Callable[[Target, str, int, int, float], Awaitable[Tally]]


async def _spread(in_flight: int, work: Callable[[int], Awaitable[None]]) -> None:
    await asyncio.gather(*(work(n) for n in range(in_flight)))


async def _watch_until(tally: Tally, stream: Any) -> None:
    """Read a watch until the run's end; an end or error before it is a failure."""
    tally.calls += 1
    try:
        async with asyncio.timeout(max(0.0, tally.ends_at - time.monotonic())):
            async for _ in stream:
                tally.messages += 1
        tally.failed("ENDED", "the stream ended before the run did")
    except TimeoutError:
        pass


async def grpcio_aio(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    tally = Tally(time.monotonic() + secs)
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") for _ in range(conns)]
    lookups = [
        c.unary_unary(
            f"/{SERVICE}/GetItemDetail",
            request_serializer=bytes,
            response_deserializer=GetItemDetailResponse.parse,
        )
        for c in channels
    ]
    watches = [
        c.unary_stream(
            f"/{SERVICE}/WatchItemChanges",
            request_serializer=bytes,
            response_deserializer=WatchItemChangesResponse.parse,
        )
        for c in channels
    ]

    async def work(n: int) -> None:
        if kind == "watch":
            try:
                await _watch_until(tally, watches[n % conns](WATCH, metadata=target.metadata))
            except grpc.aio.AioRpcError as error:
                tally.failed(error.code().name, str(error.details()))
            return
        lookup = lookups[n % conns]
        while tally.open:
            started = time.monotonic()
            try:
                await lookup(LOOKUP, timeout=5, metadata=target.metadata)
                tally.ok(started)
            except grpc.aio.AioRpcError as error:
                tally.failed(error.code().name, str(error.details()))

    try:
        await _spread(in_flight, work)
    finally:
        for channel in channels:
            await channel.close()
    return tally


async def grpcio_sync(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    tally = Tally(time.monotonic() + secs)
    lock = threading.Lock()
    channels = [grpc.insecure_channel(f"127.0.0.1:{target.grpc_port}") for _ in range(conns)]

    def work(n: int) -> None:
        channel = channels[n % conns]
        if kind == "watch":
            watch = channel.unary_stream(
                f"/{SERVICE}/WatchItemChanges",
                request_serializer=bytes,
                response_deserializer=WatchItemChangesResponse.parse,
            )
            stream = watch(WATCH, metadata=target.metadata)
            threading.Timer(max(0.0, tally.ends_at - time.monotonic()), stream.cancel).start()
            with lock:
                tally.calls += 1
            try:
                for _ in stream:
                    with lock:
                        tally.messages += 1
                with lock:
                    tally.failed("ENDED", "the stream ended before the run did")
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    with lock:
                        tally.failed(error.code().name, str(error.details()))
            return
        lookup = channel.unary_unary(
            f"/{SERVICE}/GetItemDetail",
            request_serializer=bytes,
            response_deserializer=GetItemDetailResponse.parse,
        )
        while tally.open:
            started = time.monotonic()
            try:
                lookup(LOOKUP, timeout=5, metadata=target.metadata)
                with lock:
                    tally.ok(started)
            except grpc.RpcError as error:
                with lock:
                    tally.failed(error.code().name, str(error.details()))

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(in_flight)]
    for thread in threads:
        thread.start()

    def join() -> None:
        for thread in threads:
            thread.join(secs + 30)

    await asyncio.to_thread(join)
    for channel in channels:
        channel.close()
    return tally


async def ghz(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    """grpc-go through ghz: `-c` workers over `--connections` connections for `-z` seconds."""
    tally = Tally(time.monotonic() + secs + 1, counts_messages=False)
    method, data = (
        ("WatchItemChanges", WATCH_JSON) if kind == "watch" else ("GetItemDetail", LOOKUP_JSON)
    )
    argv = [str(BIN / "ghz"), "--insecure", "-c", str(in_flight), "--connections", str(conns),
            "-z", f"{secs}s", "-O", "json", "--call", f"{SERVICE}/{method}", "-d", data,
            "-m", json.dumps({"authorization": f"Bearer {target.token}"}),
            "--protoset", str(target.descriptor_set), f"127.0.0.1:{target.grpc_port}"]  # fmt: skip
    if kind == "watch":  # each call a stream held open for the run
        argv[1:1] = ["--stream-call-duration", f"{secs}s", "--timeout", f"{secs + 10}s"]
    result = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=secs + 60, check=False
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tally.failed("GHZ", result.stderr or result.stdout)
        return tally
    details = report.get("details") or []
    # ghz ends the calls in flight at -z as "client connection is closing", and a call starting
    # at that instant as "transport is closing" (its timestamps cannot tell when): at most one
    # a worker. More than that means the connection was closed under the calls mid-run.
    closing = [d for d in details if "transport is closing" in d.get("error", "")]
    cancelled = [d for d in details if "client connection is closing" in d.get("error", "")]
    run_end = len(closing) + len(cancelled) <= in_flight
    for detail in details:
        error = detail.get("error", "")
        if not error:
            tally.calls += 1
            tally.latencies.append(detail["latency"] / 1e9)
        elif (
            detail in cancelled
            or (run_end and detail in closing)
            or (kind == "watch" and detail.get("status") in ("Canceled", "DeadlineExceeded"))
        ):
            tally.calls += kind == "watch"  # ended by ghz itself at -z: not a failure
        else:
            tally.failures[detail.get("status", "UNKNOWN")] += 1
            tally.first_error.setdefault(detail.get("status", "UNKNOWN"), error[:200])
    return tally


async def grpcurl(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    """grpcurl, a process per call (so `connections` is one a call); `in_flight` at once."""
    tally = Tally(time.monotonic() + secs)
    method, data = (
        ("WatchItemChanges", WATCH_JSON) if kind == "watch" else ("GetItemDetail", LOOKUP_JSON)
    )
    base = [str(BIN / "grpcurl"), "-plaintext", "-H", f"authorization: Bearer {target.token}",
            "-d", data]  # fmt: skip
    address = [f"127.0.0.1:{target.grpc_port}", f"{SERVICE}/{method}"]

    async def once(extra: list[str]) -> tuple[int, bytes, bytes]:
        process = await asyncio.create_subprocess_exec(
            *base, *extra, *address, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await process.communicate()
        return process.returncode or 0, out, err

    async def work(worker: int) -> None:
        del worker  # every grpcurl process is alike
        if kind == "watch":
            tally.calls += 1
            left = max(1.0, tally.ends_at - time.monotonic())
            code, out, err = await once(["-max-time", f"{left:.1f}"])
            tally.messages += out.count(b"\n}")
            if b"DeadlineExceeded" not in err:
                tally.failed("ENDED" if code == 0 else "ERROR", err.decode(errors="replace"))
            return
        while tally.open:
            started = time.monotonic()
            code, _, err = await once(["-max-time", "5"])
            if code == 0:
                tally.ok(started)
            else:
                tally.failed("ERROR", err.decode(errors="replace"))

    await _spread(in_flight, work)
    return tally


class ProtoCodec:
    """connectrpc's Codec protocol over the project's binary codec."""

    def name(self) -> str:
        return "proto"

    def encode(self, message: Any) -> bytes:
        return encode_binary(message)

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        return decode_binary(bytes(data), message_class, 1 << 22)


def _method(name: str, request: type[Any], reply: type[Any], stream: StreamType) -> Any:
    return MethodInfo(
        name=name,
        service_name=SERVICE,
        input=request,
        output=reply,
        idempotency_level=IdempotencyLevel.NO_SIDE_EFFECTS,
        stream_type=stream,
    )


GET_ITEM = _method("GetItemDetail", GetItemDetailRequest, GetItemDetailResponse, StreamType.UNARY)
WATCH_ITEMS = _method(
    "WatchItemChanges", WatchItemChangesRequest, WatchItemChangesResponse, StreamType.SERVER_STREAM
)


def connectrpc(protocol: ProtocolType) -> Driver:
    """The official connectrpc client: Connect and gRPC-Web on the HTTP/1.1 port (a pool of
    connections per client), gRPC over HTTP/2 on the gRPC port (one connection per client)."""

    async def drive(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
        tally = Tally(time.monotonic() + secs)
        grpc_ = protocol is ProtocolType.GRPC
        port = target.grpc_port if grpc_ else target.http1_port
        version = pyqwest.HTTPVersion.HTTP2 if grpc_ else None
        headers = dict(target.metadata)
        async with contextlib.AsyncExitStack() as stack:
            clients = []
            for _ in range(conns):
                http: Any = pyqwest.HTTPTransport(http_version=version)
                transport = await stack.enter_async_context(http)
                clients.append(
                    await stack.enter_async_context(
                        ConnectClient(
                            f"http://127.0.0.1:{port}",
                            codec=ProtoCodec(),
                            protocol=protocol,
                            http_client=pyqwest.Client(transport),
                            timeout_ms=None if kind == "watch" else 5000,  # a watch stays open
                        )
                    )
                )

            async def work(n: int) -> None:
                client = clients[n % conns]
                if kind == "watch":
                    try:
                        stream = client.execute_server_stream(
                            request=WATCH, method=WATCH_ITEMS, headers=headers
                        )
                        await _watch_until(tally, stream)
                    except ConnectRpcError as error:
                        tally.failed(error.code.name, error.message)
                    return
                while tally.open:
                    started = time.monotonic()
                    try:
                        await client.execute_unary(request=LOOKUP, method=GET_ITEM, headers=headers)
                        tally.ok(started)
                    except ConnectRpcError as error:
                        tally.failed(error.code.name, error.message)

            await _spread(in_flight, work)
        return tally

    return drive


def node(client: str, http_version: str, port_of: Callable[[Target], int]) -> Driver:
    """A Node.js client of tests/interop/node/load.mjs, one process for the cell."""

    async def drive(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
        config = {"client": client, "url": f"http://127.0.0.1:{port_of(target)}",
                  "httpVersion": http_version, "inFlight": in_flight, "connections": conns,
                  "seconds": secs, "kind": kind, "descriptorSet": str(target.descriptor_set),
                  "authorization": f"Bearer {target.token}"}  # fmt: skip
        result = await asyncio.to_thread(
            subprocess.run,
            ["node", str(NODE_LOAD), json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=secs + 60,
            check=False,
        )
        if result.returncode != 0 or not result.stdout.strip():
            raise RuntimeError(f"load.mjs failed: {result.stderr[-2000:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        tally = Tally(0.0, calls=report["calls"], messages=report["messages"])
        tally.failures.update(report["failures"])
        tally.first_error.update(report["firstError"])
        if report["p50"] is not None:
            tally.percentiles = (report["p50"] / 1000, report["p99"] / 1000)
        return tally

    return drive


async def cart_grpc(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    """Our own: the channel and stubs the cart looks items up and watches changes with."""
    tally = Tally(time.monotonic() + secs)
    channels = [
        InterceptedChannel("127.0.0.1", target.grpc_port, codec=StrictProtoCodec(1 << 22))
        for _ in range(conns)
    ]
    stubs = [ItemServiceStub(c) for c in channels]
    metadata = dict(target.metadata)

    async def work(n: int) -> None:
        stub = stubs[n % conns]
        if kind == "watch":
            try:
                await _watch_until(tally, stub.watch_item_changes(WATCH, metadata=metadata))
            except (GRPCError, StreamTerminatedError) as error:
                tally.failed(type(error).__name__, str(error))
            return
        while tally.open:
            started = time.monotonic()
            try:
                await stub.get_item_detail(LOOKUP, metadata=metadata, timeout=5)
                tally.ok(started)
            except (GRPCError, StreamTerminatedError, OSError) as error:
                tally.failed(type(error).__name__, str(error))

    try:
        await _spread(in_flight, work)
    finally:
        for channel in channels:
            channel.close()
    return tally


async def cart_connect(target: Target, kind: str, in_flight: int, conns: int, secs: float) -> Tally:
    """Our own: the RPC HTTP client of the cart's fallback and Connect change stream."""
    tally = Tally(time.monotonic() + secs)
    clients = [
        RpcHttpClient(
            f"http://127.0.0.1:{target.http1_port}",
            RpcProtocol.CONNECT,
            token=target.token,
            pool_size=max(1, in_flight // conns),
        )
        for _ in range(conns)
    ]
    path = f"/{SERVICE}/"

    async def work(n: int) -> None:
        client = clients[n % conns]
        if kind == "watch":
            try:
                stream = client.server_stream(
                    path + "WatchItemChanges", WATCH, WatchItemChangesResponse
                )
                await _watch_until(tally, stream)
            except ConnectError as error:
                tally.failed(error.code.name, error.message)
            return
        while tally.open:
            started = time.monotonic()
            try:
                await client.unary(path + "GetItemDetail", LOOKUP, GetItemDetailResponse, seconds=5)
                tally.ok(started)
            except ConnectError as error:
                tally.failed(error.code.name, error.message)

    try:
        await _spread(in_flight, work)
    finally:
        for client in clients:
            await client.close()
    return tally
