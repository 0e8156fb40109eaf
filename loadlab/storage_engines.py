"""The 40-terminal checkout on SQLite beside the same on PostgreSQL, in one run: both services
on SQLite files, then both on an embedded PostgreSQL (each its own database), the same Locust
load (create a cart, 20 scans, cancel; gRPC, item cache on). Reports requests/s, add-item
p50/p99 and the CPU seconds of cart, master-data and the PostgreSQL server (all its processes).

`python -m loadlab.storage_engines [--terminals 40] [--seconds 10]` prints the table; `just perf`
puts it in its report.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.harness.postgres import local_postgres
from tests.support.harness.proc_stats import cpu_seconds
from tests.support.harness.processes import add_terminal, run_cli, start_cart, start_master_data

from .locust_run import LoadRun, run_locust


@dataclass(frozen=True)
class EngineRun:
    engine: str
    terminals: int
    load: LoadRun
    cpu: dict[str, float]  # seconds, per process group

    @property
    def requests_per_second(self) -> float:
        return sum(e.requests for e in self.load.endpoints.values()) / self.load.seconds


class _PostgresCpu:
    """CPU seconds of a PostgreSQL server: the postmaster and every backend it forked."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._start = self._now()

    def _now(self) -> dict[int, float]:
        processes = [self._root, *self._root.children(recursive=True)]
        seen = {}
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                seen[process.pid] = times.user + times.system
        return seen

    def spent(self) -> float:
        end = self._now()
        return sum(seconds - self._start.get(pid, 0.0) for pid, seconds in end.items())


@contextlib.contextmanager
def _databases(engine: str, tmp: Path) -> Iterator[tuple[dict[str, str], int | None]]:
    """The two services' database settings, and the PostgreSQL server's pid if any."""
    if engine == "SQLite":
        yield {"MASTER_DATA_DB": str(tmp / "master.db"), "CART_DB": str(tmp / "cart.db")}, None
        return
    with local_postgres(tmp) as server:
        urls = {
            "MASTER_DATA_DB": server.create_database("master_data"),
            "CART_DB": server.create_database("cart"),
        }
        yield urls, server.server_pid()


def run_engine(engine: str, terminals: int, seconds: float) -> EngineRun:
    with tempfile.TemporaryDirectory(prefix=f"kugel-{engine.lower()}-") as folder:
        tmp = Path(folder)
        with _databases(engine, tmp) as (env, postgres_pid):
            run_cli(["master-data", "seed-demo"], env)
            master_data = start_master_data(tmp, MASTER_DATA_DB=env["MASTER_DATA_DB"])
            key = add_terminal(tmp, "T0001", "S001", "PERF01", cart_db=env["CART_DB"])
            cart = start_cart(
                tmp,
                master_data,
                CART_DB=env["CART_DB"],
                USE_ITEM_CACHE="true",
                TERMINAL_RATE_LIMIT="0",
                MAX_OPEN_CARTS="0",
            )
            try:
                pids = {"cart": cart.process.pid, "master-data": master_data.process.pid}
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                postgres_cpu = None if postgres_pid is None else _PostgresCpu(postgres_pid)
                load = run_locust(
                    cart.url(),
                    key,
                    users=terminals,
                    seconds=seconds,
                    think_seconds=0.0,
                    csv_prefix=tmp / f"locust-{engine}",
                    label=f"{terminals:>2} terminals, {engine}",
                )
                cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
                if postgres_cpu is not None:
                    cpu["PostgreSQL"] = postgres_cpu.spent()
            finally:
                cart.stop()
                master_data.stop()
    return EngineRun(engine, terminals, load, cpu)


def run(terminals: int = 40, seconds: float = 10.0) -> list[EngineRun]:
    return [run_engine(engine, terminals, seconds) for engine in ("SQLite", "PostgreSQL")]


def rows(runs: list[EngineRun]) -> list[list[str]]:
    table = []
    for measured in runs:
        adds = measured.load.endpoints.get("add item")
        table.append(
            [
                measured.engine,
                f"{measured.requests_per_second:.0f}",
                "-" if adds is None else f"{adds.p50 * 1000:.1f}",
                "-" if adds is None else f"{adds.p99 * 1000:.1f}",
                " / ".join(
                    f"{measured.cpu.get(name, 0.0):.1f}"
                    for name in ("cart", "master-data", "PostgreSQL")
                ),
                str(measured.load.failures),
            ]
        )
    return table


HEADER = [
    "engine",
    "requests/s",
    "add-item p50 ms",
    "p99 ms",
    "CPU s: cart / master-data / PostgreSQL",
    "errors",
]


def ratio(runs: list[EngineRun]) -> float:
    """PostgreSQL's requests/s over SQLite's (nan unless both ran)."""
    by_engine = {r.engine: r.requests_per_second for r in runs}
    if {"SQLite", "PostgreSQL"} - set(by_engine):
        return float("nan")
    return by_engine["PostgreSQL"] / by_engine["SQLite"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    runs = run(arguments.terminals, arguments.seconds)
    print(" | ".join(HEADER))
    for row in rows(runs):
        print(" | ".join(row))
    print(f"PostgreSQL / SQLite throughput: {ratio(runs):.2f}x")
    sys.exit(1 if any(r.load.failures for r in runs) else 0)


if __name__ == "__main__":
    main()
