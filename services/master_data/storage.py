"""Which store master-data keeps its data in: `MASTER_DATA_DB` names a SQLite file (the
embedded default) or a `postgresql://` URL (shared by replicas)."""

from __future__ import annotations

from pathlib import Path

from services.common.postgres import is_postgres
from services.common.setup_errors import opening_database

from .postgres_repository import PostgresItemRepository
from .repository import ItemRepository
from .settings import MasterDataSettings
from .sqlite_repository import SqliteItemRepository


async def open_repository(settings: MasterDataSettings) -> ItemRepository:
    location = settings.master_data_db
    repository: ItemRepository
    async with opening_database(location, "MASTER_DATA_DB"):  # its failures: one line, exit 2
        if is_postgres(location):
            repository = await PostgresItemRepository.open(location, settings.db_pool_size)
        else:
            repository = await SqliteItemRepository.open(Path(location))
    return repository
