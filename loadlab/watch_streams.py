"""What open WatchItemChanges streams cost master-data: its RSS with none, then with N open
(gRPC, 100 streams per HTTP/2 connection, like cart processes holding one each), every stream
confirmed open by master-data's `item_watches_open` gauge, then changes delivered to all while
a normal client (a process of its own) looks items up, and how many log reads master-data made
for them (one shared reader per process: one read per commit, however many watch).

`python -m loadlab.watch_streams [--streams 1000] [--changes 5]` prints the RSS before and
after, the cost per stream, the fan-out time of each change, the lookups' p50 and p99 meanwhile,
and the log reads per change.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvloop
from grpclib.client import Channel

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub, WatchItemChangesRequest
from services.common.process_limits import raise_open_file_limit
from services.wire.grpc import StrictProtoCodec
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import ServiceProcess, start_master_data

from .progress import Progress
from .stats import percentile

PER_CONNECTION = 100


def _gauge(service: ServiceProcess, name: str) -> int:
    found = re.search(rf"^{name} (\S+)$", service.metrics(), re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def _open_watches(service: ServiceProcess) -> int:
    return _gauge(service, "item_watches_open")


@dataclass
class Measured:
    rss_before: int
    rss_after: int
    fan_outs: list[float]
    lookups: list[float]
    log_reads_per_change: float


@dataclass
class Watchers:
    """What the streams have seen, together."""

    streams: int
    started: int = 0
    delivered: Counter[int] = field(default_factory=Counter)  # change sequence -> streams
    all_started: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch(self, channel: Channel) -> None:
        request = WatchItemChangesRequest(tenant_ids=["T0001"])
        first = True
        async for event in ItemServiceStub(channel).watch_item_changes(request):
            if first:  # the opening heartbeat: this watch has its position
                first = False
                self.started += 1
                if self.started == self.streams:
                    self.all_started.set()
            if event.change is not None:
                self.delivered[event.change.sequence] += 1

    def reached_all(self) -> int:
        return sum(1 for count in self.delivered.values() if count == self.streams)


async def _look_up(port: int) -> None:
    """A normal client's lookups, one every 10 ms, until its stdin closes; then their
    latencies (seconds), one a line. A process of its own: the streams' client is busy
    taking a change 10,000 times, and a till is not that process."""
    channel = Channel("127.0.0.1", port, codec=StrictProtoCodec(1 << 20))
    stub = ItemServiceStub(channel)
    request = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    closed = asyncio.create_task(stdin.read())
    lookups = []
    try:
        while not closed.done():
            began = time.perf_counter()
            await stub.get_item_detail(request, timeout=10)
            lookups.append(time.perf_counter() - began)
            await asyncio.sleep(0.01)
    finally:
        channel.close()
    print("\n".join(f"{seconds:.6f}" for seconds in lookups))


class LookupClient:
    """The normal client's process (`_look_up`)."""

    def __init__(self, port: int) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "loadlab.watch_streams", "--look-up", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def stop(self) -> list[float]:
        out, _ = await asyncio.to_thread(self._process.communicate, "", 60)
        return [float(line) for line in out.split()]


async def _change_prices(service: ServiceProcess, watchers: Watchers, changes: int) -> list[float]:
    """Each change's time from the write to its arrival at every stream."""
    fan_outs = []
    async with aiohttp.ClientSession() as session:
        for n in range(changes):
            written = time.monotonic()
            async with session.put(
                service.url() + "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0001",
                json={"unitPrice": 1234 + n},
                headers={"authorization": "Bearer admin"},
            ) as response:
                response.raise_for_status()
            deadline = time.monotonic() + 120
            while watchers.reached_all() <= n and time.monotonic() < deadline:  # noqa: ASYNC110 - counts from many streams
                await asyncio.sleep(0.005)
            fan_outs.append(time.monotonic() - written)
    return fan_outs


async def _measure(service: ServiceProcess, streams: int, changes: int) -> Measured:
    before = rss_kib(service.process.pid) * 1024
    port = service.ports["gRPC"]
    channels = [
        Channel("127.0.0.1", port, codec=StrictProtoCodec(1 << 20))
        for _ in range(-(-streams // PER_CONNECTION))
    ]
    watchers = Watchers(streams)
    tasks = [
        asyncio.create_task(watchers.watch(channels[n // PER_CONNECTION])) for n in range(streams)
    ]
    try:
        progress = Progress(streams, "streams open", unit="streams")
        deadline = time.monotonic() + 300
        while (opened := _open_watches(service)) < streams and time.monotonic() < deadline:
            progress.set(opened)
            await asyncio.sleep(0.5)
        progress.set(_open_watches(service))
        progress.finish()
        await asyncio.wait_for(watchers.all_started.wait(), 120)
        after = rss_kib(service.process.pid) * 1024
        reads_before = _gauge(service, "item_change_log_reads")
        looker = LookupClient(port)
        await asyncio.sleep(1)  # its lookups are running
        fan_outs = await _change_prices(service, watchers, changes)
        lookups = await looker.stop()
        reads = _gauge(service, "item_change_log_reads") - reads_before
        if (opened := _open_watches(service)) < streams:
            raise RuntimeError(f"only {opened} of {streams} streams opened")
        return Measured(before, after, fan_outs, lookups, reads / max(1, changes))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            channel.close()


def run(streams: int, changes: int) -> Measured:
    """master-data on a fresh database, measured with `streams` open and `changes` written."""
    raise_open_file_limit()  # this process holds a connection per 100 streams
    with tempfile.TemporaryDirectory() as folder:
        service = start_master_data(
            Path(folder),
            ADMIN_TOKEN="admin",  # noqa: S106 - a test one
            MAX_WATCHES_PER_TOKEN=str(streams),
        )
        try:
            return uvloop.run(_measure(service, streams, changes))
        finally:
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--look-up", type=int, help=argparse.SUPPRESS)  # the lookups' process
    arguments = parser.parse_args()
    if arguments.look_up:
        uvloop.run(_look_up(arguments.look_up))
        return
    measured = run(arguments.streams, arguments.changes)
    per_stream = (measured.rss_after - measured.rss_before) / arguments.streams
    print(f"master-data RSS: {measured.rss_before / 2**20:.1f} MiB idle, "
          f"{measured.rss_after / 2**20:.1f} MiB with {arguments.streams} streams open: "
          f"{per_stream / 1024:.1f} KiB a stream")  # fmt: skip
    fan_outs = ", ".join(f"{s * 1000:.0f}" for s in measured.fan_outs)
    print(f"each change reached all {arguments.streams} streams in: {fan_outs} ms")
    print(f"master-data's change-log reads per change: {measured.log_reads_per_change:.1f}")
    if measured.lookups:
        print(f"a normal lookup meanwhile ({len(measured.lookups)}): "
              f"p50 {percentile(measured.lookups, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(measured.lookups, 0.99) * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
