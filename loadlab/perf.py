"""`just perf` / `just perf-full`: the original HTTP-vs-gRPC test plan, run against the real
processes, written up as a Markdown report with PNG charts.

Scenario (each virtual terminal, no think time by default; run by Locust headless, as the
original plan did): create a cart, add 20 items one request at a time, cancel, start again.
Patterns of N terminals, each run with USE_GRPC=false and =true, item cache on and off. In the
same run: Google's grpcio client against our master-data gRPC server beside our grpclib client
(the anchor), and master-data lookup throughput at 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import tempfile
from pathlib import Path

from tests.support.harness.proc_stats import cpu_seconds
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from . import basket_growth, cpu_per_scan, storage_engines
from .locust_run import run_locust
from .lookup_load import connect_load, grpcio_load, grpclib_load
from .report import write_report
from .results import MODES, Mode, PerfResults, Run
from .stats import histogram_delta, lookup_histograms

DOCS = Path(__file__).resolve().parent.parent / "docs"  # `--publish` writes the report here


def run_pattern(
    tmp: Path,
    master_data: ServiceProcess,
    key: str,
    *,
    mode: Mode,
    terminals: int,
    args: argparse.Namespace,
) -> Run:
    cart = start_cart(
        tmp,
        master_data,
        USE_GRPC=str(mode.use_grpc).lower(),
        USE_ITEM_CACHE=str(mode.item_cache).lower(),
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",  # the virtual terminals share one key
    )
    try:
        before = lookup_histograms(cart.metrics())
        pids = {"cart": cart.process.pid, "master-data": master_data.process.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        load = run_locust(
            cart.url(),
            key,
            users=terminals,
            seconds=args.seconds,
            think_seconds=args.think_seconds,
            csv_prefix=tmp / f"locust-{terminals}-{int(mode.use_grpc)}{int(mode.item_cache)}",
            label=f"{terminals:>2} terminals, {mode.name}",
        )
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        after = lookup_histograms(cart.metrics())
    finally:
        cart.stop()
    lookups = {t: histogram_delta(h, before.get(t, {})) for t, h in after.items()}
    return Run(mode, terminals, load, lookups, cpu)


def measure_anchor(master_data: ServiceProcess, results: PerfResults, calls: int) -> None:
    port = master_data.ports["gRPC"]
    print("anchor: grpclib and grpcio clients, 32 in flight, then 1", file=sys.stderr)
    for in_flight, target in ((32, results.anchor), (1, results.anchor_sequential)):
        target.append(grpclib_load("127.0.0.1", port, calls, in_flight))
        target.append(grpcio_load("127.0.0.1", port, calls, in_flight))


def measure_scaling(tmp: Path, results: PerfResults, calls: int) -> None:
    for workers in (1, 2):
        print(f"scaling: Connect lookups against {workers} master-data worker(s)", file=sys.stderr)
        service = start_master_data(tmp, WORKERS=str(workers))
        try:
            results.scaling[workers] = connect_load(service.url(), calls, 32, 32)
        finally:
            service.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="perf", description=__doc__)
    parser.add_argument("--full", action="store_true", help="patterns 20/30/40/50, longer runs")
    parser.add_argument(
        "--patterns",
        type=int,
        nargs="+",
        help="terminal counts (default 20 40; --full 20 30 40 50)",
    )
    parser.add_argument(
        "--seconds", type=float, help="seconds per pattern and mode (default 6; --full 20)"
    )
    parser.add_argument(
        "--think-seconds", type=float, default=0.0, help="pause between scans (original plan: 3)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("results"), help="directory for the report"
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="write docs/performance.md (charts in docs/perf/) instead of a results folder",
    )
    args = parser.parse_args(argv)
    args.patterns = args.patterns or ([20, 30, 40, 50] if args.full else [20, 40])
    args.seconds = args.seconds or (20.0 if args.full else 6.0)
    calls = 6000 if args.full else 2000

    results = PerfResults(datetime.datetime.now(datetime.UTC), args.seconds, args.think_seconds)
    with tempfile.TemporaryDirectory(prefix="kugel-perf-") as directory:
        tmp = Path(directory)
        master_data = start_master_data(tmp)
        try:
            key = add_terminal(tmp, "T0001", "S001", "PERF01")
            measure_anchor(master_data, results, calls)
            for terminals in args.patterns:
                for mode in MODES:
                    results.runs.append(
                        run_pattern(
                            tmp, master_data, key, mode=mode, terminals=terminals, args=args
                        )
                    )
        finally:
            master_data.stop()
        measure_scaling(tmp / "scaling", results, calls)
        print("CPU per scan: the cart against a bare Starlette route", file=sys.stderr)
        results.cpu_per_scan = cpu_per_scan.run(terminals=40, rounds=5 if args.full else 3)
        print(
            "storage engines: the 40-terminal checkout on SQLite, then PostgreSQL", file=sys.stderr
        )
        results.storage = storage_engines.run(terminals=40, seconds=args.seconds)
        print("basket growth: 500 scans into one cart, CPU per band of 20 lines", file=sys.stderr)
        results.basket = basket_growth.run(carts=3 if args.full else 1)
    command = " ".join(["just perf", *(argv or sys.argv[1:])])
    if args.publish:
        report = write_report(
            results, DOCS / "perf", command=command, markdown=DOCS / "performance.md"
        )
    else:
        folder = args.out / f"perf-{results.started:%Y%m%d-%H%M%S}"
        report = write_report(results, folder, command=command)
    print(f"\nreport: {report}")
    errors = sum(r.load.failures for r in results.runs)
    errors += sum(r.load.failures for r in results.storage)
    if errors or any(math.isnan(r.p50) for r in results.anchor):
        print(f"{errors} errors: see the report", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
