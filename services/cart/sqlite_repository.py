"""CartRepository on a SQLite file, in WAL mode with synchronous=FULL: a write is synced to
disk before it is acknowledged (SQLite's guarantee; that a killed process loses nothing is what
the tests show). Queries are parameterised SQL on plain sqlite3 (see
services.common.sqlite_threads for why not an async driver).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from services.common.migrations import now_us
from services.common.sqlite_threads import SqliteThreads

from . import cart_json, cart_saving, transaction_rows
from .cart import Cart
from .repository import (
    OPEN_STATES,
    Closing,
    IdempotencyKey,
    KeptAnswer,
    KeyTaken,
    PreloadedStore,
    Reversal,
    TooManyOpenCarts,
    VersionConflict,
)
from .schema import SQLITE_MIGRATIONS
from .terminals import IssuedKey, Terminal
from .transaction_rows import TransactionQuery
from .transactions import Transaction

# A key is stored once; a row of the same name may be replaced only once it has expired.
_KEEP_ANSWER: Final = """
INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?)
ON CONFLICT (scope, idem_key) DO UPDATE SET
    fingerprint = excluded.fingerprint, document = excluded.document,
    created_at_us = excluded.created_at_us
WHERE idempotency_keys.created_at_us < ?
"""
PURGE_EVERY: Final = 1_000  # keys stored between two purges of the expired ones


class SqliteCartRepository:
    """CartRepository on a SQLite file."""

    def __init__(self, database: SqliteThreads) -> None:
        self._db = database
        self._kept = 0  # keys stored by this process: expired ones are purged now and then

    @classmethod
    async def open(cls, path: Path, *, create: bool = False) -> SqliteCartRepository:
        """Open the database file with its tables (with `create`, a missing one is made)."""
        db = await SqliteThreads.open(path, SQLITE_MIGRATIONS, synchronous="FULL", create=create)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await self._db.ping()

    async def add_terminal(
        self, key: IssuedKey, tenant_id: str, store_code: str, terminal_id: str
    ) -> None:
        await self._db.write(
            lambda c: c.execute(
                "INSERT INTO terminals VALUES (?, ?, ?, ?, ?, ?)",
                (key.key_id, key.key_hash, tenant_id, store_code, terminal_id, now_us()),
            )
        )

    async def find_terminal(self, key_id: str) -> tuple[Terminal, str] | None:
        row = await self._db.read(
            lambda c: c.execute("SELECT * FROM terminals WHERE key_id = ?", (key_id,)).fetchone()
        )
        if row is None:
            return None
        terminal = Terminal(row["tenant_id"], row["store_code"], row["terminal_id"], row["key_id"])
        return terminal, str(row["key_hash"])

    async def create(
        self, cart: Cart, idempotency: IdempotencyKey | None = None, *, max_open: int = 0
    ) -> None:
        cart.version = 1
        cart_json.forget(cart)

        def transaction(c: sqlite3.Connection) -> None:
            if max_open and _open_carts(c, cart) >= max_open:
                raise TooManyOpenCarts(cart.terminal_id)
            now = now_us()
            c.execute(
                "INSERT INTO carts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cart.cart_id, cart.tenant_id, cart.store_code, cart.terminal_id,
                 cart.state.value, cart.version, cart_json.header(cart), now),
            )  # fmt: skip
            _write_lines(c, cart)
            if idempotency is not None:
                self._keep_answer(c, idempotency, cart_json.document(cart), now)

        await self._db.write(transaction)
        cart_saving.saved(cart)

    async def kept_answer(self, key: IdempotencyKey) -> KeptAnswer | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT fingerprint, document FROM idempotency_keys"
                " WHERE scope = ? AND idem_key = ? AND created_at_us >= ?",
                (key.scope, key.key, key.expired_before_us(now_us())),
            ).fetchone()
        )
        return None if row is None else KeptAnswer(row[0], row[1])

    def _keep_answer(
        self, c: sqlite3.Connection, key: IdempotencyKey, document: str, now: int
    ) -> None:
        """The key with the cart's new JSON; an expired one of the same name is replaced."""
        kept = c.execute(_KEEP_ANSWER, (key.scope, key.key, key.fingerprint, document, now,
                                        key.expired_before_us(now)))  # fmt: skip
        if kept.rowcount != 1:
            raise KeyTaken(key.key)
        self._kept += 1
        if self._kept % PURGE_EVERY == 0:
            c.execute(
                "DELETE FROM idempotency_keys WHERE created_at_us < ?",
                (key.expired_before_us(now),),
            )

    async def load(self, cart_id: str) -> Cart | None:
        def read(c: sqlite3.Connection) -> Cart | None:
            c.execute("BEGIN")  # the header and its lines as of one commit
            try:
                row = c.execute(
                    "SELECT document FROM carts WHERE cart_id = ?", (cart_id,)
                ).fetchone()
                if row is None:
                    return None
                lines = c.execute(
                    "SELECT document FROM cart_lines WHERE cart_id = ? ORDER BY line_no",
                    (cart_id,),
                ).fetchall()
            finally:
                c.execute("COMMIT")
            return cart_saving.from_rows(row["document"], [line[0] for line in lines])

        return await self._db.read(read)

    async def version(self, cart_id: str) -> int | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT version FROM carts WHERE cart_id = ?", (cart_id,)
            ).fetchone()
        )
        return None if row is None else int(row["version"])

    async def save(
        self,
        cart: Cart,
        expected_version: int,
        idempotency: IdempotencyKey | None = None,
        closing: Closing | None = None,
    ) -> None:
        takes_receipt = cart.closes()

        def transaction(c: sqlite3.Connection) -> None:
            if takes_receipt:
                cart.receipt_no = _next_receipt_no(c, cart.tenant_id, cart.store_code,
                                                   cart.terminal_id)  # fmt: skip
                if closing is not None:
                    closed = closing(cart)
                    cart.transaction_id = closed.transaction_id
                    _insert_transaction(c, closed)
            cart.version = expected_version + 1
            cart_json.forget(cart)
            now = now_us()
            updated = c.execute(
                "UPDATE carts SET state = ?, version = ?, document = ?, updated_at_us = ?"
                " WHERE cart_id = ? AND version = ?",
                (cart.state.value, cart.version, cart_json.header(cart), now, cart.cart_id,
                 expected_version),
            )  # fmt: skip
            if updated.rowcount != 1:
                raise VersionConflict(cart.cart_id)
            _write_lines(c, cart)
            if idempotency is not None:
                self._keep_answer(c, idempotency, cart_json.document(cart), now)

        try:
            await self._db.write(transaction)
        except BaseException:
            cart.version = expected_version
            if takes_receipt:
                cart.receipt_no = cart.transaction_id = None
            cart_json.forget(cart)
            raise
        cart_saving.saved(cart)

    async def load_transaction(self, transaction_id: str) -> tuple[Transaction, int] | None:
        row = await self._db.read(
            lambda c: c.execute(
                "SELECT document, void_id, returned, version FROM transactions"
                " WHERE transaction_id = ?",
                (transaction_id,),
            ).fetchone()
        )
        if row is None:
            return None
        return transaction_rows.read_back(row[0], row[1], row[2]), int(row[3])

    async def list_transactions(self, query: TransactionQuery) -> list[Transaction]:
        text, values = query.sql(numbered=False)
        rows = await self._db.read(lambda c: c.execute(text, values).fetchall())
        return [transaction_rows.read_back(r[0], r[1], r[2]) for r in rows]

    async def reverse(
        self,
        sale: Transaction,
        expected_version: int,
        terminal: Terminal,
        reversal: Reversal,
        idempotency: IdempotencyKey | None = None,
    ) -> Transaction:
        def transaction(c: sqlite3.Connection) -> Transaction:
            updated = c.execute(
                "UPDATE transactions SET void_id = ?, returned = ?, version = version + 1"
                " WHERE transaction_id = ? AND version = ?",
                (sale.void_transaction_id, transaction_rows.returned_column(sale),
                 sale.transaction_id, expected_version),
            )  # fmt: skip
            if updated.rowcount != 1:
                raise VersionConflict(sale.transaction_id)
            made = reversal(_next_receipt_no(c, terminal.tenant_id, terminal.store_code,
                                             terminal.terminal_id))  # fmt: skip
            now = _insert_transaction(c, made)
            if idempotency is not None:
                self._keep_answer(c, idempotency, made.model_dump_json(by_alias=True), now)
            return made

        return await self._db.write(transaction)

    async def load_preloaded(self, tenant_id: str, store_code: str) -> PreloadedStore | None:
        def read(c: sqlite3.Connection) -> PreloadedStore | None:
            key = (tenant_id, store_code)
            head = c.execute(
                "SELECT sequence, loaded_at_us FROM preloaded_stores"
                " WHERE tenant_id = ? AND store_code = ?",
                key,
            ).fetchone()
            if head is None:
                return None
            rows = c.execute(
                "SELECT document FROM preloaded_items WHERE tenant_id = ? AND store_code = ?", key
            ).fetchall()
            return PreloadedStore(int(head[0]), int(head[1]), [r[0] for r in rows])

        return await self._db.read(read)

    async def replace_preloaded(
        self, tenant_id: str, store_code: str, sequence: int, documents: dict[str, str]
    ) -> None:
        def write(c: sqlite3.Connection) -> None:
            key = (tenant_id, store_code)
            c.execute("DELETE FROM preloaded_items WHERE tenant_id = ? AND store_code = ?", key)
            c.executemany(
                "INSERT INTO preloaded_items VALUES (?, ?, ?, ?)",
                ((tenant_id, store_code, code, doc) for code, doc in documents.items()),
            )
            c.execute(
                "INSERT INTO preloaded_stores VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tenant_id, store_code)"
                " DO UPDATE SET sequence = excluded.sequence, loaded_at_us = excluded.loaded_at_us",
                (*key, sequence, now_us()),
            )

        await self._db.write(write)

    async def update_preloaded(
        self, tenant_id: str, store_code: str, upserts: dict[str, str], deletes: list[str]
    ) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO preloaded_items VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tenant_id, store_code, item_code)"
                " DO UPDATE SET document = excluded.document",
                ((tenant_id, store_code, code, doc) for code, doc in upserts.items()),
            )
            c.executemany(
                "DELETE FROM preloaded_items"
                " WHERE tenant_id = ? AND store_code = ? AND item_code = ?",
                ((tenant_id, store_code, code) for code in deletes),
            )

        await self._db.write(write)


