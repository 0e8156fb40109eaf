"""What master-data needs of its storage: the `ItemRepository` interface and its value types.

The service layer sees only this; the engines are `sqlite_repository` and
`postgres_repository`, their schemas side by side in `schema`, what both make of rows in
`repository_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .change_entries import LoggedChange
from .records import MasterRecord, ScanLayout


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What a lookup needs to know of the asked store; store_known is False for an unknown one."""

    currency_code: str
    store_known: bool
    weighed_rounding: str = "HALF_UP"  # the tenant's: RoundingMethod's name


@dataclass(frozen=True, slots=True)
class PricedItem:
    """An item as one store sells it: the store price applied, with its tax rule."""

    item_code: str
    item_name: str
    unit_price: int
    store_price_applied: bool
    tax_code: str
    category_code: str
    is_active: bool
    discount_restricted: bool
    created_at_us: int
    updated_at_us: int
    tax_rule_name: str
    tax_type: str
    rate_basis_points: int
    rounding_method: str


@dataclass(frozen=True, slots=True)
class Deletion:
    """Removes one entry: `kind` names the record type, `key` its primary key in table order."""

    kind: type[MasterRecord]
    key: tuple[str, ...]


MasterChange = MasterRecord | Deletion
# A write's changes: a list, or a way to read them afresh each time (an import's rows, streamed).
Changes = Sequence[MasterChange] | Callable[[], Iterable[MasterChange]]


def reading(changes: Changes) -> Callable[[], Iterable[MasterChange]]:
    """The changes as something to read afresh (an engine reads them again to name the one a
    failed batch hid)."""
    if callable(changes):
        return changes
    return lambda: changes


class ChangeRejected(Exception):
    """A change broke a reference (an unknown tenant, store, item or tax rule, or one in use), or
    gave a barcode to an item while another has it."""

    def __init__(self, index: int, change: MasterChange) -> None:
        super().__init__(f"change {index} breaks a reference: {change!r}")
        self.index = index
        self.change = change


class EntryNotFound(Exception):
    """A deletion named an entry that does not exist."""

    def __init__(self, change: Deletion) -> None:
        super().__init__(f"no {change.kind.__name__} {'/'.join(change.key)}")
        self.change = change


class ItemRepository(Protocol):
    """What master-data needs of its storage."""

    engine: str  # sqlite or postgresql (db.system.name in traces)

    async def store_context(self, tenant_id: str, store_code: str) -> StoreContext | None:
        """The tenant's currency and whether the store exists; None for an unknown tenant."""
        ...

    async def priced_items(
        self, tenant_id: str, store_code: str, item_codes: Sequence[str]
    ) -> list[PricedItem]:
        """The items that exist among item_codes, priced for the store."""
        ...

    async def store_items(
        self, tenant_id: str, store_code: str, after_code: str, limit: int
    ) -> list[PricedItem]:
        """Up to `limit` active items of the tenant after `after_code` in code order, priced
        for the store: one page of a store's snapshot."""
        ...

    async def has(self, kind: type[MasterRecord], key: tuple[str, ...]) -> bool:
        """Whether an entry of `kind` with `key` exists (an import names what it lacks)."""
        ...

    async def barcode_items(self, tenant_id: str, barcodes: Sequence[str]) -> dict[str, str]:
        """The item each barcode (GTIN-14) that one has belongs to in the tenant."""
        ...

    async def scan_layouts(self, tenant_id: str) -> list[ScanLayout]:
        """The tenant's in-store code layouts, by layout id."""
        ...

    async def apply(self, changes: Changes) -> int:
        """Apply all changes in one transaction, or none (raises ChangeRejected, EntryNotFound);
        how many there were."""
        ...

    async def version(self) -> int:
        """A number that changes whenever any process applied a change."""
        ...

    async def follow_changes(self, changed: Callable[[], None], check_seconds: float) -> None:
        """Run until cancelled, calling `changed` soon after another process applied a change
        (and whenever it cannot tell: after losing the database for a while)."""
        ...

    async def changes_after(
        self, sequence: int, tenant_ids: Sequence[str], limit: int
    ) -> list[LoggedChange]:
        """The logged changes of the tenants after `sequence`, oldest first, at most `limit`."""
        ...

    async def all_changes_after(self, sequence: int, limit: int) -> list[LoggedChange]:
        """Every tenant's logged changes after `sequence`, oldest first, at most `limit`."""
        ...

    async def log_bounds(self) -> tuple[int, int]:
        """The oldest sequence the log keeps and the latest one (0, 0 for an empty log)."""
        ...

    async def tenant_count(self) -> int:
        """How many tenants the catalog holds (0: every lookup is tenant_not_found)."""
        ...

    async def ping(self) -> None:
        """Raise when the database cannot be reached."""
        ...

    async def close(self) -> None: ...
