"""`just cluster`: replicas over one PostgreSQL, and what a dead replica costs.

Starts an embedded PostgreSQL, 2 master-data and 3 cart replicas on free ports, seeds the demo
data and runs checkouts (create, scan, subtotal, pay cash, bill) by terminals spread over the
cart replicas. The carts look every scanned item up (no item cache), over gRPC to one DNS name
that gives every master-data replica's address (as a headless Kubernetes Service does: the
carts read a hosts file of the lab's, `harness/replicas.py`; without root, a fixed `ipv4:` list
of the first two), balancing by themselves; their HTTP fallback goes through a TCP balancer,
the local stand-in for a Service. A third master-data replica joins at 30 % of the run, one
cart replica is SIGKILLed at 40 %, master-data replica 1 at 60 %. The table shows each
master-data replica's share of the lookups (its own RPC metrics), how soon the new one got
its first, and how many lookups fell back to HTTP.

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

from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.cart.terminals import issue_key
from tests.support.harness.postgres import local_postgres
from tests.support.harness.processes import ServiceProcess, cart_env, run_cli, start
from tests.support.harness.replicas import ReplicaPool, can_name_replicas

from .progress import Progress
from .scenario import API, SCANNABLE, Step, checkout

CARRY_ON_LIMIT_SECONDS: Final = 2.0
REQUEST_TIMEOUT_SECONDS: Final = 10.0
SCANS_PER_CART: Final = 8
RESOLVE_SECONDS: Final = 2.0  # the carts resolve master-data's name again this often


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


@dataclass
class Shares:
    """Each master-data replica's lookups (BatchGetItemDetails) over gRPC and over Connect, as
    its own /metrics last said; when the replica added midway answered its first."""

    grpc: dict[str, float] = field(default_factory=dict)
    connect: dict[str, float] = field(default_factory=dict)
    joined_at: float | None = None  # run seconds: the replica added midway started
    first_lookup_after: float | None = None  # seconds from its start to its first lookup

    def read(self, replica: ServiceProcess) -> None:
        try:
            text = replica.metrics()
        except OSError:
            return  # SIGKILLed: its last figures stand
        for transport, kept in (("grpc", self.grpc), ("connect", self.connect)):
            kept[replica.host] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("grpc_server_handled_total{")
                and 'grpc_method="BatchGetItemDetails"' in line
                and f'transport="{transport}"' in line
            )


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
    shares: Shares = field(default_factory=Shares)

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
    repository = await open_repository(CartSettings(cart_db=cart_db, db_pool_size=2), create=True)
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
    pool: ReplicaPool,
    terminals: list[tuple[str, str]],
    seconds: float,
    shares: Shares,
) -> Tally:
    tally = Tally()
    started = time.monotonic()
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

        async def join(after: float) -> None:
            await asyncio.sleep(after)
            added = await asyncio.to_thread(pool.add)
            shares.joined_at = time.monotonic() - started
            print(f"\nmaster-data replica {added.host} joined at {shares.joined_at:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip

        async def sample() -> None:
            while time.monotonic() < stop_at + 1:
                for replica in list(pool.replicas):
                    await asyncio.to_thread(shares.read, replica)
                newest = pool.replicas[-1].host if len(pool.replicas) > 2 else None
                if newest and shares.first_lookup_after is None and shares.grpc.get(newest):
                    assert shares.joined_at is not None  # noqa: S101 - set before it is named
                    shares.first_lookup_after = time.monotonic() - started - shares.joined_at
                await asyncio.sleep(0.25)

        await asyncio.gather(
            join(seconds * 0.3),
            kill(seconds * 0.4, carts[0], "cart replica 1"),
            kill(seconds * 0.6, pool.replicas[0], "master-data replica 1"),
            sample(),
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
        pool = ReplicaPool(tmp, MASTER_DATA_DB=master_db, DB_POOL_SIZE="4")
        services: list[ServiceProcess] = []
        shares = Shares()
        try:
            first = [pool.add() for _ in range(2)]
            balancer = start(
                ["python", "-m", "loadlab.balancer",
                 "--http", ",".join(f"{m.host}:{m.ports['HTTP']}" for m in first)],
                {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                tmp / "balancer.log",
                "balancer ready",
            )  # fmt: skip
            services.append(balancer)
            named = can_name_replicas()
            target = (
                pool.target
                if named
                else "ipv4:" + ",".join(f"{m.host}:{m.ports['gRPC']}" for m in first)
            )
            carts = [
                start(
                    ["cart", "serve"],
                    cart_env(
                        tmp,
                        balancer,
                        CART_DB=cart_db,
                        DB_POOL_SIZE="4",
                        TERMINAL_RATE_LIMIT="0",
                        MAX_OPEN_CARTS="0",
                        GRPC_TIMEOUT="2.0",
                        USE_GRPC="true",
                        MASTER_DATA_GRPC_URL=target,
                        MASTER_DATA_RESOLVE_SECONDS=str(RESOLVE_SECONDS),
                        USE_ITEM_CACHE="false",  # every scan a lookup: the shares show
                    ),
                    tmp / f"cart-{n}.log",
                    "cart ready",
                    hosts_file=pool.hosts_file if named else None,
                )
                for n in range(3)
            ]
            services += carts
            registered = uvloop.run(_register_terminals(cart_db, terminals))
            print(
                f"cluster up: PostgreSQL, 2 master-data, 3 cart replicas; {terminals} terminals"
                f" for {seconds:.0f} s; gRPC to {target}",
                file=sys.stderr,
                flush=True,
            )
            tally = uvloop.run(_drive(carts, pool, registered, seconds, shares))
        finally:
            for service in reversed(services):
                service.stop(signal.SIGKILL if service.process.poll() is None else 0)
            pool.stop()
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
        shares=shares,
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
    shares = result.shares
    total = sum(shares.grpc.values()) or 1.0
    for host, count in shares.grpc.items():
        rows.append(
            (f"master-data {host}: lookups over gRPC", f"{count:.0f} ({count / total:.0%})")
        )
    rows.append(("lookups over HTTP (fallback)", f"{sum(shares.connect.values()):.0f}"))
    if shares.joined_at is not None:
        first = shares.first_lookup_after
        rows.append(
            (
                f"replica added at {shares.joined_at:.1f} s: first lookup after, s"
                f" (re-resolve every {RESOLVE_SECONDS:g})",
                "none" if first is None else f"{first:.2f}",
            )
        )
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