_OPEN_CARTS: Final = (
    "SELECT COUNT(*) FROM carts WHERE tenant_id = ? AND store_code = ? AND terminal_id = ?"
    " AND state IN (?, ?, ?)"  # OPEN_STATES
)


def _write_lines(c: sqlite3.Connection, cart: Cart) -> None:
    """The lines changed since the cart's last save, each its own row."""
    c.executemany(
        "INSERT INTO cart_lines VALUES (?, ?, ?)"
        " ON CONFLICT (cart_id, line_no) DO UPDATE SET document = excluded.document",
        [
            (cart.cart_id, line_no, document)
            for line_no, document in cart_saving.lines_to_save(cart)
        ],
    )


def _insert_transaction(c: sqlite3.Connection, transaction: Transaction) -> int:
    now = now_us()
    c.execute(
        f"INSERT INTO transactions ({transaction_rows.COLUMNS})"  # noqa: S608 - constants
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        transaction_rows.row_values(transaction, now),
    )
    return now


def _open_carts(c: sqlite3.Connection, cart: Cart) -> int:
    values = (cart.tenant_id, cart.store_code, cart.terminal_id, *OPEN_STATES)
    return int(c.execute(_OPEN_CARTS, values).fetchone()[0])


def _next_receipt_no(c: sqlite3.Connection, tenant_id: str, store_code: str, terminal: str) -> int:
    row = c.execute(
        "INSERT INTO receipt_counters VALUES (?, ?, ?, 1)"
        " ON CONFLICT (tenant_id, store_code, terminal_id)"
        " DO UPDATE SET last_receipt_no = last_receipt_no + 1 RETURNING last_receipt_no",
        (tenant_id, store_code, terminal),
    ).fetchone()
    return int(row[0])
