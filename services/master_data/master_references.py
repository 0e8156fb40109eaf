"""What a master file's entries refer to, and which of those exist neither in the file nor in
the database, each named with its entry: `row 7, tax_code: no tax rule TX99 in tenant T0001`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from .master_files import Problem
from .records import Barcode, Item, MasterRecord, ScanLayout, Store, StorePrice, TaxRule, Tenant

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
    ScanLayout: [("tenant_id", Tenant, ("tenant_id",))],
    Barcode: [
        ("tenant_id", Tenant, ("tenant_id",)),
        ("item_code", Item, ("tenant_id", "item_code")),
    ],
}
NAMES: Final = {Tenant: "tenant", Store: "store", TaxRule: "tax rule", Item: "item"}


def _missing(kind: type[MasterRecord], key: tuple[str, ...]) -> str:
    if kind is Tenant:
        return f"no tenant {key[0]}"
    return f"no {NAMES[kind]} {key[-1]} in tenant {key[0]}"


def _field_name(where: str, record: MasterRecord, field: str) -> str:
    """The field as the file names it: its column in a CSV row, its member in JSON."""
    if where.startswith("row "):
        return field
    return type(record).model_fields[field].alias or field


class References:
    """Checks each entry of a file, in file order, for references to records neither before it
    in the file nor stored. Keeps the keys of the file's own entries only of the kinds a later
    kind of the same file refers to (a CSV table of items keeps none), and a bounded memo of
    what storage holds."""

    MEMO_SIZE: Final = 10_000

    def __init__(
        self,
        kinds: Sequence[type[MasterRecord]],
        exists: Callable[[type[MasterRecord], tuple[str, ...]], Awaitable[bool]],
    ) -> None:
        referred = {kind for k in kinds for _, kind, _ in REFERENCES.get(k, [])}
        self._kept = referred & set(kinds)
        self._in_file: set[Key] = set()
        self._exists = exists
        self._stored: dict[Key, bool] = {}

    async def missing(self, where: str, record: MasterRecord) -> list[Problem]:
        """The references of one entry that resolve nowhere; an entry whose tenant is missing
        is reported for its tenant alone."""
        problems: list[Problem] = []
        for field, kind, key_fields in REFERENCES.get(type(record), []):
            key = tuple(getattr(record, name) for name in key_fields)
            if (kind, key) in self._in_file or await self._is_stored(kind, key):
                continue
            problems.append(Problem(where, _field_name(where, record, field), _missing(kind, key)))
            if kind is Tenant:
                break  # its other references cannot exist either
        self.add(record)
        return problems

    def add(self, record: MasterRecord) -> None:
        """An entry of the file, which later entries may refer to."""
        if type(record) in self._kept:
            self._in_file.add((type(record), record.key()))

    async def _is_stored(self, kind: type[MasterRecord], key: tuple[str, ...]) -> bool:
        if (kind, key) not in self._stored:
            if len(self._stored) >= self.MEMO_SIZE:
                self._stored.clear()
            self._stored[kind, key] = await self._exists(kind, key)
        return self._stored[kind, key]
