"""What both engines make of master-data's rows: a record's column values, a batch of changes
cut into runs of one kind, a change's target, a priced-items row as a `PricedItem`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from .change_entries import Target
from .records import MasterRecord, ScanLayout
from .repository import Deletion, MasterChange, PricedItem
from .schema import TABLES

_BATCH_SIZE: Final = 500


def row_values(record: MasterRecord, now: int) -> tuple[Any, ...]:
    """The values of `TableOf.upsert`'s parameters for a record written at `now`."""
    table = TABLES[type(record)]
    values = record.model_dump(mode="json")  # enums as their names
    return (*(values[c] for c in table.columns), *(now for _ in table.stamps))


_LAYOUT_COLUMNS: Final = TABLES[ScanLayout].columns
LAYOUTS: Final = (
    f"SELECT {', '.join(_LAYOUT_COLUMNS)} FROM scan_layouts"  # noqa: S608 - names are constants
    " WHERE tenant_id = ? ORDER BY layout_id"
)


def layout_of(row: dict[str, Any]) -> ScanLayout:
    """A layout as either engine keeps it (SQLite's 0 and 1 for the check digit's flag)."""
    return ScanLayout.model_validate({**row, "price_check_digit": bool(row["price_check_digit"])})


def runs_of_one_kind(changes: Iterable[MasterChange]) -> Iterator[list[MasterChange]]:
    """Consecutive upserts of one record type, in batches; every deletion alone."""
    run: list[MasterChange] = []
    for change in changes:
        if run and (
            isinstance(change, Deletion)
            or isinstance(run[0], Deletion)
            or type(run[0]) is not type(change)
            or len(run) >= _BATCH_SIZE
        ):
            yield run
            run = []
        run.append(change)
    if run:
        yield run


def target(change: MasterChange) -> Target:
    """What a change writes or deletes: its record type and key."""
    if isinstance(change, Deletion):
        return change.kind, change.key
    return type(change), change.key()


def priced_item(r: Any) -> PricedItem:
    """A row of the priced-items query (sqlite3.Row or asyncpg Record)."""
    return PricedItem(
        item_code=r["item_code"],
        item_name=r["item_name"],
        unit_price=int(r["unit_price"]),
        store_price_applied=bool(r["store_price_applied"]),
        tax_code=r["tax_code"],
        category_code=r["category_code"],
        is_active=bool(r["is_active"]),
        discount_restricted=bool(r["discount_restricted"]),
        created_at_us=int(r["created_at_us"]),
        updated_at_us=int(r["updated_at_us"]),
        tax_rule_name=r["tax_rule_name"],
        tax_type=r["tax_type"],
        rate_basis_points=int(r["rate_basis_points"]),
        rounding_method=r["rounding_method"],
    )
