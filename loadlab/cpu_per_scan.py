"""CPU seconds the cart spends per 1,000 add-item requests (item cache on), beside the same
figure for a bare Starlette route that reads a JSON body and answers a 2 KB JSON document,
driven by the same client in the same run. `python -m loadlab.cpu_per_scan` prints both and
their ratio; `just perf` puts them in its report.

First every item is scanned once (not measured), so the item cache is warm as in a store's
steady state. Each round: every terminal creates a cart (not measured), then scans 20 items one
request each (measured: the process's CPU time before and after, from /proc), then cancels its
cart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop

from tests.support.harness.proc_stats import cpu_seconds
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start,
    start_cart,
    start_master_data,
)

from .scenario import SCANNABLE, line_body

SCANS_PER_CART = 20


@dataclass(frozen=True)
class CpuPerScan:
    """CPU seconds per 1,000 requests of the cart and of the floor, measured in one run."""

    cart: float
    floor: float
    durable_floor: float  # the bare route plus one fsynced SQLite write per scan
    scans: int
    baseline: float | None = None  # the same cart run from an earlier source tree, if asked
    traced_floor: float | None = None  # the durable floor with a request span (`traced`)
    bare_span_floor: float | None = None  # ... with a span that has a name only (`traced`)
    by_barcode: float | None = None  # the same cart, every item scanned by its JAN

    @property
    def ratio(self) -> float:
        return self.cart / self.floor

    @property
    def durable_ratio(self) -> float:
        return self.cart / self.durable_floor


async def _round(
    session: aiohttp.ClientSession, api: str, terminals: int, seed: int
) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible baskets

    async def create() -> str:
        async with session.post(f"{api}/carts") as response:
            return str((await response.json())["cartId"])

    carts = await asyncio.gather(*(create() for _ in range(terminals)))
    return list(carts), [rng.sample(SCANNABLE, SCANS_PER_CART) for _ in carts]


async def _scan_all(
    session: aiohttp.ClientSession,
    api: str,
    carts: list[str],
    baskets: list[list[str]],
    by_barcode: bool = False,
) -> None:
    async def till(cart: str, basket: list[str]) -> None:
        for code in basket:
            async with session.post(
                f"{api}/carts/{cart}/lineItems", json=line_body(code, by_barcode=by_barcode)
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"add item: HTTP {response.status}")

    await asyncio.gather(*(till(c, b) for c, b in zip(carts, baskets, strict=True)))


async def _warm_up(
    session: aiohttp.ClientSession, api: str, terminals: int, by_barcode: bool
) -> None:
    """Scan every item once, so the measured scans find the item cache warm: "item cache on"
    measures a store's steady state, not the first lookup of each item."""
    baskets = [SCANNABLE[n : n + SCANS_PER_CART] for n in range(0, len(SCANNABLE), SCANS_PER_CART)]
    for first in range(0, len(baskets), terminals):
        group = baskets[first : first + terminals]
        carts, _ = await _round(session, api, len(group), 0)
        await _scan_all(session, api, carts, group, by_barcode)


@dataclass
class _Target:
    """A service measured: its API, its process, and the CPU and scans counted so far."""

    api: str
    pid: int
    key: str
    cancel: bool  # a cart: cancel the round's carts after it (not measured)
    by_barcode: bool = False  # each item scanned by its JAN, not added by its code
    cpu: float = 0.0
    scans: int = 0

    @property
    def per_thousand(self) -> float:
        return self.cpu / self.scans * 1000


async def measure(targets: list[_Target], *, terminals: int, rounds: int) -> None:
    """CPU seconds of each target over `rounds` rounds, the targets taking turns within each
    round: a slow spell of this shared machine falls on all of them alike."""
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=terminals),
            headers={"X-API-KEY": target.key},
            timeout=timeout,
        )
        for target in targets
    ]
    try:
        for target, session in zip(targets, sessions, strict=True):
            await _warm_up(session, target.api, terminals, target.by_barcode)
        for n in range(rounds):
            for target, session in zip(targets, sessions, strict=True):
                carts, baskets = await _round(session, target.api, terminals, n + 1)
                before = cpu_seconds(target.pid)
                await _scan_all(session, target.api, carts, baskets, target.by_barcode)
                target.cpu += cpu_seconds(target.pid) - before
                target.scans += len(carts) * SCANS_PER_CART
                if target.cancel:
                    for cart in carts:
                        async with session.post(f"{target.api}/carts/{cart}/cancel") as response:
                            await response.read()
    finally:
        for session in sessions:
            await session.close()


def start_bare_route(
    tmp: Path,
    *,
    durable: bool = False,
    tracing: dict[str, str] | None = None,
    bare_span: bool = False,
) -> ServiceProcess:
    stamp = time.monotonic_ns()
    return start(
        [
            "python",
            "-m",
            "loadlab.bare_route",
            *(["--durable", str(tmp / f"bare-{stamp}.db")] if durable else []),
            *(["--bare-span"] if bare_span else []),
        ],
        {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(tracing or {})},
        tmp / f"bare-{stamp}.log",
        "bare route ready",
    )


