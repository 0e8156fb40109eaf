"""WatchItemChanges clients that grant a huge HTTP/2 window and never read their socket: the
server's writes back up until the transport is paused, and then not even an error can be
written. Each such connection is closed within WATCH_SEND_TIMEOUT_SECONDS of its stall, the
open-watch gauge returns to the truth, master-data's RSS stays within 150 MB of where it
started, and a normal lookup is answered within 1 s throughout."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from pathlib import Path

import h2.config
import h2.connection
import h2.settings

from gen.kugel.item.v1 import WatchItemChangesRequest
from tests.support.h2_client import call, frame
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import start_master_data

WATCH = "/kugel.item.v1.ItemService/WatchItemChanges"
HEALTH = "/grpc.health.v1.Health/Check"
CONNECTIONS, STREAMS = 2, 100
SEND_TIMEOUT = 2.0


def watches_open(metrics: str) -> float:
    found = re.search(r"^item_watches_open (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else -1


def stalled_watcher(port: int, closed: list[bool], stop: threading.Event) -> None:
    """One connection of STREAMS watches that never reads its socket; then, once told to,
    reads to see whether the server has closed it."""
    config = h2.config.H2Configuration(client_side=True)
    connection = h2.connection.H2Connection(config)
    connection.local_settings = h2.settings.Settings(
        client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1}
    )
    connection.initiate_connection()
    connection.increment_flow_control_window(2**31 - 1 - 65_535)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small receive buffer
    sock.connect(("127.0.0.1", port))
    with sock:
        request = frame(bytes(WatchItemChangesRequest(tenant_ids=["T0001"])))
        for _ in range(STREAMS):
            stream = connection.get_next_available_stream_id()
            connection.send_headers(stream, [
                (":method", "POST"), (":scheme", "http"), (":path", WATCH), (":authority", "x"),
                ("content-type", "application/grpc"), ("te", "trailers"),
            ])  # fmt: skip
            connection.send_data(stream, request, end_stream=True)
        sock.sendall(connection.data_to_send())
        stop.wait(60)  # never reads while the changes pile up
        sock.settimeout(10)
        try:
            while sock.recv(1 << 20):
                pass
            closed.append(True)  # the server closed it
        except ConnectionResetError:
            closed.append(True)
        except TimeoutError:
            closed.append(False)


def test_watchers_that_never_read_are_disconnected(tmp_path: Path) -> None:
    master_data = start_master_data(
        tmp_path, ADMIN_TOKEN="admin", WATCH_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT)
    )
    try:
        port = master_data.ports["gRPC"]
        start_rss = rss_kib(master_data.process.pid)
        closed: list[bool] = []
        stop = threading.Event()
        watchers = [
            threading.Thread(target=stalled_watcher, args=(port, closed, stop))
            for _ in range(CONNECTIONS)
        ]
        for watcher in watchers:
            watcher.start()
        deadline = time.monotonic() + 10
        while watches_open(master_data.metrics()) < CONNECTIONS * STREAMS:
            assert time.monotonic() < deadline, master_data.metrics()
            time.sleep(0.05)
        prices = {"storePrices": [
            {"tenantId": "T0001", "storeCode": "S001", "itemCode": f"ITEM{n:04d}", "unitPrice": 100}
            for n in range(1, 301)
        ]}  # fmt: skip
        took, peak = [], start_rss
        for round_no in range(40):  # 40 imports, each a change naming 300 items, to every watch
            for entry in prices["storePrices"]:
                entry["unitPrice"] = 100 + round_no
            upload = urllib.request.Request(  # noqa: S310 - loopback, our own server
                master_data.url() + "/admin/v1/import",
                data=json.dumps(prices).encode(),
                headers={"authorization": "Bearer admin", "content-type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(upload, timeout=10) as reply:  # noqa: S310
                assert reply.status == 200
            started = time.monotonic()
            assert call(port, HEALTH, frame(b""), timeout=5).status == 0
            took.append(time.monotonic() - started)
            peak = max(peak, rss_kib(master_data.process.pid))
        deadline = time.monotonic() + SEND_TIMEOUT + 10
        while watches_open(master_data.metrics()) > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watches_open(master_data.metrics()) == 0, master_data.log[-3000:]
        stop.set()
        for watcher in watchers:
            watcher.join(30)
        assert closed == [True] * CONNECTIONS
        assert "gRPC connection closed: its client took nothing" in master_data.log
        assert max(took) < 1.0
        print(f"\nRSS {start_rss / 1024:.0f} -> peak {peak / 1024:.0f} MiB")
        assert (peak - start_rss) / 1024 < 150
    finally:
        master_data.stop()
