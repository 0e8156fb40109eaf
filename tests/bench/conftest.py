from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from tests.support.harness.processes import ServiceProcess, start_master_data


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One uvloop loop per module: clients keep their connections across rounds."""
    loop = uvloop.new_event_loop()
    yield loop
    loop.run_until_complete(asyncio.sleep(0.1))  # let closed transports finish closing
    loop.close()


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_master_data(Path(tmp_path_factory.mktemp("bench")))
    yield service
    assert service.stop() == 0, service.log
