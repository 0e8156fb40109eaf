"""The transaction operations: list and fetch a store's transactions, void a sale, return lines.

A void or return writes the sale's new status and the reversal in one database transaction,
guarded by the status's version: of two terminals reversing one sale at once (in two cart
processes, or replicas), one writes first and the other reloads and is judged on what the
first left (a second void is 409). Every transaction is its store's: another store's is "not
found".
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Final

from . import transactions
from .cart import Cart
from .cart_values import PaymentMethod
from .errors import CartError, ErrorCode
from .keyed_locks import KeyedLocks
from .repository import (
    CartRepository,
    Closing,
    IdempotencyKey,
    KeyTaken,
    VersionConflict,
    kept_document,
)
from .terminals import Terminal
from .transaction_rows import TransactionQuery
from .transactions import Stamp, Transaction

MAX_REVERSAL_ATTEMPTS: Final = 5
UTC: Final = zoneinfo.ZoneInfo("UTC")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Closings:
    """Makes the transaction a bill or a cancel writes: its id, time and business date (the
    local date in the store's time zone)."""

    def __init__(
        self,
        zone: zoneinfo.ZoneInfo = UTC,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        self.zone = zone
        self.clock = clock

    def business_date(self, at: datetime.datetime) -> datetime.date:
        return at.astimezone(self.zone).date()

    def closing(self) -> Closing:
        transaction_id, now = str(uuid.uuid4()), self.clock()

        def close(cart: Cart) -> Transaction:
            return transactions.of_cart(cart, transaction_id, self.business_date(now), now)

        return close

    def stamp(self, terminal: Terminal, receipt_no: int, transaction_id: str) -> Stamp:
        now = self.clock()
        return Stamp(transaction_id, receipt_no, terminal.terminal_id, self.business_date(now), now)


class TransactionService:
    """Every transaction operation a terminal may ask for, each within the terminal's store."""

    def __init__(self, repository: CartRepository, closings: Closings) -> None:
        self._repository = repository
        self._closings = closings
        self._locks = KeyedLocks()

    async def get(self, terminal: Terminal, transaction_id: str) -> Transaction:
        found = await self._repository.load_transaction(transaction_id)
        return _owned(terminal, transaction_id, None if found is None else found[0])

    async def page(
        self, query: TransactionQuery, page: int
    ) -> tuple[list[Transaction], int | None]:
        """The transactions of page `page` (from 1), and the next page's number if there is one."""
        found = await self._repository.list_transactions(query)
        more = len(found) > query.limit
        return found[: query.limit], page + 1 if more else None

    async def void(
        self, terminal: Terminal, transaction_id: str, idempotency: IdempotencyKey | None = None
    ) -> Transaction:
        def reverse(sale: Transaction) -> Callable[[int], Transaction]:
            transactions.check_void(sale)
            void_id = str(uuid.uuid4())
            original = sale.model_copy(deep=True)
            sale.void_transaction_id = void_id
            return lambda receipt_no: transactions.void_of(
                original, self._closings.stamp(terminal, receipt_no, void_id)
            )

        return await self._reverse(terminal, transaction_id, reverse, idempotency)

    async def return_lines(
        self,
        terminal: Terminal,
        transaction_id: str,
        asked: Mapping[int, int],
        refund_method: PaymentMethod | None,
        idempotency: IdempotencyKey | None = None,
        *,
        refund_reason: str | None = None,
    ) -> Transaction:
        def reverse(sale: Transaction) -> Callable[[int], Transaction]:
            transactions.check_return(sale, asked)
            tender = transactions.refund_tender(sale, refund_method, refund_reason)
            return_id = str(uuid.uuid4())
            original = sale.model_copy(deep=True)
            sale.returned_quantities = transactions.returned_after(sale, asked)
            stamp = self._closings.stamp
            recorded = refund_reason if tender not in {p.method for p in sale.payments} else None

            def made(receipt_no: int) -> Transaction:
                returned = transactions.return_of(
                    original, asked, tender, stamp(terminal, receipt_no, return_id)
                )
                returned.refund_reason = recorded
                return returned

            return made

        return await self._reverse(terminal, transaction_id, reverse, idempotency)

    async def _reverse(
        self,
        terminal: Terminal,
        transaction_id: str,
        reverse: Callable[[Transaction], Callable[[int], Transaction]],
        idempotency: IdempotencyKey | None,
    ) -> Transaction:
        """Judge the sale as stored, write its new status and the reversal; again when another
        process reversed it in between. `reverse` refuses, or sets the sale's new status and
        returns what makes the reversal from its receipt number."""
        async with self._locks.hold(transaction_id):
            for _ in range(MAX_REVERSAL_ATTEMPTS):
                if idempotency is not None and (kept := await self._kept(idempotency)) is not None:
                    return kept
                found = await self._repository.load_transaction(transaction_id)
                sale = _owned(terminal, transaction_id, None if found is None else found[0])
                assert found is not None  # noqa: S101 - _owned refused a missing one
                make = reverse(sale)
                try:
                    return await self._repository.reverse(
                        sale, found[1], terminal, make, idempotency
                    )
                except (VersionConflict, KeyTaken):
                    continue  # another process reversed it first: judge it again
        raise CartError(ErrorCode.VERSION_CONFLICT, f"transaction {transaction_id} is busy")

    async def _kept(self, idempotency: IdempotencyKey) -> Transaction | None:
        document = await kept_document(self._repository, idempotency)
        return None if document is None else Transaction.model_validate_json(document)


def _owned(terminal: Terminal, transaction_id: str, found: Transaction | None) -> Transaction:
    """The transaction, if it is one of the terminal's store: another store's is "not found"."""
    if found is None or (found.tenant_id, found.store_code) != (
        terminal.tenant_id,
        terminal.store_code,
    ):
        raise CartError(ErrorCode.TRANSACTION_NOT_FOUND, f"transaction {transaction_id} not found")
    return found
