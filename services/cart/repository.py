"""Storage of carts and terminals: a small interface and its SQL implementation.

Carts are saved with optimistic concurrency: `save` succeeds only when the stored version is
the one the cart was loaded at, so two writers can never silently overwrite each other. The
SQLite file runs in WAL mode with synchronous=FULL: a write is on disk before it is
acknowledged, so neither a killed process nor a power cut loses it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from . import schema
from .cart import Cart, CartState
from .terminals import IssuedKey, Terminal


class VersionConflict(Exception):
    """The cart changed since it was loaded."""


class CartRepository(Protocol):
    """What the cart service needs of its storage."""

    async def add_terminal(
        self, key: IssuedKey, tenant_id: str, store_code: str, terminal_id: str
    ) -> None: ...

    async def find_terminal(self, key_id: str) -> tuple[Terminal, str] | None:
        """The terminal of an API key id, with the hash of its secret."""
        ...

    async def create(self, cart: Cart) -> None: ...

    async def load(self, cart_id: str) -> Cart | None: ...

    async def save(self, cart: Cart, expected_version: int) -> None:
        """Write the cart at expected_version + 1; VersionConflict if someone else wrote first.

        A cart saved as completed without a receipt number gets its terminal's next one.
        """
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _now_us() -> int:
    return time.time_ns() // 1000


class SqlCartRepository:
    """CartRepository on SQLAlchemy Core; `open_sqlite` makes one on a SQLite file."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open_sqlite(cls, path: Path) -> SqlCartRepository:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        event.listen(engine.sync_engine, "connect", _pragmas)
        async with engine.begin() as conn:
            await conn.execute(text("PRAGMA journal_mode=WAL"))
            await conn.run_sync(schema.metadata.create_all)
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    async def add_terminal(
        self, key: IssuedKey, tenant_id: str, store_code: str, terminal_id: str
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(schema.terminals).values(
                    key_id=key.key_id,
                    key_hash=key.key_hash,
                    tenant_id=tenant_id,
                    store_code=store_code,
                    terminal_id=terminal_id,
                    created_at_us=_now_us(),
                )
            )

    async def find_terminal(self, key_id: str) -> tuple[Terminal, str] | None:
        t = schema.terminals
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.key_id == key_id))).first()
        if row is None:
            return None
        return Terminal(row.tenant_id, row.store_code, row.terminal_id, row.key_id), row.key_hash

    async def create(self, cart: Cart) -> None:
        cart.version = 1
        async with self._engine.begin() as conn:
            await conn.execute(insert(schema.carts).values(**self._row(cart)))

    async def load(self, cart_id: str) -> Cart | None:
        c = schema.carts
        async with self._engine.connect() as conn:
            document = await conn.scalar(select(c.c.document).where(c.c.cart_id == cart_id))
        return None if document is None else Cart.model_validate_json(document)

    async def save(self, cart: Cart, expected_version: int) -> None:
        c = schema.carts
        async with self._engine.begin() as conn:
            if cart.state is CartState.COMPLETED and cart.receipt_no is None:
                cart.receipt_no = await self._next_receipt_no(conn, cart)
            cart.version = expected_version + 1
            result = await conn.execute(
                update(c)
                .where(c.c.cart_id == cart.cart_id, c.c.version == expected_version)
                .values(**self._row(cart))
            )
            if result.rowcount != 1:
                cart.version = expected_version
                raise VersionConflict(cart.cart_id)

    @staticmethod
    async def _next_receipt_no(conn: AsyncConnection, cart: Cart) -> int:
        r = schema.receipt_counters
        statement = (
            sqlite_insert(r)
            .values(
                tenant_id=cart.tenant_id,
                store_code=cart.store_code,
                terminal_id=cart.terminal_id,
                last_receipt_no=1,
            )
            .on_conflict_do_update(
                index_elements=[r.c.tenant_id, r.c.store_code, r.c.terminal_id],
                set_={"last_receipt_no": r.c.last_receipt_no + 1},
            )
            .returning(r.c.last_receipt_no)
        )
        return int((await conn.execute(statement)).scalar_one())

    @staticmethod
    def _row(cart: Cart) -> dict[str, Any]:
        return {
            "cart_id": cart.cart_id,
            "tenant_id": cart.tenant_id,
            "store_code": cart.store_code,
            "terminal_id": cart.terminal_id,
            "state": cart.state.value,
            "version": cart.version,
            "document": cart.model_dump_json(by_alias=True, exclude_computed_fields=True),
            "updated_at_us": _now_us(),
        }
