"""`just cluster`: replicas over one PostgreSQL, and what a dead replica costs.

Starts an embedded PostgreSQL, 2 master-data and 3 cart replicas on free ports (the carts
reach master-data through a TCP balancer, the local stand-in for a Kubernetes Service), seeds
the demo data and runs checkouts (create, scan, subtotal, pay cash, bill) by terminals spread
over the cart replicas. Midway it SIGKILLs one cart replica, later one master-data replica.

Every request carries an Idempotency-Key of its own. A terminal whose replica refuses a
connection sends the same request to the next replica (it never reached a server); one whose
request dies in flight sends it again with the same key to the next replica, which answers the
first answer if the dead replica had applied it, or applies it now: the terminal never has to
drop its cart. At the end the carts are read straight from PostgreSQL: every cart must hold
exactly the lines it acknowledged (none lost, none applied twice), and receipt numbers must be
unique per terminal.

`python -m loadlab.cluster [--seconds 30] [--terminals 24]` prints the table and exits 1 when a
line was lost or applied twice, a receipt number repeated, any request failed, or a terminal
took more than 2 s to carry on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
import uvloop

from loadlab.harness.postgres import local_postgres
from loadlab.harness.processes import ServiceProcess, run_cli, start, start_cart, start_master_data
from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.cart.terminals import issue_key

from .progress import Progress
from .scenario import API, SCANNABLE, Step, checkout

CARRY_ON_LIMIT_SECONDS: Final = 2.0
REQUEST_TIMEOUT_SECONDS: Final = 10.0
SCANS_PER_CART: Final = 8


class InFlightLoss(Exception):
    """A request died in flight at every replica tried: whether it was applied is unknown."""


@dataclass
class Tally:
    """What the terminals saw, together."""

    checkouts: int = 0
    in_flight_errors: int = 0
    retried_with_key: int = 0  # requests that died in flight and went again, same key
    other_errors: Counter[str] = field(default_factory=Counter)
    acknowledged_lines: dict[str, int] = field(default_factory=dict)  # cart id -> lines
    receipts: Counter[tuple[str, int]] = field(default_factory=Counter)  # (terminal, number)
    carry_on: dict[str, float] = field(default_factory=dict)  # terminal -> longest gap


class ClusterTerminal:
    """A till that knows every cart replica and moves to the next when its own is gone."""

    def __init__(
        self,
        name: str,
        api_key: str,
        *,
        replicas: list[str],
        home: int,
        session: aiohttp.ClientSession,
        tally: Tally,
    ) -> None:
        self.name = name
        self._headers = {"X-API-KEY": api_key}
        self._replicas = replicas
        self._current = home
        self._session = session
        self._tally = tally
        self._failing_since: float | None = None

    def _failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._current = (self._current + 1) % len(self._replicas)

    def _succeeded(self) -> None:
        if self._failing_since is not None:
            gap = time.monotonic() - self._failing_since
            self._tally.carry_on[self.name] = max(self._tally.carry_on.get(self.name, 0.0), gap)
            self._failing_since = None

    async def _send(self, step: Step) -> tuple[int, Any]:
        headers = {**self._headers, "Idempotency-Key": uuid.uuid4().hex}
        for _ in range(len(self._replicas) * 3):
            url = self._replicas[self._current] + API + step.path
            try:
                async with self._session.request(
                    step.method, url, json=step.body, headers=headers
                ) as response:
                    payload = await response.json(content_type=None)
            except aiohttp.ClientConnectorError:
                self._failed()  # refused: it never reached a server, send it elsewhere
                await asyncio.sleep(0.05)
                continue
            except (aiohttp.ClientError, TimeoutError, ValueError):
                self._failed()  # died in flight: the same request, same key, elsewhere
                self._tally.retried_with_key += 1
                await asyncio.sleep(0.05)
                continue
            self._succeeded()
            return response.status, payload
        raise InFlightLoss("no cart replica answered")

    async def checkout(self, items: list[str]) -> bool:
        """One checkout; True when it completed."""
        steps = checkout(items)
        answer: Any = None
        try:
            while True:
                step = steps.send(answer)
                status, answer = await self._send(step)
                if status != step.expected:
                    self._tally.other_errors[f"{step.name} {status}"] += 1
                    return False
                self._record(step, answer)
        except StopIteration:
            self._tally.checkouts += 1
            return True
        except InFlightLoss:
            self._tally.in_flight_errors += 1
            return False
        finally:
            steps.close()

    def _record(self, step: Step, answer: Any) -> None:
        if step.is_scan:
            acknowledged = self._tally.acknowledged_lines
            cart_id = str(answer["cartId"])
            acknowledged[cart_id] = max(acknowledged.get(cart_id, 0), len(answer["lineItems"]))
        elif step.name == "bill":
            self._tally.receipts[(self.name, int(answer["receipt"]["receiptNo"]))] += 1


@dataclass(frozen=True)
class ClusterResult:
    checkouts: int
    in_flight_errors: int
    retried_with_key: int
    other_errors: dict[str, int]
    lost_lines: int
    doubled_lines: int
    duplicate_receipts: int
    carry_on: dict[str, float]
    terminals: int
    seconds: float

    @property
    def passed(self) -> bool:
        return (
            not self.other_errors
            and self.in_flight_errors == 0
            and self.lost_lines == 0
            and self.doubled_lines == 0
            and self.duplicate_receipts == 0
            and max(self.carry_on.values(), default=0.0) <= CARRY_ON_LIMIT_SECONDS
        )


async def _register_terminals(cart_db: str, count: int) -> list[tuple[str, str]]:
    repository = await open_repository(CartSettings(cart_db=cart_db, db_pool_size=2))
    try:
        terminals = []
        for n in range(1, count + 1):
            key = issue_key()
            name = f"R{n:02d}"
            await repository.add_terminal(key, "T0001", "S001", name)
            terminals.append((name, key.api_key))
        return terminals
    finally:
        await repository.close()


async def _lines_off(cart_db: str, acknowledged: dict[str, int]) -> tuple[int, int]:
    """(lines acknowledged but not stored, lines stored but never acknowledged: applied twice)."""
    connection = await asyncpg.connect(cart_db, timeout=10)
    try:  # the lines of each cart as the store has them: rows, or a whole document from before
        rows = await connection.fetch(
            "SELECT c.cart_id, c.document,"
            " (SELECT count(*) FROM cart_lines l WHERE l.cart_id = c.cart_id) AS line_rows"
            " FROM carts c"
        )
    finally:
        await connection.close()
    stored = {
        r["cart_id"]: len(json.loads(r["document"]).get("lineItems", [])) or r["line_rows"]
        for r in rows
    }
    lost = sum(max(0, lines - stored.get(cart, 0)) for cart, lines in acknowledged.items())
    doubled = sum(max(0, stored.get(cart, 0) - lines) for cart, lines in acknowledged.items())
    return lost, doubled


async def _drive(
    carts: list[ServiceProcess],
    master_data: list[ServiceProcess],
    terminals: list[tuple[str, str]],
    seconds: float,
) -> Tally:
    tally = Tally()
    progress = Progress(0, "cluster checkouts")
    replicas = [c.url() for c in carts]
    stop_at = time.monotonic() + seconds
    rng = random.Random(11)  # noqa: S311 - reproducible baskets

    async def kill(after: float, service: ServiceProcess, label: str) -> None:
        await asyncio.sleep(after)
        service.stop(signal.SIGKILL)
        print(f"\n{label} SIGKILLed at {after:.1f} s", file=sys.stderr, flush=True)

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=len(terminals) * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def till(index: int, name: str, key: str) -> None:
            terminal = ClusterTerminal(
                name,
                key,
                replicas=replicas,
                home=index % len(replicas),
                session=session,
                tally=tally,
            )
            while time.monotonic() < stop_at:
                completed = await terminal.checkout(rng.sample(SCANNABLE, SCANS_PER_CART))
                progress.tick(errors=0 if completed else 1)

        await asyncio.gather(
            kill(seconds * 0.4, carts[0], "cart replica 1"),
            kill(seconds * 0.6, master_data[0], "master-data replica 1"),
            *(till(n, name, key) for n, (name, key) in enumerate(terminals)),
        )
    progress.finish()
    return tally


def run(seconds: float = 30.0, terminals: int = 24) -> ClusterResult:
    with tempfile.TemporaryDirectory() as folder, local_postgres(Path(folder)) as server:
        tmp = Path(folder)
        master_db = server.create_database("master_data")
        cart_db = server.create_database("cart")
        run_cli(["master-data", "seed-demo"], {"MASTER_DATA_DB": master_db})
        services: list[ServiceProcess] = []
        try:
            master_data = [
                start_master_data(tmp, MASTER_DATA_DB=master_db, DB_POOL_SIZE="4") for _ in range(2)
            ]
            services += master_data
            balancer = start(
                [
                    "python",
                    "-m",
                    "loadlab.balancer",
                    "--grpc",
                    ",".join(str(m.ports["gRPC"]) for m in master_data),
                    "--http",
                    ",".join(str(m.ports["HTTP"]) for m in master_data),
                ],
                {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                tmp / "balancer.log",
                "balancer ready",
            )
            services.append(balancer)
            carts = [
                start_cart(
                    tmp,
                    balancer,
                    CART_DB=cart_db,
                    DB_POOL_SIZE="4",
                    TERMINAL_RATE_LIMIT="0",
                    MAX_OPEN_CARTS="0",
                    GRPC_TIMEOUT="2.0",
                )
                for _ in range(3)
            ]
            services += carts
            registered = uvloop.run(_register_terminals(cart_db, terminals))
            print(
                f"cluster up: PostgreSQL, 2 master-data, 3 cart replicas; {terminals} terminals"
                f" for {seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            tally = uvloop.run(_drive(carts, master_data, registered, seconds))
        finally:
            for service in reversed(services):
                service.stop(signal.SIGKILL if service.process.poll() is None else 0)
        lost, doubled = uvloop.run(_lines_off(cart_db, tally.acknowledged_lines))
    carry_on = {name: 0.0 for name, _ in registered} | tally.carry_on
    return ClusterResult(
        checkouts=tally.checkouts,
        in_flight_errors=tally.in_flight_errors,
        retried_with_key=tally.retried_with_key,
        other_errors=dict(tally.other_errors),
        lost_lines=lost,
        doubled_lines=doubled,
        duplicate_receipts=sum(n - 1 for n in tally.receipts.values() if n > 1),
        carry_on=carry_on,
        terminals=terminals,
        seconds=seconds,
    )


def table(result: ClusterResult) -> str:
    moved = {name: s for name, s in result.carry_on.items() if s > 0}
    rows = [
        ("checkouts completed", str(result.checkouts)),
        ("requests retried with their key at a kill", str(result.retried_with_key)),
        ("errors at a kill (must be 0)", str(result.in_flight_errors)),
        ("other errors (must be 0)", str(sum(result.other_errors.values()))),
        ("lost acknowledged lines (must be 0)", str(result.lost_lines)),
        ("lines applied twice (must be 0)", str(result.doubled_lines)),
        ("repeated receipt numbers (must be 0)", str(result.duplicate_receipts)),
        ("terminals that had to carry on", f"{len(moved)} of {result.terminals}"),
        (
            f"longest carry-on, s (at most {CARRY_ON_LIMIT_SECONDS:.0f})",
            f"{max(result.carry_on.values(), default=0.0):.2f}",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if moved:
        lines.append(
            "carry-on per terminal, s: "
            + ", ".join(f"{name} {s:.2f}" for name, s in sorted(moved.items()))
        )
    if result.other_errors:
        lines.append(f"other errors: {result.other_errors}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--terminals", type=int, default=24)
    arguments = parser.parse_args()
    result = run(arguments.seconds, arguments.terminals)
    print(table(result))
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
