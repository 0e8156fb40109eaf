"""The clients the rest of the world uses, at load, against a real master-data: never stopped
by a flood guard, never a failed call before the run's end (CI's form of `just clients`:
grpcio at 16 in flight for 5 s and ghz (grpc-go) at 1 and 16 on one connection for 5 s whole,
every other client at 16 in flight, watches for the clients that stream)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadlab.client_drivers import Target
from loadlab.client_matrix import CLIENTS, Cell, master_data_pair, run_cell, short_cells
from tests.support.harness.processes import ServiceProcess

Stack = tuple[Target, list[ServiceProcess]]


@pytest.fixture(autouse=True)
def _sqlite_pass_only(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--database") == "postgres":
        pytest.skip("the clients' wire, not the storage: once, in the SQLite pass")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with master_data_pair(Path(tmp_path_factory.mktemp("clients"))) as pair:
        yield pair


@pytest.mark.parametrize("cell", short_cells(CLIENTS), ids=lambda cell: cell.label)
def test_a_real_client_at_load_is_never_turned_away(stack: Stack, cell: Cell) -> None:
    target, services = stack
    result = asyncio.run(run_cell(cell, target, services))
    assert result.tally.calls > 0
    assert dict(result.tally.failures) == {}, (result.tally.first_error, result.guard_lines)
    assert result.closes == 0
    if cell.kind == "watch" and result.tally.counts_messages:
        assert result.tally.messages > 0  # the price changes reached the streams
    for service in services:
        assert "flood guard" not in service.log
