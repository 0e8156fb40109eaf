"""What a master file's entries refer to, and which of those exist neither in the file nor in
the database, each named with its entry: `row 7, tax_code: no tax rule TX99 in tenant T0001`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from .master_files import Entry, Problem
from .records import Item, MasterRecord, Store, StorePrice, TaxRule, Tenant

Key = tuple[type[MasterRecord], tuple[str, ...]]
Reference = tuple[str, type[MasterRecord], tuple[str, ...]]

# record type -> (field, the record it names, the fields of that record's key)
REFERENCES: Final[
    dict[type[MasterRecord], list[tuple[str, type[MasterRecord], tuple[str, ...]]]]
] = {
    Store: [("tenant_id", Tenant, ("tenant_id",))],
    TaxRule: [("tenant_id", Tenant, ("tenant_id",))],
    Item: [("tenant_id", Tenant, ("tenant_id",)), ("tax_code", TaxRule, ("tenant_id", "tax_code"))],
    StorePrice: [
        ("tenant_id", Tenant, ("tenant_id",)),
        ("store_code", Store, ("tenant_id", "store_code")),
        ("item_code", Item, ("tenant_id", "item_code")),
    ],
}
NAMES: Final = {Tenant: "tenant", Store: "store", TaxRule: "tax rule", Item: "item"}


def _missing(kind: type[MasterRecord], key: tuple[str, ...]) -> str:
    if kind is Tenant:
        return f"no tenant {key[0]}"
    return f"no {NAMES[kind]} {key[-1]} in tenant {key[0]}"


def _field_name(entry: Entry, field: str) -> str:
    """The field as the file names it: its column in a CSV row, its member in JSON."""
    if entry.where.startswith("row "):
        return field
    return type(entry.record).model_fields[field].alias or field


async def missing_references(
    entries: Sequence[Entry],
    exists: Callable[[type[MasterRecord], tuple[str, ...]], Awaitable[bool]],
    limit: int,
) -> list[Problem]:
    """Every reference of the entries to a record neither in the file nor stored (up to
    `limit`); an entry whose tenant is missing is reported for its tenant alone."""
    in_file: set[Key] = {(type(e.record), e.record.key()) for e in entries}
    stored: dict[Key, bool] = {}
    problems: list[Problem] = []
    for entry in entries:
        for field, kind, key_fields in REFERENCES.get(type(entry.record), []):
            key = tuple(getattr(entry.record, name) for name in key_fields)
            if (kind, key) in in_file:
                continue
            if (kind, key) not in stored:
                stored[kind, key] = await exists(kind, key)
            if not stored[kind, key]:
                problems.append(
                    Problem(entry.where, _field_name(entry, field), _missing(kind, key))
                )
                if len(problems) >= limit:
                    return problems
                if kind is Tenant:
                    break  # its other references cannot exist either
    return problems
