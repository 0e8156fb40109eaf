"""What the cart needs of its storage: the `CartRepository` interface, its error, and the one
row helper both engines share.

Carts are saved with optimistic concurrency: `save` succeeds only when the stored version is
the one the cart was loaded at, so two writers can never silently overwrite each other. The
engines are `sqlite_repository` and `postgres_repository`, their schemas side by side in
`schema`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .cart import Cart
from .errors import CartError, ErrorCode
from .terminals import IssuedKey, Terminal
from .transaction_rows import TransactionQuery
from .transactions import Transaction

# Makes the transaction of a closed cart once the store has given it its receipt number.
Closing = Callable[[Cart], Transaction]
# Makes a void or return once the store has given it its terminal's receipt number.
Reversal = Callable[[int], Transaction]


class VersionConflict(Exception):
    """The cart changed since it was loaded."""


@dataclass(frozen=True, slots=True)
class PreloadedStore:
    """A preloaded store's items as kept: the change-log position they are current at, when
    they were loaded (microseconds since the epoch), and each item's JSON document."""

    sequence: int
    loaded_at_us: int
    documents: list[str]


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A terminal's Idempotency-Key on one change, stored with it in the same transaction."""

    scope: str  # the terminal's API key id: keys of different terminals never meet
    key: str
    fingerprint: str  # of the request's method, path and body
    ttl_seconds: float  # after this a key is forgotten and may be used again

    def expired_before_us(self, now_us: int) -> int:
        return now_us - int(self.ttl_seconds * 1_000_000)


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """What a change made with a key left: the request's fingerprint and the cart's JSON."""

    fingerprint: str
    document: str


class TooManyOpenCarts(Exception):
    """The terminal has as many open carts as it may."""


OPEN_STATES: tuple[str, ...] = ("initial", "entering_items", "paying")


class KeyTaken(Exception):
    """Another request stored the same Idempotency-Key first (a race between replicas)."""


async def kept_document(repository: CartRepository, key: IdempotencyKey) -> str | None:
    """The answer a change with this key left, None when the key is new (or expired); the same
    key with another request is refused."""
    answer = await repository.kept_answer(key)
    if answer is None:
        return None
    if answer.fingerprint != key.fingerprint:
        raise CartError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was sent with another request: use a new key",
        )
    return answer.document


class CartRepository(Protocol):
    """What the cart service needs of its storage."""

    async def add_terminal(
        self, key: IssuedKey, tenant_id: str, store_code: str, terminal_id: str
    ) -> None: ...

    async def find_terminal(self, key_id: str) -> tuple[Terminal, str] | None:
        """The terminal of an API key id, with the hash of its secret."""
        ...

    async def create(
        self, cart: Cart, idempotency: IdempotencyKey | None = None, *, max_open: int = 0
    ) -> None:
        """Store a new cart (and the key that made it: KeyTaken when it is stored already);
        TooManyOpenCarts when its terminal has `max_open` open carts already (0: no limit)."""
        ...

    async def kept_answer(self, key: IdempotencyKey) -> KeptAnswer | None:
        """The answer kept under a key younger than its TTL, None when there is none."""
        ...

    async def load(self, cart_id: str) -> Cart | None: ...

    async def version(self, cart_id: str) -> int | None:
        """The stored version of a cart (cheaper than loading it), None if there is none."""
        ...

    async def save(
        self,
        cart: Cart,
        expected_version: int,
        idempotency: IdempotencyKey | None = None,
        closing: Closing | None = None,
    ) -> None:
        """Write the cart at expected_version + 1; VersionConflict if someone else wrote first.

        A cart saved completed or cancelled without a receipt number gets its terminal's next
        one, and `closing`'s transaction is written with it. With `idempotency` the key is
        stored in the same transaction (KeyTaken when it is already).
        """
        ...

    async def load_transaction(self, transaction_id: str) -> tuple[Transaction, int] | None:
        """A transaction with its sale status, and the status's version."""
        ...

    async def list_transactions(self, query: TransactionQuery) -> list[Transaction]:
        """A page of a store's transactions, newest first, and one more if there is one."""
        ...

    async def reverse(
        self,
        sale: Transaction,
        expected_version: int,
        terminal: Terminal,
        reversal: Reversal,
        idempotency: IdempotencyKey | None = None,
    ) -> Transaction:
        """Write the sale's new status (its void, its returned quantities) at
        expected_version + 1 (VersionConflict if another reversal came first) and the void or
        return `reversal` makes with the terminal's next receipt number, in one transaction."""
        ...

    async def load_preloaded(self, tenant_id: str, store_code: str) -> PreloadedStore | None:
        """The kept copy of a preloaded store, None before its first snapshot."""
        ...

    async def replace_preloaded(
        self, tenant_id: str, store_code: str, sequence: int, documents: dict[str, str]
    ) -> None:
        """Keep a new snapshot of the store (item code -> document) in place of the old one, in
        one transaction."""
        ...

    async def update_preloaded(
        self, tenant_id: str, store_code: str, upserts: dict[str, str], deletes: list[str]
    ) -> None:
        """Write changed items of a preloaded store and drop the ones that are gone."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
