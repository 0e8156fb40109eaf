from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServiceProcess, start_master_data

TOKEN = "integration-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def master_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One real master-data process for a test module, token auth on."""
    service = start_master_data(tmp_path_factory.mktemp("md"), MASTER_DATA_TOKEN=TOKEN)
    yield service
    assert service.stop() == 0, service.log


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "integration":
            item.add_marker(pytest.mark.integration)
