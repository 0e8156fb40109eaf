"""`just demo`: both services on free ports with fresh databases and the demo data, a few hundred
realistic checkouts over Connect (USE_GRPC=false) and again over gRPC (USE_GRPC=true), a
side-by-side table, and one sentence on what it showed.

Every checkout: create a cart, scan 20 items one request each, subtotal, pay cash, bill. The item
cache is off by default so that every scan asks master-data and the transports can be compared.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import uvloop

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .checkout import Recorder, run_checkouts
from .progress import Progress
from .stats import (
    Histogram,
    histogram_delta,
    histogram_quantile,
    lookup_histograms,
    percentile,
)

REPLACED_HOP_MS = (130, 150)  # a lookup over a new HTTP connection, in the design this replaces


@dataclass
class ModeResult:
    mode: str
    recorder: Recorder
    lookups: dict[str, Histogram]  # transport -> lookup latency histogram of this run
    cache_hits: int = 0
    cache_misses: int = 0


def _cache_answers(metrics_text: str) -> tuple[int, int]:
    found = dict(
        re.findall(r'^item_cache_lookups_total\{result="(\w+)"\} (\S+)$', metrics_text, re.M)
    )
    return int(float(found.get("hit", 0))), int(float(found.get("miss", 0)))


def run_mode(
    tmp: Path, master_data: ServiceProcess, api_key: str, use_grpc: bool, args: argparse.Namespace
) -> ModeResult:
    mode = "gRPC (HTTP/2)" if use_grpc else "Connect (HTTP/1.1)"
    cart = start_cart(
        tmp,
        master_data,
        USE_GRPC=str(use_grpc).lower(),
        USE_ITEM_CACHE=str(args.item_cache).lower(),
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",  # the virtual terminals share one key
    )
    try:
        before = lookup_histograms(cart.metrics())
        progress = Progress(args.carts, mode)
        recorder = uvloop.run(
            run_checkouts(
                cart.url() + "/api/v1",
                api_key,
                carts=args.carts,
                terminals=args.terminals,
                on_cart_done=lambda ok: progress.advance(errors=0 if ok else 1),
            )
        )
        metrics = cart.metrics()
        after = lookup_histograms(metrics)
    finally:
        cart.stop()
    lookups = {t: histogram_delta(h, before.get(t, {})) for t, h in after.items()}
    return ModeResult(mode, recorder, lookups, *_cache_answers(metrics))


def _hit_rate(result: ModeResult) -> str:
    answers = result.cache_hits + result.cache_misses
    return f"{result.cache_hits / answers:.0%}" if answers else "-"


def conclusion(results: list[ModeResult]) -> str:
    """One sentence: the measured hop per transport against the one it replaces."""
    hops = []
    for result in results:
        transport = "grpc" if result.mode.startswith("gRPC") else "connect"
        histogram = result.lookups.get(transport, {})
        if histogram.get(math.inf, 0):
            hops.append((result.mode, histogram_quantile(0.5, histogram)))
    if not hops:
        return "No lookup reached master-data (every scan was answered by the item cache)."
    low, high = REPLACED_HOP_MS
    said = " and ".join(f"{seconds * 1000:.2f} ms over {mode}" for mode, seconds in hops)
    fastest = min(seconds for _, seconds in hops)
    return (
        f"A master-data lookup took (p50) {said}, against the {low}-{high} ms of a new HTTP "
        f"connection per lookup in the design this replaces: about {low / 1000 / fastest:,.0f} "
        "times faster."
    )


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def table(results: list[ModeResult], args: argparse.Namespace) -> str:
    rows: list[tuple[str, ...]] = [("", *(r.mode for r in results))]

    def row(label: str, values: list[str]) -> None:
        rows.append((label, *values))

    adds = [r.recorder.latencies.get("add item", []) for r in results]
    row("add-item p50", [_ms(percentile(a, 0.5)) for a in adds])
    row("add-item p99", [_ms(percentile(a, 0.99)) for a in adds])
    for transport, name in (("grpc", "gRPC"), ("connect", "Connect")):
        histograms = [r.lookups.get(transport, {}) for r in results]
        counts = [int(h.get(math.inf, 0)) for h in histograms]
        if not any(counts):
            continue
        row(f"{name} lookups", [str(c) for c in counts])
        row(
            f"{name} lookup p50",
            [
                _ms(histogram_quantile(0.5, h)) if c else "-"
                for h, c in zip(histograms, counts, strict=True)
            ],
        )
        row(
            f"{name} lookup p99",
            [
                _ms(histogram_quantile(0.99, h)) if c else "-"
                for h, c in zip(histograms, counts, strict=True)
            ],
        )
    row("carts completed", [str(r.recorder.carts_done) for r in results])
    discounts = [r.recorder.latencies.get("cart discount", []) for r in results]
    row("of them discounted", [str(len(d)) for d in discounts])
    row("carts per second", [f"{r.recorder.carts_done / r.recorder.elapsed:.1f}" for r in results])
    row("errors", [str(r.recorder.error_count) for r in results])
    if args.item_cache:
        row("item cache hit rate", [_hit_rate(r) for r in results])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"{args.carts} checkouts of 20 scans per mode, {args.terminals} terminals, "
        f"item cache {'on' if args.item_cache else 'off'}; lookup percentiles from the cart's "
        "histogram (interpolated within buckets)",
        "",
    ]
    for i, cells in enumerate(rows):
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:  # Ctrl-C: the services were stopped on the way out
        print("\ndemo interrupted; everything it started is stopped", file=sys.stderr)
        raise SystemExit(130) from None


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--carts", type=int, default=300, help="checkouts per mode (default 300)")
    parser.add_argument("--terminals", type=int, default=8, help="concurrent terminals (default 8)")
    parser.add_argument("--item-cache", action="store_true", help="turn the cart's item cache on")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kugel-demo-") as directory:
        tmp = Path(directory)
        print(f"starting master-data and cart on free ports, databases in {tmp}", file=sys.stderr)
        master_data = start_master_data(tmp)
        try:
            api_key = add_terminal(tmp, "T0001", "S001", "DEMO01")
            results = [
                run_mode(tmp, master_data, api_key, use_grpc, args) for use_grpc in (False, True)
            ]
        finally:
            master_data.stop()
    print()
    print(table(results, args))
    print()
    print(conclusion(results))
    if any(r.recorder.error_count for r in results):
        for r in results:
            for what, count in r.recorder.errors.items():
                print(f"{r.mode}: {count} x {what}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
