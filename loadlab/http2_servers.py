"""master-data's HTTP app over HTTP/2 under three servers: Hypercorn as master-data runs it
(HTTP_SERVER=hypercorn, its guards on), Granian and pyvoy (Envoy) running the same Starlette
app (`loadlab.master_data_asgi`). Each server pinned to core 1, the client to core 0
(`taskset`): the official connectrpc client over HTTP/2 (prior knowledge), Connect and
gRPC-Web, 16 unary GetItemDetail calls in flight on one connection, in interleaved rounds.
Prints each server's CPU per call (every thread of its processes, from /proc schedstat) and
calls a second, medians over the rounds, and their ratio to Hypercorn's.

Granian and pyvoy are not dependencies of the services: `just http2-servers` installs the
pinned versions (pyproject's `http2-lab` extra) first.

    python -m loadlab.http2_servers [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyqwest
from connectrpc.client import ConnectClient
from connectrpc.errors import ConnectError
from connectrpc.protocol import ProtocolType

from tests.support.harness.proc_stats import cpu_ns
from tests.support.harness.processes import start_master_data

from .client_drivers import BIN, GET_ITEM, LOOKUP, ProtoCodec

SERVER_CORE, CLIENT_CORE = "1", "0"
IN_FLIGHT = 16
PROTOCOLS = {"connect": ProtocolType.CONNECT, "grpc-web": ProtocolType.GRPC_WEB}
START_TIMEOUT_SECONDS = 60.0


@dataclass
class Server:
    name: str
    pid: int
    port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tree_cpu_ns(pid: int) -> int:
    """CPU of a process and all its descendants (Granian runs its worker as a child)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += cpu_ns(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in children.read_text().split())
    return total


@contextlib.contextmanager
def _third_party(name: str, database: str) -> Iterator[Server]:
    port = _free_port()
    app = "loadlab.master_data_asgi:app"
    if name == "granian":
        command = [str(BIN / "granian"), "--interface", "asgi", "--http", "2", "--host",
                   "127.0.0.1", "--port", str(port), "--workers", "1", "--runtime-threads",
                   "1", "--loop", "uvloop", "--log-level", "warning", app]  # fmt: skip
    else:
        command = [str(BIN / "pyvoy"), "--address", "127.0.0.1", "--port", str(port),
                   "--worker-threads", "1", "--loop", "uvloop", "--log-level", "warning",
                   "--no-lifespan", app]  # fmt: skip
    env = {**os.environ, "MASTER_DATA_DB": database, "USE_GRPC": "false"}
    process = subprocess.Popen(["taskset", "-c", SERVER_CORE, *command], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_serving(port)
        yield Server(name, process.pid, port)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_serving(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _client_calls(port, "connect", 0.2, quiet=True) > 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"no server answered on port {port} within {START_TIMEOUT_SECONDS:g} s")


def _client_calls(port: int, protocol: str, seconds: float, *, quiet: bool = False) -> int:
    argv = ["taskset", "-c", CLIENT_CORE, sys.executable, "-m", "loadlab.http2_servers",
            "--client", protocol, "--port", str(port), "--seconds", str(seconds)]  # fmt: skip
    for _ in (1, 2):  # pyqwest may abort at exit now and then, after its count: once more
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                                check=False)  # fmt: skip
        if result.stdout.strip().isdigit():  # a count printed, whatever the exit
            return int(result.stdout.strip())
    if quiet:
        return 0
    raise RuntimeError(f"the client failed ({result.returncode}): {result.stderr[-1000:]}")


async def _drive(port: int, protocol: str, seconds: float) -> int:
    """Unary calls over one HTTP/2 connection for `seconds`, IN_FLIGHT at a time."""
    ends = time.monotonic() + seconds
    calls = 0
    http: Any = pyqwest.HTTPTransport(http_version=pyqwest.HTTPVersion.HTTP2)
    async with (
        http as transport,
        ConnectClient(
            f"http://127.0.0.1:{port}",
            codec=ProtoCodec(),
            protocol=PROTOCOLS[protocol],
            http_client=pyqwest.Client(transport),
            timeout_ms=5000,
        ) as client,  # fmt: skip
    ):

        async def work() -> None:
            nonlocal calls
            while time.monotonic() < ends:
                await client.execute_unary(request=LOOKUP, method=GET_ITEM)
                calls += 1

        await asyncio.gather(*(work() for _ in range(IN_FLIGHT)))
    return calls


Runs = dict[tuple[str, str], list[tuple[float, float]]]


def _rounds(servers: list[Server], rounds: int, seconds: float) -> Runs:
    runs: Runs = {}
    cells = [(server, protocol) for server in servers for protocol in PROTOCOLS]
    for server, protocol in cells:
        _client_calls(server.port, protocol, 1.0)  # warm
    for n in range(rounds):
        for server, protocol in cells if n % 2 == 0 else list(reversed(cells)):
            before, started = _tree_cpu_ns(server.pid), time.monotonic()
            calls = _client_calls(server.port, protocol, seconds)
            took = time.monotonic() - started
            cpu = (_tree_cpu_ns(server.pid) - before) / 1e3 / max(calls, 1)
            runs.setdefault((server.name, protocol), []).append((cpu, calls / took))
            print(f"round {n + 1}/{rounds} {server.name} {protocol}: {cpu:.0f} us a call, "
                  f"{calls / took:.0f} calls/s", file=sys.stderr, flush=True)  # fmt: skip
    return runs


def _table(runs: Runs, rounds: int, seconds: float) -> str:
    lines = [
        f"server on core {SERVER_CORE}, connectrpc client on core {CLIENT_CORE}, HTTP/2, "
        f"{IN_FLIGHT} in flight on one connection, {rounds} rounds of {seconds:g} s (medians)",
        "",
        "| server | protocol | server CPU per call (us) | calls/s | CPU vs Hypercorn |",
        "|---|---|---|---|---|",
    ]
    for (name, protocol), cells in runs.items():
        base = statistics.median(c for c, _ in runs[("Hypercorn (master-data)", protocol)])
        cpu = statistics.median(c for c, _ in cells)
        rate = statistics.median(r for _, r in cells)
        lines.append(f"| {name} | {protocol} | {cpu:.0f} | {rate:.0f} | {cpu / base:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        try:
            print(asyncio.run(_drive(args.port, args.client, args.seconds)))
        except (ConnectError, OSError) as failed:
            sys.exit(f"{args.client}: {failed}")
        return
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two cores: the server on one, the client on the other")
    for tool in ("granian", "pyvoy"):
        if not (BIN / tool).exists():
            sys.exit(f"{tool} is not installed: `just http2-servers` installs it")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        master_data = start_master_data(tmp, HTTP_SERVER="hypercorn", USE_GRPC="false")
        database = str(tmp / "master.db")
        subprocess.run(["taskset", "-p", "-c", SERVER_CORE, str(master_data.process.pid)],
                       check=True, capture_output=True)  # fmt: skip
        try:
            with (
                _third_party("granian", database) as granian,
                _third_party("pyvoy", database) as pyvoy,
            ):
                ours = Server("Hypercorn (master-data)", master_data.process.pid,
                              master_data.ports["HTTP"])  # fmt: skip
                runs = _rounds([ours, granian, pyvoy], args.rounds, args.seconds)
        finally:
            master_data.stop()
    print(_table(runs, args.rounds, args.seconds))


if __name__ == "__main__":
    main()
