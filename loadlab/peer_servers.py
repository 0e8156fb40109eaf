"""master-data beside its peers, answering the same GetItemDetail reply: Google's grpc.aio
server, a bare grpclib server, connectrpc's ASGI app on uvicorn, each server pinned to core 1
and each client to core 0 (`taskset`); gRPC servers driven by ghz (grpc-go), Connect servers by
the connectrpc client, 16 calls in flight on one connection, in interleaved rounds. Prints each
server's CPU per call (every thread, from /proc schedstat) and calls a second, medians over the
rounds, and their ratio to master-data's gRPC port.

    python -m loadlab.peer_servers [--rounds 2] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from tests.support.harness.proc_stats import cpu_ns
from tests.support.harness.processes import start_master_data

from .client_drivers import BIN, LOOKUP, LOOKUP_JSON, SERVICE, connectrpc

SERVER_CORE, CLIENT_CORE = "1", "0"
IN_FLIGHT = 16
# The clients of each protocol: grpc-go (ghz) and Google's grpcio; connectrpc's Python client.
CLIENTS = {"grpc": ("ghz", "grpcio"), "connect": ("connectrpc",)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reply(path: Path) -> GetItemDetailResponse:
    return GetItemDetailResponse.parse(path.read_bytes())


async def _serve_grpclib(port: int, reply: GetItemDetailResponse) -> None:
    from grpclib.server import Server  # noqa: PLC0415 - only the peer's own process needs it

    from gen.kugel.item.v1 import ItemServiceBase  # noqa: PLC0415

    class Items(ItemServiceBase):
        async def get_item_detail(self, message: GetItemDetailRequest) -> GetItemDetailResponse:
            return reply

    server = Server([Items()])
    await server.start("127.0.0.1", port)
    print("ready", flush=True)
    await server.wait_closed()


async def _serve_grpc_aio(port: int, reply: GetItemDetailResponse) -> None:
    import grpc  # noqa: PLC0415

    async def get_item_detail(request: GetItemDetailRequest, context: Any) -> Any:
        return reply

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "GetItemDetail": grpc.unary_unary_rpc_method_handler(
                get_item_detail,
                request_deserializer=GetItemDetailRequest.parse,
                response_serializer=bytes,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


def _serve_connectrpc(port: int, reply: GetItemDetailResponse) -> None:
    import uvicorn  # noqa: PLC0415
    from connectrpc.server import ConnectASGIApplication, Endpoint  # noqa: PLC0415

    from .client_drivers import GET_ITEM, ProtoCodec  # noqa: PLC0415

    async def get_item_detail(request: GetItemDetailRequest, context: Any) -> Any:
        return reply

    class Items(ConnectASGIApplication[object]):
        @property
        def path(self) -> str:
            return f"/{SERVICE}"

    app = Items(
        service=object(),
        endpoints=lambda _: {
            f"/{SERVICE}/GetItemDetail": Endpoint.unary(GET_ITEM, get_item_detail)
        },
        codecs=[ProtoCodec()],
    )
    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop",
                http="httptools", access_log=False)  # fmt: skip


@dataclass
class Peer:
    name: str
    protocol: str  # grpc | connect
    pid: int
    port: int


@contextmanager
def _peer_process(kind: str, reply_file: Path) -> Iterator[Peer]:
    port = _free_port()
    argv = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "loadlab.peer_servers",
            "--serve", kind, "--port", str(port), "--reply", str(reply_file)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        if process.stdout is None or process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {kind} peer did not start")
        time.sleep(0.5)  # uvicorn binds just after saying so
        protocol = "connect" if kind == "connectrpc" else "grpc"
        yield Peer(kind, protocol, process.pid, port)
    finally:
        process.terminate()
        process.wait(10)


def _ghz(port: int, seconds: float) -> int:
    argv = ["taskset", "-c", CLIENT_CORE, str(BIN / "ghz"), "--insecure", "-c", str(IN_FLIGHT),
            "--connections", "1", "-z", f"{seconds}s", "-O", "json", "--call",
            f"{SERVICE}/GetItemDetail", "-d", LOOKUP_JSON, "--protoset", str(_PROTOSET),
            f"127.0.0.1:{port}"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    report = json.loads(result.stdout)
    return int(report["statusCodeDistribution"].get("OK", 0))


def _python_client(client: str, port: int, seconds: float) -> int:
    argv = ["taskset", "-c", CLIENT_CORE, sys.executable, "-m", "loadlab.peer_servers",
            "--client", client, "--port", str(port), "--seconds", str(seconds)]  # fmt: skip
    for attempt in (1, 2):  # grpcio or pyqwest may abort at exit now and then: once more
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                                check=attempt == 2)  # fmt: skip
        if result.returncode == 0:
            break
    return int(result.stdout.strip())


async def _drive(client: str, port: int, seconds: float) -> int:
    """One Python client's calls in `seconds`: connectrpc over Connect, or grpcio's aio."""
    from connectrpc.protocol import ProtocolType  # noqa: PLC0415

    from .client_drivers import Target, grpcio_aio  # noqa: PLC0415

    target = Target(port, port, 0, "unused", Path())
    drive = connectrpc(ProtocolType.CONNECT) if client == "connectrpc" else grpcio_aio
    tally = await drive(target, "unary", IN_FLIGHT, 1, seconds)
    if tally.failures:
        raise RuntimeError(f"{client}: {dict(tally.first_error)}")
    return tally.calls


_PROTOSET = Path()


def measure(peer: Peer, client: str, seconds: float) -> tuple[float, float]:
    """(server CPU us per call, calls a second) of one run of `client`."""
    before = cpu_ns(peer.pid)
    started = time.monotonic()
    if client == "ghz":
        calls = _ghz(peer.port, seconds)
    else:
        calls = _python_client(client, peer.port, seconds)
    took = time.monotonic() - started
    return (cpu_ns(peer.pid) - before) / 1e3 / max(calls, 1), calls / took


def main() -> None:
    global _PROTOSET  # noqa: PLW0603 - set once, before any measurement
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reply", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvloop  # noqa: PLC0415

        reply = _reply(args.reply)
        if args.serve == "connectrpc":
            _serve_connectrpc(args.port, reply)
        else:
            serve = _serve_grpclib if args.serve == "grpclib" else _serve_grpc_aio
            uvloop.run(serve(args.port, reply))
        return
    if args.client:
        print(asyncio.run(_drive(args.client, args.port, args.seconds)))
        return
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores: the server on one, the client on the other")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        _PROTOSET = tmp / "set.binpb"
        subprocess.run([str(BIN / "buf"), "build", "proto", "-o", str(_PROTOSET)], check=True,
                       timeout=120)  # fmt: skip
        master_data = start_master_data(tmp)
        subprocess.run(["taskset", "-p", "-c", SERVER_CORE, str(master_data.process.pid)],
                       check=True, capture_output=True)  # fmt: skip
        try:
            results = _rounds(master_data, tmp, args.rounds, args.seconds)
        finally:
            master_data.stop()
    print(_table(results, args.rounds, args.seconds))


Runs = dict[tuple[str, str], list[tuple[float, float]]]


def _rounds(master_data: Any, tmp: Path, rounds: int, seconds: float) -> Runs:
    import grpc  # noqa: PLC0415

    with grpc.insecure_channel(f"127.0.0.1:{master_data.ports['gRPC']}") as channel:
        call = channel.unary_unary(f"/{SERVICE}/GetItemDetail", request_serializer=bytes,
                                   response_deserializer=GetItemDetailResponse.parse)  # fmt: skip
        reply_file = tmp / "reply.bin"
        reply_file.write_bytes(bytes(call(LOOKUP, timeout=5)))
    results: Runs = {}
    with (
        _peer_process("grpclib", reply_file) as bare,
        _peer_process("grpc-aio", reply_file) as aio,
        _peer_process("connectrpc", reply_file) as asgi,
    ):
        peers = [
            Peer("master-data gRPC", "grpc", master_data.process.pid, master_data.ports["gRPC"]),
            Peer("bare grpclib", "grpc", bare.pid, bare.port),
            Peer("grpc.aio (Google)", "grpc", aio.pid, aio.port),
            Peer("master-data Connect", "connect", master_data.process.pid,
                 master_data.ports["HTTP"]),
            Peer("connectrpc ASGI on uvicorn", "connect", asgi.pid, asgi.port),
        ]  # fmt: skip
        runs = [(peer, client) for peer in peers for client in CLIENTS[peer.protocol]]
        for peer, client in runs:
            measure(peer, client, 1.0)  # warm
        for n in range(rounds):
            for peer, client in runs if n % 2 == 0 else reversed(runs):
                cpu, rate = measure(peer, client, seconds)
                results.setdefault((peer.name, client), []).append((cpu, rate))
                print(f"round {n + 1}/{rounds} {peer.name} <- {client}: {cpu:.0f} us a call, "
                      f"{rate:.0f} calls/s", file=sys.stderr, flush=True)  # fmt: skip
    return results


def _table(results: Runs, rounds: int, seconds: float) -> str:
    lines = [
        f"server pinned to core {SERVER_CORE}, client to core {CLIENT_CORE}, {IN_FLIGHT} in "
        f"flight on one connection, {rounds} rounds of {seconds:g} s (medians)",
        "",
        "| server | client | server CPU per call (us) | calls/s | CPU vs master-data gRPC |",
        "|---|---|---|---|---|",
    ]
    for (name, client), runs in results.items():
        base_runs = (
            results.get(("master-data gRPC", client)) or results[("master-data gRPC", "ghz")]
        )
        base = statistics.median(cpu for cpu, _ in base_runs)
        cpu = statistics.median(c for c, _ in runs)
        rate = statistics.median(r for _, r in runs)
        lines.append(f"| {name} | {client} | {cpu:.0f} | {rate:.0f} | {cpu / base:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
