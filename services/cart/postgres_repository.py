"""CartRepository on PostgreSQL, shared by every cart replica.

Exact across replicas: a save is `UPDATE ... WHERE version = expected`, which PostgreSQL runs
under the row's lock (a second writer waits, then finds the new version and updates nothing:
VersionConflict, never a lost update); a receipt number is the terminal's counter row bumped by
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` in the same transaction as the save, so two
replicas billing for one terminal at once get consecutive, distinct numbers, and a save that
loses its race gives its number back with the rollback. A commit is on disk before it returns
(synchronous_commit, PostgreSQL's default).
"""

from __future__ import annotations

from typing import Final

from services.common import postgres

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
from .schema import PG_MIGRATIONS
from .terminals import IssuedKey, Terminal
from .transaction_rows import TransactionQuery
from .transactions import Transaction

_NEXT_RECEIPT: Final = """
INSERT INTO receipt_counters VALUES ($1, $2, $3, 1)
ON CONFLICT (tenant_id, store_code, terminal_id)
DO UPDATE SET last_receipt_no = receipt_counters.last_receipt_no + 1
RETURNING last_receipt_no
"""
# The header at its next version and the changed lines, one statement (atomic by itself, one
# round trip): the lines are written only if the version check let the header through.
_SAVE: Final = """
WITH header AS (
    UPDATE carts SET state = $1, version = $2, document = $3, updated_at_us = $4
    WHERE cart_id = $5 AND version = $6
    RETURNING cart_id
), lines AS (
    INSERT INTO cart_lines (cart_id, line_no, document)
    SELECT header.cart_id, line.line_no, line.document
    FROM header, unnest($7::int[], $8::text[]) AS line (line_no, document)
    ON CONFLICT (cart_id, line_no) DO UPDATE SET document = excluded.document
)
SELECT count(*) FROM header
"""
_INSERT_TRANSACTION: Final = (
    f"INSERT INTO transactions ({transaction_rows.COLUMNS})"  # noqa: S608 - constants
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_LOAD: Final = """
SELECT document,
    ARRAY(SELECT l.document FROM cart_lines l WHERE l.cart_id = c.cart_id ORDER BY l.line_no)
FROM carts c WHERE cart_id = $1
"""


# A key is stored once; a row of the same name may be replaced only once it has expired.
_KEEP_ANSWER: Final = """
INSERT INTO idempotency_keys VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (scope, idem_key) DO UPDATE SET
    fingerprint = excluded.fingerprint, document = excluded.document,
    created_at_us = excluded.created_at_us
WHERE idempotency_keys.created_at_us < $6
"""
PURGE_EVERY: Final = 1_000  # keys stored between two purges of the expired ones
_LOCK_TERMINAL: Final = """
INSERT INTO receipt_counters VALUES ($1, $2, $3, 0)
ON CONFLICT (tenant_id, store_code, terminal_id)
DO UPDATE SET last_receipt_no = receipt_counters.last_receipt_no
"""
_OPEN_CARTS: Final = """
SELECT COUNT(*) FROM carts
WHERE tenant_id = $1 AND store_code = $2 AND terminal_id = $3 AND state = ANY($4::text[])
"""


class PostgresCartRepository:
    """CartRepository on a PostgreSQL database (a pool of `pool_size` connections)."""

    def __init__(self, pool: postgres.Pool) -> None:
        self._pool = pool
        self._kept = 0  # keys stored by this process: expired ones are purged now and then

    @classmethod
    async def open(cls, url: str, pool_size: int) -> PostgresCartRepository:
        return cls(await postgres.open_pool(url, pool_size, PG_MIGRATIONS))

    async def close(self) -> None:
        await self._pool.close()

    @postgres.outages_reported
    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    @postgres.outages_reported
    async def add_terminal(
        self, key: IssuedKey, tenant_id: str, store_code: str, terminal_id: str
    ) -> None:
        await self._pool.execute(
            "INSERT INTO terminals VALUES ($1, $2, $3, $4, $5, $6)",
            key.key_id,
            key.key_hash,
            tenant_id,
            store_code,
            terminal_id,
            postgres.now_us(),
        )

    @postgres.outages_reported
    async def find_terminal(self, key_id: str) -> tuple[Terminal, str] | None:
        row = await self._pool.fetchrow("SELECT * FROM terminals WHERE key_id = $1", key_id)
        if row is None:
            return None
        terminal = Terminal(row["tenant_id"], row["store_code"], row["terminal_id"], row["key_id"])
        return terminal, str(row["key_hash"])

    @postgres.outages_reported
    async def create(
        self, cart: Cart, idempotency: IdempotencyKey | None = None, *, max_open: int = 0
    ) -> None:
        cart.version = 1
        cart_json.forget(cart)
        if cart.line_items:
            raise ValueError("a new cart has no lines")
        now = postgres.now_us()
        values = (cart.cart_id, cart.tenant_id, cart.store_code, cart.terminal_id,
                  cart.state.value, cart.version, cart_json.header(cart), now)  # fmt: skip
        insert = "INSERT INTO carts VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        if idempotency is None and not max_open:
            await self._pool.execute(insert, *values)
            cart_saving.saved(cart)
            return
        async with (
            self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection,
            connection.transaction(),
        ):
            if max_open:
                # The terminal's counter row, locked: two replicas creating at once count in turn.
                await connection.execute(_LOCK_TERMINAL, cart.tenant_id, cart.store_code,
                                         cart.terminal_id)  # fmt: skip
                open_carts = await connection.fetchval(
                    _OPEN_CARTS, cart.tenant_id, cart.store_code, cart.terminal_id,
                    list(OPEN_STATES),
                )  # fmt: skip
                if open_carts >= max_open:
                    raise TooManyOpenCarts(cart.terminal_id)
            await connection.execute(insert, *values)
            if idempotency is not None:
                await self._keep_answer(connection, idempotency, cart_json.document(cart), now)
        cart_saving.saved(cart)

    @postgres.outages_reported
    async def kept_answer(self, key: IdempotencyKey) -> KeptAnswer | None:
        row = await self._pool.fetchrow(
            "SELECT fingerprint, document FROM idempotency_keys"
            " WHERE scope = $1 AND idem_key = $2 AND created_at_us >= $3",
            key.scope,
            key.key,
            key.expired_before_us(postgres.now_us()),
        )
        return None if row is None else KeptAnswer(row[0], row[1])

    async def _keep_answer(
        self, connection: postgres.Connection, key: IdempotencyKey, document: str, now: int
    ) -> None:
        """The key with the cart's new JSON; an expired one of the same name is replaced."""
        status = await connection.execute(
            _KEEP_ANSWER, key.scope, key.key, key.fingerprint, document, now,
            key.expired_before_us(now),
        )  # fmt: skip
        if status != "INSERT 0 1":
            raise KeyTaken(key.key)
        self._kept += 1
        if self._kept % PURGE_EVERY == 0:
            await connection.execute(
                "DELETE FROM idempotency_keys WHERE created_at_us < $1", key.expired_before_us(now)
            )

    @postgres.outages_reported
    async def load(self, cart_id: str) -> Cart | None:
        row = await self._pool.fetchrow(_LOAD, cart_id)  # header and lines: one snapshot
        return None if row is None else cart_saving.from_rows(row[0], row[1])

    @postgres.outages_reported
    async def version(self, cart_id: str) -> int | None:
        value = await self._pool.fetchval("SELECT version FROM carts WHERE cart_id = $1", cart_id)
        return None if value is None else int(value)

    @postgres.outages_reported
    async def save(
        self,
        cart: Cart,
        expected_version: int,
        idempotency: IdempotencyKey | None = None,
        closing: Closing | None = None,
    ) -> None:
        takes_receipt = cart.closes()
        try:
            if takes_receipt or idempotency is not None:
                await self._save_in_transaction(
                    cart, expected_version, idempotency, closing if takes_receipt else None
                )
            else:  # one statement, atomic by itself: one round trip instead of BEGIN/COMMIT
                await self._update(self._pool, cart, expected_version)
        except BaseException:
            cart.version = expected_version
            if takes_receipt:
                cart.receipt_no = cart.transaction_id = None
            cart_json.forget(cart)
            raise
        cart_saving.saved(cart)

    async def _save_in_transaction(
        self,
        cart: Cart,
        expected_version: int,
        idempotency: IdempotencyKey | None,
        closing: Closing | None,
    ) -> None:
        async with (
            self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection,
            connection.transaction(),
        ):
            if cart.closes():
                cart.receipt_no = await connection.fetchval(
                    _NEXT_RECEIPT, cart.tenant_id, cart.store_code, cart.terminal_id
                )
                if closing is not None:
                    closed = closing(cart)
                    cart.transaction_id = closed.transaction_id
                    await connection.execute(
                        _INSERT_TRANSACTION,
                        *transaction_rows.row_values(closed, postgres.now_us()),
                    )
            document = await self._update(connection, cart, expected_version)
            if idempotency is not None:
                await self._keep_answer(connection, idempotency, document, postgres.now_us())

    @staticmethod
    async def _update(
        on: postgres.Pool | postgres.Connection, cart: Cart, expected_version: int
    ) -> str:
        """Write the cart's header at its next version and its changed lines; the cart's JSON."""
        cart.version = expected_version + 1
        cart_json.forget(cart)
        lines = cart_saving.lines_to_save(cart)
        updated = await on.fetchval(
            _SAVE,
            cart.state.value,
            cart.version,
            cart_json.header(cart),
            postgres.now_us(),
            cart.cart_id,
            expected_version,
            [line_no for line_no, _ in lines],
            [document for _, document in lines],
        )
        if updated != 1:
            raise VersionConflict(cart.cart_id)
        return cart_json.document(cart)

    @postgres.outages_reported
    async def load_transaction(self, transaction_id: str) -> tuple[Transaction, int] | None:
        row = await self._pool.fetchrow(
            "SELECT document, void_id, returned, version FROM transactions"
            " WHERE transaction_id = $1",
            transaction_id,
        )
        if row is None:
            return None
        return transaction_rows.read_back(row[0], row[1], row[2]), int(row[3])

    @postgres.outages_reported
    async def list_transactions(self, query: TransactionQuery) -> list[Transaction]:
        text, values = query.sql(numbered=True)
        rows = await self._pool.fetch(text, *values)
        return [transaction_rows.read_back(r[0], r[1], r[2]) for r in rows]

    @postgres.outages_reported
    async def reverse(
        self,
        sale: Transaction,
        expected_version: int,
        terminal: Terminal,
        reversal: Reversal,
        idempotency: IdempotencyKey | None = None,
    ) -> Transaction:
        async with (
            self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection,
            connection.transaction(),
        ):
            status = await connection.execute(
                "UPDATE transactions SET void_id = $1, returned = $2, version = version + 1"
                " WHERE transaction_id = $3 AND version = $4",
                sale.void_transaction_id,
                transaction_rows.returned_column(sale),
                sale.transaction_id,
                expected_version,
            )
            if status != "UPDATE 1":
                raise VersionConflict(sale.transaction_id)
            made = reversal(
                await connection.fetchval(
                    _NEXT_RECEIPT, terminal.tenant_id, terminal.store_code, terminal.terminal_id
                )
            )
            now = postgres.now_us()
            await connection.execute(_INSERT_TRANSACTION, *transaction_rows.row_values(made, now))
            if idempotency is not None:
                await self._keep_answer(
                    connection, idempotency, made.model_dump_json(by_alias=True), now
                )
        return made

    @postgres.outages_reported
    async def load_preloaded(self, tenant_id: str, store_code: str) -> PreloadedStore | None:
        async with self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection:
            head = await connection.fetchrow(
                "SELECT sequence, loaded_at_us FROM preloaded_stores"
                " WHERE tenant_id = $1 AND store_code = $2",
                tenant_id,
                store_code,
            )
            if head is None:
                return None
            rows = await connection.fetch(
                "SELECT document FROM preloaded_items WHERE tenant_id = $1 AND store_code = $2",
                tenant_id,
                store_code,
            )
        return PreloadedStore(int(head[0]), int(head[1]), [r[0] for r in rows])

    @postgres.outages_reported
    async def replace_preloaded(
        self, tenant_id: str, store_code: str, sequence: int, documents: dict[str, str]
    ) -> None:
        async with (
            self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection,
            connection.transaction(),
        ):
            await connection.execute(
                "DELETE FROM preloaded_items WHERE tenant_id = $1 AND store_code = $2",
                tenant_id,
                store_code,
            )
            await connection.copy_records_to_table(
                "preloaded_items",
                records=[(tenant_id, store_code, code, doc) for code, doc in documents.items()],
            )
            await connection.execute(
                "INSERT INTO preloaded_stores VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (tenant_id, store_code)"
                " DO UPDATE SET sequence = excluded.sequence, loaded_at_us = excluded.loaded_at_us",
                tenant_id,
                store_code,
                sequence,
                postgres.now_us(),
            )

    @postgres.outages_reported
    async def update_preloaded(
        self, tenant_id: str, store_code: str, upserts: dict[str, str], deletes: list[str]
    ) -> None:
        async with (
            self._pool.acquire(timeout=postgres.ACQUIRE_TIMEOUT_SECONDS) as connection,
            connection.transaction(),
        ):
            await connection.executemany(
                "INSERT INTO preloaded_items VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (tenant_id, store_code, item_code)"
                " DO UPDATE SET document = excluded.document",
                [(tenant_id, store_code, code, doc) for code, doc in upserts.items()],
            )
            await connection.executemany(
                "DELETE FROM preloaded_items"
                " WHERE tenant_id = $1 AND store_code = $2 AND item_code = $3",
                [(tenant_id, store_code, code) for code in deletes],
            )
