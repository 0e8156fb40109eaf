"""What both engines make of transactions: a transaction's row values, a row read back as a
`Transaction` with its sale status, and the list query with its filters."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any, Final

from .transactions import ReturnedQuantity, Transaction, TransactionType

_STATUS: Final = {"void_transaction_id", "returned_quantities"}
COLUMNS: Final = (
    "transaction_id, tenant_id, store_code, terminal_id, type, receipt_no, business_date,"
    " created_at_us, original_id, document"
)


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    """A page of a store's transactions, newest first, with optional filters."""

    tenant_id: str
    store_code: str
    business_date: datetime.date | None = None
    receipt_no: int | None = None
    type: TransactionType | None = None
    terminal_id: str | None = None
    offset: int = 0
    limit: int = 20

    def sql(self, numbered: bool) -> tuple[str, list[Any]]:
        """The query and its parameters: `?` (SQLite) or `$1, $2, ...` (PostgreSQL). It asks
        for one row more than the page, to tell whether there is a next page."""
        values: list[Any] = [self.tenant_id, self.store_code]
        where = ["tenant_id = {}", "store_code = {}"]
        date = self.business_date
        for column, value in (
            ("business_date", None if date is None else date.isoformat()),
            ("receipt_no", self.receipt_no),
            ("type", None if self.type is None else self.type.value),
            ("terminal_id", self.terminal_id),
        ):
            if value is not None:
                where.append(f"{column} = {{}}")
                values.append(value)
        values += [self.limit + 1, self.offset]
        marks = [f"${n}" if numbered else "?" for n in range(1, len(values) + 1)]
        text = (
            "SELECT document, void_id, returned FROM transactions WHERE "  # noqa: S608 - constants
            + " AND ".join(where)
            + " ORDER BY created_at_us DESC, transaction_id DESC LIMIT {} OFFSET {}"
        )
        return text.format(*marks), values


def row_values(transaction: Transaction, created_at_us: int) -> tuple[Any, ...]:
    """The values of COLUMNS for a new transaction (its status starts empty)."""
    document = transaction.model_dump_json(by_alias=True, exclude=_STATUS)
    return (
        transaction.transaction_id,
        transaction.tenant_id,
        transaction.store_code,
        transaction.terminal_id,
        transaction.type.value,
        transaction.receipt_no,
        transaction.business_date.isoformat(),
        created_at_us,
        transaction.original_transaction_id,
        document,
    )


def read_back(document: str, void_id: str | None, returned: str) -> Transaction:
    """A transaction as stored: its document, and for a sale its void and returned quantities."""
    transaction = Transaction.model_validate_json(document)
    transaction.void_transaction_id = void_id
    transaction.returned_quantities = [
        ReturnedQuantity(line_no=int(n), quantity=q) for n, q in json.loads(returned).items()
    ]
    return transaction


def returned_column(transaction: Transaction) -> str:
    """A sale's returned quantities as its `returned` column keeps them."""
    return json.dumps({str(r.line_no): r.quantity for r in transaction.returned_quantities})
