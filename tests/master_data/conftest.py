from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from services.master_data import demo_data
from services.master_data.catalog import ItemCatalog
from services.master_data.server import MasterData, assemble
from services.master_data.settings import MasterDataSettings
from services.master_data.sqlite_repository import SqliteItemRepository


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[SqliteItemRepository]:
    repo = await SqliteItemRepository.open(tmp_path / "master.db", create=True)
    await repo.apply(demo_data.records())
    yield repo
    await repo.close()


@pytest.fixture
def catalog(repository: SqliteItemRepository) -> ItemCatalog:
    return ItemCatalog(repository, cache_size=1000)


TOKEN = "s3cret-token"
ADMIN = "admin-token"


@pytest.fixture
def settings(tmp_path: Path) -> MasterDataSettings:
    return MasterDataSettings(
        master_data_db=str(tmp_path / "master.db"),
        master_data_token=SecretStr(TOKEN),
        admin_token=SecretStr(ADMIN),
        max_request_bytes=4096,
    )


@pytest.fixture
def master_data(repository: SqliteItemRepository, settings: MasterDataSettings) -> MasterData:
    return assemble(repository, settings)


@pytest.fixture
def http(master_data: MasterData) -> Iterator[TestClient]:
    with TestClient(master_data.http_app) as client:
        yield client
