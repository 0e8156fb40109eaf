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

MISSING_HINT = "`master-data init` makes an empty one, `seed-demo` or `import` a filled one"


async def open_repository(settings: MasterDataSettings, *, create: bool = False) -> ItemRepository:
    """The repository MASTER_DATA_DB names; a SQLite file must exist unless `create` (a typo in the
    path must not serve an empty database), a PostgreSQL database must exist and is migrated."""
    location = settings.master_data_db
    repository: ItemRepository
    # its failures: one line, exit 2
    async with opening_database(location, "MASTER_DATA_DB", missing_hint=MISSING_HINT):
        if is_postgres(location):
            repository = await PostgresItemRepository.open(location, settings.db_pool_size)
        else:
            repository = await SqliteItemRepository.open(Path(location), create=create)
    return repository
