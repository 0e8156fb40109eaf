"""Which store the cart keeps its carts in: `CART_DB` names a SQLite file (the embedded
default) or a `postgresql://` URL (shared by replicas)."""

from __future__ import annotations

from pathlib import Path

from services.common.postgres import is_postgres
from services.common.setup_errors import opening_database

from .postgres_repository import PostgresCartRepository
from .repository import CartRepository
from .settings import CartSettings
from .sqlite_repository import SqliteCartRepository

MISSING_HINT = "`cart init` or `cart terminals add` makes it"


async def open_repository(settings: CartSettings, *, create: bool = False) -> CartRepository:
    """The repository CART_DB names; a SQLite file must exist unless `create` (a typo in the
    path must not serve an empty database), a PostgreSQL database must exist and is migrated."""
    location = settings.cart_db
    repository: CartRepository
    # its failures: one line, exit 2
    async with opening_database(location, "CART_DB", missing_hint=MISSING_HINT):
        if is_postgres(location):
            repository = await PostgresCartRepository.open(location, settings.db_pool_size)
        else:
            repository = await SqliteCartRepository.open(Path(location), create=create)
    return repository