class _OtlpSink(http.server.BaseHTTPRequestHandler):
    """Takes OTLP/HTTP exports and answers 200, so a traced cart pays its whole export."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint on a free loopback port, for the lab's run: its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtlpSink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(
    terminals: int = 40, rounds: int = 5, baseline: Path | None = None, *, traced: bool = False
) -> CpuPerScan:
    """The cart, the bare route and the durable floor, taking turns; with `baseline` (a source
    tree, e.g. a `git worktree` of an earlier commit) a second cart run from it takes turns too;
    `traced`: the measured cart samples every scan and exports it (batched OTLP) to a sink,
    and so do two more durable floors, one span a scan: the cart's kind of request span, and a
    span with a name only (the SDK's least): what tracing costs at least."""
    with tempfile.TemporaryDirectory() as folder, otlp_sink() as sink:
        tmp = Path(folder)
        master_data = start_master_data(tmp)
        keys = [add_terminal(tmp, "T0001", "S001", "R01")]
        settings = {"USE_ITEM_CACHE": "true", "TERMINAL_RATE_LIMIT": "0", "MAX_OPEN_CARTS": "0"}
        tracing = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
                   "OTEL_TRACES_SAMPLER": "always_on"} if traced else {}  # fmt: skip
        services = [start_cart(tmp, master_data, **settings, **tracing)]
        if baseline is not None:  # a database of its own: its release may know another schema
            (old := tmp / "baseline").mkdir()
            env = {"PYTHONPATH": str(baseline)}
            keys.append(add_terminal(old, "T0001", "S001", "R01", env=env))
            services.append(start_cart(old, master_data, **env, **settings))
        carts = len(services)
        services += [start_bare_route(tmp), start_bare_route(tmp, durable=True)]
        if traced:
            services.append(start_bare_route(tmp, durable=True, tracing=tracing))
            services.append(start_bare_route(tmp, durable=True, tracing=tracing, bare_span=True))
        keys += [keys[0]] * (len(services) - carts)  # the bare routes take any key
        targets = [
            _Target(s.url() + "/api/v1", s.process.pid, key, cancel=n < carts)
            for n, (s, key) in enumerate(zip(services, keys, strict=True))
        ]
        cart_service = services[0]  # the same cart again, scanning every item by its JAN
        targets.append(_Target(cart_service.url() + "/api/v1", cart_service.process.pid,
                               keys[0], cancel=True, by_barcode=True))  # fmt: skip
        try:
            uvloop.run(measure(targets, terminals=terminals, rounds=rounds))
        finally:
            for service in [*reversed(services), master_data]:
                service.stop()
    *targets, barcodes = targets
    cart, *rest = targets
    floor, durable = rest[carts - 1 : carts + 1]
    return CpuPerScan(
        cart.per_thousand,
        floor.per_thousand,
        durable.per_thousand,
        cart.scans,
        rest[0].per_thousand if baseline is not None else None,
        rest[-2].per_thousand if traced else None,
        rest[-1].per_thousand if traced else None,
        barcodes.per_thousand,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree (e.g. `git worktree add /tmp/old REV`) whose cart takes turns too",
    )
    parser.add_argument(
        "--traced", action="store_true", help="the cart traces every scan, exported over OTLP"
    )
    args = parser.parse_args()
    result = run(args.terminals, args.rounds, args.baseline, traced=args.traced)
    print(f"cart:  {result.cart:.3f} CPU-s per 1,000 add-item requests ({result.scans} scans)")
    print(f"floor: {result.floor:.3f} CPU-s per 1,000 requests (bare Starlette route)")
    print(f"durable floor: {result.durable_floor:.3f} CPU-s per 1,000 requests (+ fsynced write)")
    print(f"ratio: {result.ratio:.2f}x the floor, {result.durable_ratio:.2f}x the durable floor")
    if result.by_barcode is not None:
        print(
            f"by barcode: {result.by_barcode:.3f} CPU-s per 1,000 scans of the JAN;"
            f" {result.by_barcode / result.cart:.2f}x a scan by item code"
        )
    if result.baseline is not None:
        print(
            f"baseline cart ({args.baseline}): {result.baseline:.3f} CPU-s per 1,000;"
            f" this cart is {result.cart / result.baseline:.2f}x it"
        )
    for name, traced_floor in [("the cart's kind of request span", result.traced_floor),
                               ("a span with a name only", result.bare_span_floor)]:  # fmt: skip
        if traced_floor is None:
            continue
        added = traced_floor - result.durable_floor
        print(
            f"durable floor + {name}: {traced_floor:.3f} CPU-s per 1,000, +{added:.3f}"
            " (the SDK, batch OTLP export)"
            + (f": {1 + added / result.baseline:.2f}x the baseline cart, were its scans"
               " traced so and no more" if result.baseline is not None else "")
        )  # fmt: skip
    sys.exit(0)


if __name__ == "__main__":
    main()
